//! How the adapters reach a core: exclusive access for the span of a
//! closure, by a lock ([`LockedHeap`](super::LockedHeap)) or by being on one
//! thread ([`HeapCell`](super::HeapCell)). The allocator-api2 handling of
//! zero sizes and resizes is written here once, for both.

use core::alloc::Layout;
use core::ptr::NonNull;

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
    /// either side.
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
        if old.size() == 0 {
            return self.alloc_block(new);
        }
        if new.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.dealloc_block(ptr, old) };
            return Some(dangling(new.align()));
        }
        self.with(move |h| {
            if new.size() >= old.size() {
                // SAFETY: forwarded from the caller; sizes checked above.
                unsafe { h.grow(ptr, old, new) }
            } else {
                // SAFETY: forwarded from the caller; sizes checked above.
                unsafe { h.shrink(ptr, old, new) }
            }
        })
    }
}
