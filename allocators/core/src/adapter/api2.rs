//! allocator-api2's `Allocator` for every locked strategy core.
//!
//! The impl is written once, as a macro over the crate path, and expanded for
//! allocator-api2 0.2 (always: what hashbrown and bumpalo use) and 0.4
//! (behind the `allocator-api2-04` feature). The two versions' traits have the
//! same methods.

use core::ptr::NonNull;

use crate::sync::Access;

#[inline(always)]
fn slice(ptr: NonNull<u8>, len: usize) -> NonNull<[u8]> {
    NonNull::slice_from_raw_parts(ptr, len)
}

/// Grow or shrink, as a slice of the new length.
///
/// # Safety
///
/// `ptr` is a live block of `heap` with `old`.
#[inline(always)]
unsafe fn resize<A: Access>(
    heap: &A,
    ptr: NonNull<u8>,
    old: core::alloc::Layout,
    new: core::alloc::Layout,
) -> Option<NonNull<[u8]>> {
    // SAFETY: forwarded from the caller.
    unsafe { heap.resize_block(ptr, old, new) }.map(|p| slice(p, new.size()))
}

macro_rules! impl_allocator {
    ($api:ident, $wrapper:ident) => {
        // SAFETY: blocks come from a `Heap` (aligned, large enough, disjoint,
        // valid until freed, reset or moved), zero-size requests get dangling
        // pointers that are never passed to the core, and a failed grow or
        // shrink leaves the block live. Neither wrapper is `Clone`, so the
        // "clones behave like the same allocator" rule holds trivially;
        // references get the impl from the crate's blanket impl for them.
        unsafe impl<H: $crate::heap::Heap> $api::alloc::Allocator for $crate::sync::$wrapper<H> {
            #[inline]
            fn allocate(
                &self,
                layout: core::alloc::Layout,
            ) -> Result<NonNull<[u8]>, $api::alloc::AllocError> {
                self.alloc_block(layout)
                    .map(|p| slice(p, layout.size()))
                    .ok_or($api::alloc::AllocError)
            }

            #[inline]
            unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: core::alloc::Layout) {
                // SAFETY: the caller passes a block this allocator returned;
                // blocks are returned at exactly the requested length, so
                // the only size the caller may pass is the requested one.
                unsafe { self.dealloc_block(ptr, layout) }
            }

            #[inline]
            unsafe fn grow(
                &self,
                ptr: NonNull<u8>,
                old: core::alloc::Layout,
                new: core::alloc::Layout,
            ) -> Result<NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller passes a live block with `old`, and
                // `new.size() >= old.size()`.
                unsafe { resize(self, ptr, old, new) }.ok_or($api::alloc::AllocError)
            }

            #[inline]
            unsafe fn grow_zeroed(
                &self,
                ptr: NonNull<u8>,
                old: core::alloc::Layout,
                new: core::alloc::Layout,
            ) -> Result<NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller passes a live block with `old`, and
                // `new.size() >= old.size()`.
                let resized = unsafe { resize(self, ptr, old, new) };
                let block = resized.ok_or($api::alloc::AllocError)?;
                // SAFETY: the block is valid for `new.size()` bytes, of which
                // the first `old.size()` hold the old contents.
                unsafe { $crate::adapter::zero_from(block, old.size()) };
                Ok(block)
            }

            #[inline]
            unsafe fn shrink(
                &self,
                ptr: NonNull<u8>,
                old: core::alloc::Layout,
                new: core::alloc::Layout,
            ) -> Result<NonNull<[u8]>, $api::alloc::AllocError> {
                // SAFETY: the caller passes a live block with `old`, and
                // `new.size() <= old.size()`.
                unsafe { resize(self, ptr, old, new) }.ok_or($api::alloc::AllocError)
            }
        }
    };
}

impl_allocator!(allocator_api2, LockedHeap);
impl_allocator!(allocator_api2, HeapCell);

#[cfg(feature = "allocator-api2-04")]
impl_allocator!(allocator_api2_04, LockedHeap);
#[cfg(feature = "allocator-api2-04")]
impl_allocator!(allocator_api2_04, HeapCell);
