//! The guest ABI: how a wasm guest hands its profile to its host, written by
//! [`guest_abi!`](crate::guest_abi).
//!
//! | export | signature | does |
//! |---|---|---|
//! | `polyalloc_profile_write` | `() -> usize` | builds the profile (DHAT JSON) in the guest's memory, returns its length in bytes |
//! | `polyalloc_profile_ptr` | `() -> usize` | the address of the bytes the last `polyalloc_profile_write` built |
//!
//! The host calls `polyalloc_profile_write`, then `polyalloc_profile_ptr`,
//! copies that many bytes out of the guest's memory and writes them to a
//! file. The bytes stay valid until the next `polyalloc_profile_write`.
//! Addresses and lengths are `usize` (an `i32` in a wasm32 module).

use polyalloc_core::sync::Lock;

use crate::Profile;

/// Where the last profile the guest ABI built is kept.
#[doc(hidden)]
pub struct AbiSlot(Lock<Option<Profile>>);

impl AbiSlot {
    /// An empty slot.
    #[must_use]
    pub const fn new() -> Self {
        Self(Lock::new(None))
    }

    /// Keeps `profile` (dropping the one before) and returns its length.
    pub fn store(&self, profile: Profile) -> usize {
        self.0.with(|slot| slot.insert(profile).len())
    }

    /// The address of the kept profile's bytes (0 when there is none).
    pub fn ptr(&self) -> usize {
        self.0
            .with(|slot| slot.as_ref().map_or(0, |p| p.as_bytes().as_ptr() as usize))
    }
}

impl Default for AbiSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes the guest ABI's exports (see the [module docs](crate::abi)'s
/// table) for a [`Profiled`](crate::Profiled) static.
///
/// ```
/// use polyalloc_freelist::FreeListAlloc;
/// use polyalloc_profile::{Config, Profiled};
///
/// static ALLOC: Profiled<FreeListAlloc> =
///     Profiled::with_config(FreeListAlloc::new(), Config::tags());
/// polyalloc_profile::guest_abi!(ALLOC);
///
/// # fn main() {
/// // A host calls these through the module's exports; natively they are
/// // plain functions.
/// let len = polyalloc_profile_write();
/// let ptr = polyalloc_profile_ptr() as *const u8;
/// // SAFETY: the last write left `len` bytes at `ptr`.
/// let json = unsafe { core::slice::from_raw_parts(ptr, len) };
/// assert!(json.starts_with(b"{\"dhatFileVersion\":2"));
/// # }
/// ```
#[macro_export]
macro_rules! guest_abi {
    ($profiled:path) => {
        #[doc(hidden)]
        static __POLYALLOC_PROFILE_SLOT: $crate::AbiSlot = $crate::AbiSlot::new();

        /// Builds the allocation profile (DHAT JSON) and returns its length
        /// (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_profile_write() -> usize {
            __POLYALLOC_PROFILE_SLOT.store($profiled.profile())
        }

        /// The address of the profile the last `polyalloc_profile_write`
        /// built (guest ABI).
        #[unsafe(no_mangle)]
        pub extern "C" fn polyalloc_profile_ptr() -> usize {
            __POLYALLOC_PROFILE_SLOT.ptr()
        }
    };
}

/// Writes guest exports whose allocations are charged to the export's
/// name: each function becomes `#[unsafe(no_mangle)] pub extern "C"`, and
/// runs with its own name as the current [`tag`](crate::tag) (inner tags
/// still nest inside it).
///
/// ```
/// polyalloc_profile::tagged_exports! {
///     /// Doubles every byte of a fresh vector.
///     pub fn handle(n: u32) -> u32 {
///         assert_eq!(polyalloc_profile::current_tag(), Some("handle"));
///         let v: Vec<u32> = (0..n).map(|i| i * 2).collect();
///         v.iter().sum()
///     }
/// }
/// # fn main() {
/// assert_eq!(handle(4), 12);
/// assert_eq!(polyalloc_profile::current_tag(), None);
/// # }
/// ```
#[macro_export]
macro_rules! tagged_exports {
    ($(
        $(#[$meta:meta])*
        pub fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$meta])*
        #[unsafe(no_mangle)]
        pub extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            let _tag = $crate::tag(stringify!($name));
            $body
        }
    )*};
}
