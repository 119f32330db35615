//! allocator-api2 0.2's `Allocator` for every locked strategy core.

use core::alloc::Layout;
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use crate::heap::Heap;
use crate::sync::LockedHeap;

#[inline(always)]
fn slice(ptr: NonNull<u8>, len: usize) -> NonNull<[u8]> {
    NonNull::slice_from_raw_parts(ptr, len)
}

// SAFETY: blocks come from a `Heap` (aligned, large enough, disjoint, valid
// until freed, reset or moved), zero-size requests get dangling pointers that
// are never passed to the core, and a failed grow or shrink leaves the block
// live. `LockedHeap` is not `Clone`, so the "clones behave like the same
// allocator" rule holds trivially; `&LockedHeap` gets the impl from
// allocator-api2's blanket impl for references.
unsafe impl<H: Heap> Allocator for LockedHeap<H> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        self.alloc_block(layout)
            .map(|p| slice(p, layout.size()))
            .ok_or(AllocError)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned; any size
        // between the requested and returned length is the requested size,
        // since blocks are returned at exactly the requested length.
        unsafe { self.dealloc_block(ptr, layout) }
    }

    #[inline]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller passes a live block with `old`, and
        // `new.size() >= old.size()`.
        unsafe { self.resize_block(ptr, old, new) }
            .map(|p| slice(p, new.size()))
            .ok_or(AllocError)
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller passes a live block with `old`, and
        // `new.size() <= old.size()`.
        unsafe { self.resize_block(ptr, old, new) }
            .map(|p| slice(p, new.size()))
            .ok_or(AllocError)
    }
}
