//! The guest side: the state a guest module keeps between invocations, the
//! region it sets aside for the host-shared heap, and the pieces
//! [`guest_exports!`](crate::guest_exports) and
//! [`plain_reset_exports!`](crate::plain_reset_exports) build the exports
//! from.
//!
//! A guest module has one thread and the host calls one export at a time:
//! every `unsafe` here rests on that.

use core::cell::UnsafeCell;
use std::alloc::{Layout, alloc, dealloc};

use crate::{Cache, InputError};

/// Bytes the guest sets aside for the host-shared heap.
pub const SHARED_REGION_LEN: usize = 256 * 1024;

/// The region of guest memory the host manages as a
/// `polyalloc_adaptive::shared::SharedHeap`: a static, so it is neither in
/// the guest's heap nor affected by a reset.
#[repr(C, align(16))]
pub struct SharedRegion(UnsafeCell<[u8; SHARED_REGION_LEN]>);

// SAFETY: the guest never touches the region itself but to read input the
// host wrote there before the call; the host writes only between calls.
unsafe impl Sync for SharedRegion {}

/// The guest's one shared region.
pub static SHARED_REGION: SharedRegion = SharedRegion(UnsafeCell::new([0; SHARED_REGION_LEN]));

impl SharedRegion {
    /// The region's address in guest memory.
    pub fn addr(&self) -> usize {
        self.0.get() as usize
    }
}

/// The stateful workload's cache, kept across invocations.
struct State(UnsafeCell<Option<Cache>>);

// SAFETY: one thread, one export at a time (module docs).
unsafe impl Sync for State {}

static STATE: State = State(UnsafeCell::new(None));

/// Serves one request from the guest's cache ([`Cache::serve`]).
pub fn serve_cached(input: &[u8]) -> Result<Vec<u8>, InputError> {
    // SAFETY: one thread, one export at a time; no other reference to the
    // state is live during the call.
    let state = unsafe { &mut *STATE.0.get() };
    state.get_or_insert_with(Cache::new).serve(input)
}

/// Called before the allocator ends an invocation: a pure function's state
/// goes (its memory is about to be reclaimed), a stateful function's stays.
pub fn end_invocation(stateful: bool) {
    if !stateful {
        // SAFETY: between calls; no reference to the state is live.
        unsafe { *STATE.0.get() = None };
    }
}

/// A buffer of `len` bytes from the guest's heap for the host to write
/// into: its address, or 0 when the heap cannot give it. A zero length gets
/// 1, an address that is never dereferenced.
pub fn alloc_buffer(len: usize) -> usize {
    match Layout::array::<u8>(len) {
        Ok(_) if len == 0 => 1,
        // SAFETY: the layout's size is not zero.
        Ok(layout) => unsafe { alloc(layout) as usize },
        Err(_) => 0,
    }
}

/// Frees a buffer from [`alloc_buffer`], or an output a `run_*` export
/// returned.
///
/// # Safety
///
/// `addr` and `len` are a live buffer's, which is not used afterwards.
pub unsafe fn free_buffer(addr: usize, len: usize) {
    if len != 0 {
        // SAFETY: the caller passes a buffer allocated with this layout
        // (outputs are boxed slices of `len` bytes: the same layout).
        unsafe { dealloc(addr as *mut u8, Layout::from_size_align_unchecked(len, 1)) }
    }
}

/// Runs `workload` on the `len` bytes at `addr` and returns its output
/// packed as `address << 32 | length` (the host frees it with
/// `guest_free_buffer`), or -1 if the workload refused its input.
///
/// # Safety
///
/// `addr..addr + len` is readable guest memory that nothing writes during
/// the call (a buffer from [`alloc_buffer`], or a block of the shared
/// region).
pub unsafe fn run(
    workload: impl FnOnce(&[u8]) -> Result<Vec<u8>, InputError>,
    addr: usize,
    len: usize,
) -> i64 {
    let input = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the caller's contract.
        unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
    };
    match workload(input) {
        Ok(output) => {
            let output = output.into_boxed_slice();
            let len = output.len() as u64;
            let addr = Box::into_raw(output) as *mut u8 as u64;
            ((addr << 32) | len) as i64
        }
        Err(_) => -1,
    }
}

