//! An allocator-api2 `Allocator` view for the contestants that have none of
//! their own, so the collection workloads (`Vec::new_in`, `Box::new_in`) run
//! on every contestant. (The raw core needs none: polyalloc's own
//! `HeapCell` is its single-threaded `Allocator`.)
//!
//! [`ViaGlobal`] gives any `GlobalAlloc` an `Allocator` the way the standard
//!   library's `Global` does for the `#[global_allocator]`: every call is a
//!   `GlobalAlloc` call (`realloc` for a grow with the same alignment). It is
//!   how `BumpAlloc` and `System` are measured there, so those rows show what
//!   a program using them as its global allocator pays.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};
use polyalloc_core::layout::dangling;

#[inline(always)]
fn slice(ptr: NonNull<u8>, len: usize) -> NonNull<[u8]> {
    NonNull::slice_from_raw_parts(ptr, len)
}

/// Any `GlobalAlloc` as an `Allocator`, calling it exactly as the standard
/// library's `Global` calls the `#[global_allocator]`.
pub struct ViaGlobal<'a, G>(pub &'a G);

impl<G> Clone for ViaGlobal<'_, G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G> Copy for ViaGlobal<'_, G> {}

impl<G: GlobalAlloc> ViaGlobal<'_, G> {
    /// A non-zero-size block resized to a non-zero size: a `realloc` when
    /// the alignment stays, as std's `Global` does, else a move.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of `self.0` allocated with `old`, and
    /// `new.size()` is not zero.
    #[inline(always)]
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.align() != new.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { self.moved(ptr, old, new) };
        }
        // SAFETY: a live non-zero-size block with `old`; `new.size()` is
        // non-zero and a valid layout size.
        let p = unsafe { self.0.realloc(ptr.as_ptr(), old, new.size()) };
        NonNull::new(p)
            .map(|p| slice(p, new.size()))
            .ok_or(AllocError)
    }

    /// A new block for `new` holding the first bytes of `ptr`, which is
    /// freed: what `Global` does when the alignment changes.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of `self.0` allocated with `old`. The copy
    /// takes the smaller of the two sizes, so this serves grow and shrink.
    unsafe fn moved(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let block = self.allocate(new)?;
        // SAFETY: `block` is fresh, so disjoint from `ptr`; both hold the
        // bytes copied; `ptr` is then freed with its layout, as the caller
        // allows.
        unsafe {
            ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                block.cast::<u8>().as_ptr(),
                old.size().min(new.size()),
            );
            self.deallocate(ptr, old);
        }
        Ok(block)
    }
}

// SAFETY: every block comes from `GlobalAlloc::alloc` or `realloc` of one
// allocator, whose contract makes it aligned, large enough and disjoint;
// zero-size requests get dangling pointers that are never passed on.
unsafe impl<G: GlobalAlloc> Allocator for ViaGlobal<'_, G> {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(slice(dangling(layout.align()), 0));
        }
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { self.0.alloc(layout) };
        NonNull::new(p)
            .map(|p| slice(p, layout.size()))
            .ok_or(AllocError)
    }

    #[inline(always)]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller passes a live block allocated with `layout`.
            unsafe { self.0.dealloc(ptr.as_ptr(), layout) }
        }
    }

    #[inline(always)]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 {
            return self.allocate(new);
        }
        // SAFETY: forwarded from the caller; `new` is not smaller.
        unsafe { self.resize(ptr, old, new) }
    }

    #[inline(always)]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if new.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate(ptr, old) };
            return Ok(slice(dangling(new.align()), 0));
        }
        // SAFETY: forwarded from the caller; `new` is not empty.
        unsafe { self.resize(ptr, old, new) }
    }
}
