//! The sync wrapper: makes any strategy core `Sync` so it can be a
//! `#[global_allocator]` or a shared `Allocator`.

mod access;
mod atomic;
mod cell;
mod lock;
// Single-threaded wasm32 needs no probe: it has no other thread.
#[cfg(all(
    not(loom),
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
))]
mod single_thread;

use core::fmt;

use crate::heap::Heap;
use crate::source::ConstDefault;
pub(crate) use access::Access;
pub use cell::HeapCell;
pub use lock::Lock;

/// Whether [`LockedHeap`] currently skips its lock's atomic instruction: on a
/// single-threaded wasm32 target always, on glibc while the process has one
/// thread (see `docs/architecture.md`), elsewhere never. A diagnostic for
/// tests and benchmarks; the answer can change as soon as a thread starts.
#[must_use]
pub fn lock_is_elided() -> bool {
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    {
        true
    }
    #[cfg(all(
        not(loom),
        not(all(target_arch = "wasm32", not(target_feature = "atomics")))
    ))]
    {
        single_thread::is_single_threaded()
    }
    #[cfg(loom)]
    {
        false
    }
}

/// A strategy core behind the family's one lock.
///
/// Every strategy crate's ready-to-use type is this wrapper around its core on
/// the platform's default source (`BumpAlloc = LockedHeap<BumpHeap>`), and the
/// adapters implement `GlobalAlloc` and allocator-api2's `Allocator` for it
/// once, for every `H: Heap`.
///
/// ```
/// use polyalloc_core::{LockedHeap, Heap};
/// # use polyalloc_core::{source::RegionSource, Stats};
/// # struct Dummy;
/// # unsafe impl Heap for Dummy {
/// #     fn allocate(&mut self, _: core::alloc::Layout) -> Option<core::ptr::NonNull<u8>> { None }
/// #     unsafe fn deallocate(&mut self, _: core::ptr::NonNull<u8>, _: core::alloc::Layout) {}
/// #     fn owns(&self, _: core::ptr::NonNull<u8>) -> bool { false }
/// #     fn reset(&mut self) {}
/// #     fn stats(&self) -> Stats { Stats::new() }
/// # }
/// let heap = LockedHeap::with_heap(Dummy);
/// assert_eq!(heap.stats().allocations, 0);
/// ```
pub struct LockedHeap<H> {
    lock: Lock<H>,
}

// SAFETY: every access to the heap goes through the lock, which gives one
// thread at a time exclusive access; the heap itself only has to be `Send`.
unsafe impl<H: Send> Sync for LockedHeap<H> {}

impl<H> LockedHeap<H> {
    /// Wraps a heap.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn with_heap(heap: H) -> Self {
        Self {
            lock: Lock::new(heap),
        }
    }

    /// Wraps the default value of a heap type: what every strategy's
    /// `XxxAlloc::new()` resolves to.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self
    where
        H: ConstDefault,
    {
        Self::with_heap(H::DEFAULT)
    }

    /// Wraps a heap (not `const` under loom, whose atomics are not).
    #[cfg(loom)]
    #[must_use]
    pub fn with_heap(heap: H) -> Self {
        Self {
            lock: Lock::new(heap),
        }
    }

    /// Wraps the default value of a heap type.
    #[cfg(loom)]
    #[must_use]
    pub fn new() -> Self
    where
        H: ConstDefault,
    {
        Self::with_heap(H::DEFAULT)
    }

    /// Runs `f` with exclusive access to the core, for strategy-specific
    /// operations (a bump heap's checkpoints, say).
    ///
    /// # Safety
    ///
    /// `f` must not invalidate a block that is still in use: a reset, rewind
    /// or similar operation through `f` is only sound when the program holds
    /// no block from this heap that it will use again (collections built with
    /// this heap as their `Allocator` included).
    #[inline]
    pub unsafe fn lock_heap<R>(&self, f: impl FnOnce(&mut H) -> R) -> R {
        self.lock.with(f)
    }

    /// Exclusive access to the core through an exclusive borrow (no locking).
    pub fn get_mut(&mut self) -> &mut H {
        self.lock.get_mut()
    }

    /// Takes the heap's lock until [`unlock_held`](Self::unlock_held): for
    /// a `fork` handler (see [`Lock::lock_held`]).
    ///
    /// # Safety
    ///
    /// As for [`Lock::lock_held`]: the calling thread releases it once with
    /// `unlock_held` and does not use the heap in between.
    pub unsafe fn lock_held(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { self.lock.lock_held() }
    }

    /// Releases the lock [`lock_held`](Self::lock_held) took.
    ///
    /// # Safety
    ///
    /// As for [`Lock::unlock_held`].
    pub unsafe fn unlock_held(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { self.lock.unlock_held() }
    }
}

impl<H: Heap> LockedHeap<H> {
    access::heap_queries!();
}

impl<H: Heap> Access for LockedHeap<H> {
    type Heap = H;

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut H) -> R) -> R {
        self.lock.with(f)
    }
}

impl<H: ConstDefault> Default for LockedHeap<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Heap> fmt::Debug for LockedHeap<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedHeap")
            .field("stats", &self.stats())
            .finish()
    }
}