/// Writes a guest module's workload exports (see `docs/wasm.md`):
///
/// | export | wasm signature | does |
/// |---|---|---|
/// | `guest_alloc_buffer` | `(len: i32) -> i32` | a heap buffer for input, or 0 |
/// | `guest_free_buffer` | `(addr: i32, len: i32)` | frees a buffer or an output |
/// | `run_churn`, `run_request`, `run_cache`, `run_pairs`, `run_matrix`, `run_fill` | `(addr: i32, len: i32) -> i64` | runs the workload on the input at `addr`: the output as `addr << 32 \| len`, or -1 |
/// | `polyalloc_shared_region` | `() -> i32` | where the host-shared heap's region starts |
/// | `polyalloc_shared_region_len` | `() -> i32` | its length |
#[macro_export]
macro_rules! guest_exports {
    () => {
        /// A heap buffer for the host's input (guest export).
        #[unsafe(no_mangle)]
        pub extern "C" fn guest_alloc_buffer(len: usize) -> usize {
            $crate::guest::alloc_buffer(len)
        }

        /// Frees a buffer or an output (guest export).
        ///
        /// # Safety
        ///
        /// As [`free_buffer`]($crate::guest::free_buffer).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn guest_free_buffer(addr: usize, len: usize) {
            // SAFETY: the host passes a live buffer it no longer uses.
            unsafe { $crate::guest::free_buffer(addr, len) }
        }

        $crate::guest_exports!(@run run_churn, $crate::churn);
        $crate::guest_exports!(@run run_request, $crate::request);
        $crate::guest_exports!(@run run_cache, $crate::guest::serve_cached);
        $crate::guest_exports!(@run run_pairs, $crate::pairs);
        $crate::guest_exports!(@run run_matrix, $crate::matrix);
        $crate::guest_exports!(@run run_fill, $crate::fill);

        /// Where the host-shared heap's region starts (guest export).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_shared_region() -> usize {
            $crate::guest::SHARED_REGION.addr()
        }

        /// The host-shared heap's region length (guest export).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_shared_region_len() -> usize {
            $crate::guest::SHARED_REGION_LEN
        }
    };
    (@run $name:ident, $workload:path) => {
        /// Runs a workload on the input at `addr` (guest export).
        ///
        /// # Safety
        ///
        /// As [`run`]($crate::guest::run).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(addr: usize, len: usize) -> i64 {
            // SAFETY: the host passes input it wrote before the call.
            unsafe { $crate::guest::run($workload, addr, len) }
        }
    };
}

/// Writes `polyalloc_reset` and `polyalloc_set_stateful` for a guest on a
/// single strategy (`$alloc` a `LockedHeap` static), with the adaptive
/// guest ABI's meaning: stateful (the default) keeps everything; pure drops
/// the workload state and resets the whole heap at each end of invocation.
/// Without an argument, for an allocator that cannot be reset (the peers
/// the benchmarks compare with), pure drops the state only.
#[macro_export]
macro_rules! plain_reset_exports {
    ($alloc:path) => {
        $crate::plain_reset_exports!(@with {
            // SAFETY: between invocations a pure guest holds no block:
            // its state went just above, and the host has freed or
            // stopped using every buffer and output.
            unsafe { $alloc.reset() }
        });
    };
    () => {
        $crate::plain_reset_exports!(@with {});
    };
    (@with $reset:block) => {
        static __POLYALLOC_STATEFUL: core::sync::atomic::AtomicBool =
            core::sync::atomic::AtomicBool::new(true);

        /// Marks the function stateful (non-zero) or pure (guest export).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_set_stateful(stateful: i32) {
            __POLYALLOC_STATEFUL.store(stateful != 0, core::sync::atomic::Ordering::Relaxed);
        }

        /// Ends an invocation; a pure function's heap is reset (guest
        /// export).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_reset() {
            let stateful = __POLYALLOC_STATEFUL.load(core::sync::atomic::Ordering::Relaxed);
            $crate::guest::end_invocation(stateful);
            if !stateful $reset
        }
    };
}
