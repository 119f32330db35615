//! `GlobalAlloc` for every locked strategy core.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use crate::heap::Heap;
use crate::sync::{Access, LockedHeap};

// SAFETY: the methods follow `GlobalAlloc`'s contract: blocks come from a
// `Heap`, whose own contract makes them aligned, large enough and disjoint;
// failures are reported as null, never by unwinding (no method here can
// panic). Zero sizes, which `GlobalAlloc` callers must not pass, go to the
// core, which serves them like any other size.
unsafe impl<H: Heap + Send> GlobalAlloc for LockedHeap<H> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.with(move |h| h.allocate(layout)) {
            Some(p) => p.as_ptr(),
            None => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block this allocator returned with
            // the same layout (a zero-size one may be dangling, which the
            // core ignores).
            self.with(move |h| unsafe { h.deallocate(ptr, layout) });
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The caller promises `new_size` rounded up to the alignment fits in
        // an `isize`; check it anyway, in two instructions.
        if new_size > isize::MAX as usize - (layout.align() - 1) {
            return ptr::null_mut();
        }
        // SAFETY: the alignment comes from a valid layout, and the size was
        // just checked against `Layout`'s limit.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let Some(block) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this allocator with
        // `layout`; on failure it stays live, as `realloc` requires.
        let moved = self.with(move |h| unsafe { h.resize(block, layout, new) });
        match moved {
            Some(p) => p.as_ptr(),
            None => ptr::null_mut(),
        }
    }
}
