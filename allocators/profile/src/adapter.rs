//! `GlobalAlloc` and allocator-api2's `Allocator` for [`Profiled`]: each
//! call goes to the inner allocator, then its result is recorded.
//!
//! Requests of zero bytes through `Allocator` are passed through
//! unrecorded: every one of them may return the same dangling address, so
//! they are not blocks (and `GlobalAlloc` callers may not make them).
//!
//! A free is recorded before the inner allocator frees, and an allocation
//! after it allocates, so another thread reusing the address at once never
//! finds the record of the old block.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use crate::Profiled;

// SAFETY: every method forwards to the inner allocator with the caller's
// arguments unchanged and returns its result unchanged, so the inner
// allocator's guarantees hold; recording only reads the addresses.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Profiled<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees, forwarded.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            self.record_alloc(ptr as usize, layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees, forwarded.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.record_alloc(ptr as usize, layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.record_free(ptr as usize);
        // SAFETY: the caller's guarantees, forwarded.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.moving(
            ptr as usize,
            // SAFETY: the caller's guarantees, forwarded.
            || unsafe { self.inner.realloc(ptr, layout, new_size) },
            |new| (!new.is_null()).then_some((*new as usize, new_size)),
        )
    }
}

/// The `Allocator` resize methods: each forwards to `&A`'s and records the
/// move.
macro_rules! resize_methods {
    ($($name:ident),*) => {$(
        #[inline]
        unsafe fn $name(
            &self,
            ptr: NonNull<u8>,
            old_layout: Layout,
            new_layout: Layout,
        ) -> Result<NonNull<[u8]>, AllocError> {
            self.resize(ptr, old_layout, new_layout, || {
                // SAFETY: the caller's guarantees, forwarded.
                unsafe { (&self.inner).$name(ptr, old_layout, new_layout) }
            })
        }
    )*};
}

// SAFETY: every method forwards to `&A`'s with the caller's arguments and
// returns its result unchanged, so `&A`'s guarantees hold, cloning included
// (a copy of `&Profiled<A>` reaches the same inner allocator).
unsafe impl<A> Allocator for &Profiled<A>
where
    for<'a> &'a A: Allocator,
{
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = (&self.inner).allocate(layout)?;
        if layout.size() != 0 {
            self.record_alloc(block.cast::<u8>().as_ptr() as usize, layout.size());
        }
        Ok(block)
    }

    #[inline]
    fn allocate_zeroed(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = (&self.inner).allocate_zeroed(layout)?;
        if layout.size() != 0 {
            self.record_alloc(block.cast::<u8>().as_ptr() as usize, layout.size());
        }
        Ok(block)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            self.record_free(ptr.as_ptr() as usize);
        }
        // SAFETY: the caller's guarantees, forwarded.
        unsafe { (&self.inner).deallocate(ptr, layout) }
    }

    resize_methods!(grow, grow_zeroed, shrink);
}

impl<A> Profiled<A> {
    /// Runs and records an `Allocator` resize, where either size may be
    /// zero.
    #[inline]
    fn resize(
        &self,
        old: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
        op: impl FnOnce() -> Result<NonNull<[u8]>, AllocError>,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let old_addr = old.as_ptr() as usize;
        let addr = |block: &NonNull<[u8]>| block.cast::<u8>().as_ptr() as usize;
        match (old_layout.size(), new_layout.size()) {
            (0, 0) => op(),
            (0, n) => {
                let block = op()?;
                self.record_alloc(addr(&block), n);
                Ok(block)
            }
            (_, 0) => {
                self.record_free(old_addr);
                op()
            }
            (_, n) => self.moving(old_addr, op, |r| r.as_ref().ok().map(|b| (addr(b), n))),
        }
    }
}
