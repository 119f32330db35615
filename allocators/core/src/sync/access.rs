//! How the adapters reach a core: exclusive access for the span of a
//! closure, by a lock ([`LockedHeap`](super::LockedHeap)) or by being on one
//! thread ([`HeapCell`](super::HeapCell)). The allocator-api2 handling of
//! zero sizes and resizes is written here once, for both.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::adapter::resize_any_size;
use crate::heap::Heap;
use crate::layout::dangling;

/// A shared handle on a strategy core.
pub(crate) trait Access {
    /// The core.
    type Heap: Heap;

    /// Runs `f` with exclusive access to the core. It must not be exposed
    /// safely, since `f` sees the heap mutably.
    fn with<R>(&self, f: impl FnOnce(&mut Self::Heap) -> R) -> R;

    /// Allocation for `Allocator`: zero-size requests get a dangling pointer
    /// and never reach the core.
    #[inline(always)]
    fn alloc_block(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return Some(dangling(layout.align()));
        }
        self.with(move |h| h.allocate(layout))
    }

    /// Deallocation for `Allocator`.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`alloc_block`](Self::alloc_block) (or a resize) with
    /// `layout` and is not used again.
    #[inline(always)]
    unsafe fn dealloc_block(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded from the caller; zero-size blocks are
            // dangling and never reached the core.
            self.with(move |h| unsafe { h.deallocate(ptr, layout) });
        }
    }

    /// Resize for `Allocator`: grows or shrinks, handling zero-size blocks on
    /// either side ([`resize_any_size`]).
    ///
    /// # Safety
    ///
    /// `ptr` came from this heap with `old` and is live.
    #[inline]
    unsafe fn resize_block(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller; `resize_any_size` calls each
        // closure with the caller's block and non-zero sizes only.
        unsafe {
            resize_any_size(
                ptr,
                old,
                new,
                |new| self.with(move |h| h.allocate(new)),
                |ptr, old| self.with(move |h| h.deallocate(ptr, old)),
                |ptr, old, new| self.with(move |h| h.resize(ptr, old, new)),
            )
        }
    }
}

/// The inherent queries both wrappers offer, written once: expanded inside
/// `impl<H: Heap> Wrapper<H>` blocks of types that implement [`Access`].
macro_rules! heap_queries {
    () => {
        /// The core's counters.
        pub fn stats(&self) -> $crate::stats::Stats {
            $crate::sync::Access::with(self, |h| h.stats())
        }

        /// Whether `ptr` points into a live block of this heap.
        pub fn owns(&self, ptr: core::ptr::NonNull<u8>) -> bool {
            $crate::sync::Access::with(self, move |h| h.owns(ptr))
        }

        /// Forgets every block, keeping the reserved memory: the end of an
        /// invocation for a FaaS guest.
        ///
        /// # Safety
        ///
        /// No block from this heap may be used after this call: the program
        /// must have dropped everything it allocated from it (collections
        /// built on it included; for a global allocator, every `Box`, `Vec`
        /// and `String` made since the last reset). With an exclusive borrow,
        /// `get_mut().reset()` is the safe form.
        pub unsafe fn reset(&self) {
            $crate::sync::Access::with(self, |h| h.reset());
        }

        /// Walks the core and checks its invariants (a no-op in release
        /// builds).
        pub fn check(&self) -> Result<(), $crate::heap::CheckError> {
            $crate::sync::Access::with(self, |h| h.check())
        }
    };
}
pub(crate) use heap_queries;
