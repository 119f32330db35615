//! The profiler's private heap: where its tables and the JSON it writes
//! live, so that recording never allocates through the allocator being
//! profiled (which may be the global allocator).
//!
//! One free-list heap on the platform's default source (`mmap` on unix,
//! `memory.grow` on wasm32) serves every [`Profiled`](crate::Profiled) in the
//! program; [`Private`] is a zero-sized handle to it, so a table can name its
//! allocator without borrowing anything.

use core::alloc::Layout;
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};
use polyalloc_freelist::FreeListAlloc;

/// The heap behind [`Private`].
static HEAP: FreeListAlloc = FreeListAlloc::new();

/// A handle to the profiler's private heap, an allocator-api2 `Allocator`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Private;

// SAFETY: every call forwards to `&HEAP`, a `'static` allocator whose blocks
// stay valid until freed; all copies of the handle reach the same heap, so a
// block from one copy may be freed or resized through another. (Resizes use
// the trait's allocate-copy-free defaults: the tables grow rarely.)
unsafe impl Allocator for Private {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        HEAP.allocate(layout)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller passes a block of this heap with its layout.
        unsafe { HEAP.deallocate(ptr, layout) }
    }
}

/// A vector in the private heap.
pub type PrivateVec<T> = allocator_api2::vec::Vec<T, Private>;

/// Bytes the private heap holds from its source: the profiler's own memory
/// cost.
#[must_use]
pub fn private_bytes_reserved() -> usize {
    HEAP.stats().bytes_reserved
}
