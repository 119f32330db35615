//! `GlobalAlloc` for every locked strategy core.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use crate::heap::Heap;
use crate::sync::LockedHeap;

// SAFETY: the methods follow `GlobalAlloc`'s contract: blocks come from a
// `Heap`, whose own contract makes them aligned, large enough and disjoint;
// failures are reported as null, never by unwinding (no method here can panic).
unsafe impl<H: Heap + Send> GlobalAlloc for LockedHeap<H> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.alloc_block(layout) {
            Some(p) => p.as_ptr(),
            None => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block this allocator returned with
            // the same layout.
            unsafe { self.dealloc_block(ptr, layout) };
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        let Some(block) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this allocator with
        // `layout`; on failure it stays live, as `realloc` requires.
        match unsafe { self.resize_block(block, layout, new) } {
            Some(p) => p.as_ptr(),
            None => ptr::null_mut(),
        }
    }
}
