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
//!
//! [`Local`] gives a peer's own single-threaded heap ([`RawHeap`]: talc,
//!   dlmalloc, rlsf, linked_list_allocator, each called through its native
//!   `&mut self` methods) an `Allocator` for one thread, as polyalloc's
//!   `HeapCell` does for a strategy core: grows go to the peer's own
//!   reallocation.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
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

/// A single-threaded allocator called through `&mut self`: how the peers'
/// own heaps are used natively.
pub trait RawHeap {
    /// Allocates a block for `layout` (non-zero size), or `None`.
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>>;

    /// Frees a block.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this heap allocated with `layout`.
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Grows a block to `new_size` bytes with the same alignment, in place
    /// or by moving it; on `None` the old block is untouched and live.
    ///
    /// The default is what a heap without reallocation offers (and what
    /// `GlobalAlloc::realloc` does by default): a new block, the old bytes
    /// copied, the old block freed.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this heap allocated with `old`, and
    /// `new_size >= old.size()` is a valid size for `old.align()`.
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        let moved = self.allocate(Layout::from_size_align(new_size, old.align()).ok()?)?;
        // SAFETY: `moved` is fresh, so disjoint from the live `ptr`, which
        // holds `old.size()` bytes; `ptr` is then freed with its layout.
        unsafe {
            moved.copy_from_nonoverlapping(ptr, old.size());
            self.deallocate(ptr, old);
        }
        Some(moved)
    }
}

/// A [`RawHeap`] owned by one thread, usable as an allocator-api2
/// `Allocator` through `&Local<T>`.
///
/// Not `Sync` (it holds an `UnsafeCell`), so every call comes from the thread
/// that owns it, one at a time: the peer's code never calls back into the
/// `Allocator`, so no two `&mut` to the heap ever exist at once.
pub struct Local<T>(UnsafeCell<T>);

impl<T> Local<T> {
    /// Wraps `heap`.
    pub const fn new(heap: T) -> Self {
        Self(UnsafeCell::new(heap))
    }

    /// The heap, for direct calls while no `Allocator` handle is in use.
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }

    /// The heap, for one call.
    ///
    /// # Safety
    ///
    /// No other reference to the heap is live while the returned one is.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    unsafe fn heap(&self) -> &mut T {
        // SAFETY: forwarded from the caller.
        unsafe { &mut *self.0.get() }
    }
}

// SAFETY: every block comes from the peer's own allocate or grow, which
// return aligned, large enough, disjoint blocks; zero-size requests get
// dangling pointers that are never passed on. `Local` is not `Sync`, so the
// calls below never overlap, and each `heap()` borrow ends with its call.
unsafe impl<T: RawHeap> Allocator for Local<T> {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(slice(dangling(layout.align()), 0));
        }
        // SAFETY: no other borrow of the heap is live (see the impl).
        let p = unsafe { self.heap() }.allocate(layout).ok_or(AllocError)?;
        Ok(slice(p, layout.size()))
    }

    #[inline(always)]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: a live block of this heap with `layout`, from the
            // caller; no other borrow of the heap is live.
            unsafe { self.heap().deallocate(ptr, layout) }
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
        if old.align() != new.align() {
            let block = self.allocate(new)?;
            // SAFETY: `block` is fresh, so disjoint from the live `ptr`,
            // which holds `old.size()` bytes; `ptr` is then freed with its
            // layout, as the caller allows.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), block.cast::<u8>().as_ptr(), old.size());
                self.deallocate(ptr, old);
            }
            return Ok(block);
        }
        // SAFETY: a live block with `old` and a larger size with the same
        // alignment, from the caller; no other borrow of the heap is live.
        let p = unsafe { self.heap().grow(ptr, old, new.size()) }.ok_or(AllocError)?;
        Ok(slice(p, new.size()))
    }
}
