//! The guest ABI: the functions a wasm guest exports so that its host can
//! drive the adaptive allocator, written by [`guest_abi!`](crate::guest_abi).
//!
//! | export | signature | does |
//! |---|---|---|
//! | `polyalloc_reset` | `() -> ()` | ends an invocation ([`Control::end_invocation`](crate::Control::end_invocation)) |
//! | `polyalloc_set_stateful` | `(i32) -> ()` | non-zero: keep the run heap across invocations |
//! | `polyalloc_record` | `() -> usize` | writes the record into the exchange buffer, returns its address |
//! | `polyalloc_buffer` | `() -> usize` | the exchange buffer's address, for the host to write a record into |
//! | `polyalloc_buffer_len` | `() -> usize` | its length ([`RECORD_LEN`]) |
//! | `polyalloc_load_record` | `(len: usize) -> i32` | loads the `len` bytes the host wrote into the buffer: 0, or a negative [`abi_error_code`] |
//! | `polyalloc_stats` | `() -> usize` | writes [`STATS_WORDS`] little-endian `u64` into the buffer, returns its address |
//!
//! Addresses and lengths are `usize`: an `i32` in the wasm32 module's
//! signatures, so a host reads them as offsets into the guest's memory.
//!
//! The buffer is static, so it costs no allocation and stays where it is
//! when the heap switches strategy. The exports assume one thread calls
//! them at a time, as a wasm guest has.

use core::cell::UnsafeCell;

use crate::record::{RECORD_LEN, RecordError};

/// The `u64` words `polyalloc_stats` writes: allocations, deallocations,
/// failed deallocations, reallocations, bytes allocated, peak bytes live,
/// bytes live, bytes reserved, strategy code, invocations.
pub const STATS_WORDS: usize = 10;

const BUFFER_LEN: usize = if RECORD_LEN > STATS_WORDS * 8 {
    RECORD_LEN
} else {
    STATS_WORDS * 8
};

/// The exchange buffer between a guest and its host.
#[doc(hidden)]
pub struct AbiBuffer(UnsafeCell<[u8; BUFFER_LEN]>);

// SAFETY: the exports that touch the buffer are documented as called by one
// thread at a time (a wasm guest's only thread); the host reads and writes
// it only between calls.
unsafe impl Sync for AbiBuffer {}

impl AbiBuffer {
    /// A zeroed buffer.
    #[must_use]
    pub const fn new() -> Self {
        Self(UnsafeCell::new([0; BUFFER_LEN]))
    }

    /// The buffer's address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.0.get().cast()
    }

    /// The buffer's length.
    #[must_use]
    pub const fn len(&self) -> usize {
        BUFFER_LEN
    }

    /// Always false: the buffer has a fixed, non-zero length.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// The buffer's bytes.
    ///
    /// # Safety
    ///
    /// No other reference to the buffer may be live (one thread at a time).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn bytes(&self) -> &mut [u8; BUFFER_LEN] {
        // SAFETY: the caller promises exclusive access.
        unsafe { &mut *self.0.get() }
    }
}

impl Default for AbiBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// The negative code `polyalloc_load_record` returns for `e`.
#[must_use]
pub const fn abi_error_code(e: &RecordError) -> i32 {
    match e {
        RecordError::Truncated { .. } => -1,
        RecordError::TooLong { .. } => -2,
        RecordError::Foreign => -3,
        RecordError::UnsupportedVersion { .. } => -4,
        RecordError::Corrupt => -5,
        RecordError::Invalid { .. } => -6,
    }
}

/// Writes the guest ABI's exports for an [`AdaptiveAlloc`](crate::AdaptiveAlloc)
/// static (see the [module docs](crate::abi) for the list).
///
/// ```
/// use polyalloc_adaptive::AdaptiveAlloc;
///
/// #[global_allocator]
/// static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();
///
/// polyalloc_adaptive::guest_abi!(ALLOC);
/// # fn main() {
/// // The host calls these through the wasm module's exports; natively they
/// // are plain functions.
/// let len = polyalloc_buffer_len();
/// let record = polyalloc_record() as *const u8;
/// // SAFETY: the buffer holds `len` bytes and nothing else uses it now.
/// let bytes = unsafe { core::slice::from_raw_parts(record, len) }.to_vec();
/// let buffer = polyalloc_buffer() as *mut u8;
/// // SAFETY: as above.
/// unsafe { buffer.copy_from_nonoverlapping(bytes.as_ptr(), len) };
/// assert_eq!(polyalloc_load_record(len), 0);
/// assert_eq!(polyalloc_load_record(3), -1, "truncated");
/// # }
/// ```
///
/// A guest that keeps state of its own in the run heap names a hook,
/// called with the function's stateful flag just before each end of
/// invocation, where a pure function drops that state:
///
/// ```
/// use polyalloc_adaptive::AdaptiveAlloc;
///
/// #[global_allocator]
/// static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();
///
/// fn drop_state(stateful: bool) {
///     if !stateful {
///         // Forget whatever the function kept from its run phase.
///     }
/// }
///
/// polyalloc_adaptive::guest_abi!(ALLOC, before_reset = drop_state);
/// # fn main() { polyalloc_reset(); }
/// ```
#[macro_export]
macro_rules! guest_abi {
    ($alloc:path) => {
        $crate::guest_abi!($alloc, before_reset = |_stateful: bool| {});
    };
    ($alloc:path, before_reset = $hook:expr) => {
        #[doc(hidden)]
        static __POLYALLOC_ABI_BUFFER: $crate::AbiBuffer = $crate::AbiBuffer::new();

        /// Ends an invocation (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_reset() {
            ($hook)($crate::Control::is_stateful(&$alloc));
            // SAFETY: the host calls this between invocations, when the
            // guest holds no block of a pure invocation's run phase (the
            // hook has dropped the guest's own state).
            unsafe { $crate::Control::end_invocation(&$alloc) }
        }

        /// Marks the function stateful (non-zero) or pure (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_set_stateful(stateful: i32) {
            $crate::Control::set_stateful(&$alloc, stateful != 0);
        }

        /// The exchange buffer's address (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_buffer() -> usize {
            __POLYALLOC_ABI_BUFFER.as_ptr() as usize
        }

        /// The exchange buffer's length (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_buffer_len() -> usize {
            $crate::RECORD_LEN
        }

        /// Writes the record into the buffer and returns its address (guest
        /// ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_record() -> usize {
            let record = $crate::Control::record_bytes(&$alloc);
            // SAFETY: one thread calls the exports at a time.
            let buf = unsafe { __POLYALLOC_ABI_BUFFER.bytes() };
            buf[..record.len()].copy_from_slice(&record);
            polyalloc_buffer()
        }

        /// Loads the `len` bytes the host wrote into the buffer as a record:
        /// 0, or a negative error code (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_load_record(len: usize) -> i32 {
            // SAFETY: one thread calls the exports at a time.
            let buf = unsafe { __POLYALLOC_ABI_BUFFER.bytes() };
            if len > buf.len() {
                return $crate::abi_error_code(&$crate::RecordError::TooLong { len });
            }
            match $crate::Control::load_record(&$alloc, &buf[..len]) {
                Ok(_) => 0,
                Err(e) => $crate::abi_error_code(&e),
            }
        }

        /// Writes the statistics into the buffer and returns its address
        /// (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_stats() -> usize {
            let words = $crate::stats_words(&$alloc);
            // SAFETY: one thread calls the exports at a time.
            let buf = unsafe { __POLYALLOC_ABI_BUFFER.bytes() };
            for (chunk, word) in buf.chunks_exact_mut(8).zip(words.iter()) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            polyalloc_buffer()
        }
    };
}
