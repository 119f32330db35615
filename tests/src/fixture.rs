//! Heaps the tests run against: over a region the suite owns, or over the
//! platform's default source.

use core::mem::ManuallyDrop;
use core::ops::Range;
use core::ptr::NonNull;
use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};

use polyalloc_core::LockedHeap;
use polyalloc_core::source::RegionSource;

use crate::candidate::Candidate;

/// The alignment of every region buffer: a page, so that where blocks land
/// does not depend on where the system allocator put the buffer.
pub const REGION_ALIGN: usize = 4096;

/// A candidate's locked heap over a buffer of its own.
///
/// The buffer comes from the system allocator (or whatever the test binary's
/// global allocator is) and is freed only after the heap has been dropped,
/// so a heap that touches its region while dropping stays sound and nothing
/// leaks.
pub struct RegionFixture<C: Candidate> {
    /// Dropped by hand, before the buffer.
    heap: ManuallyDrop<LockedHeap<C::RegionHeap>>,
    /// The region; allocated with `layout`, owned by this fixture.
    buf: NonNull<u8>,
    /// The buffer's layout, for freeing it.
    layout: Layout,
}

impl<C: Candidate> RegionFixture<C> {
    /// A heap over a fresh, zeroed, page-aligned region of `len` bytes
    /// (`len` must be at least 1).
    ///
    /// # Panics
    ///
    /// If `len` is zero or too large for a `Layout`.
    #[must_use]
    pub fn new(len: usize) -> Self {
        assert!(len > 0, "a region needs at least one byte");
        let layout = Layout::from_size_align(len, REGION_ALIGN).expect("region size fits a Layout");
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(buf) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        // SAFETY: the `len` bytes at `buf` were just allocated, are used only
        // through this source and the heap built on it, and are freed in
        // `drop` only after that heap; an allocation never wraps the address
        // space.
        let source = unsafe { RegionSource::new(buf.as_ptr(), len) };
        Self {
            heap: ManuallyDrop::new(LockedHeap::with_heap(C::over_region(source))),
            buf,
            layout,
        }
    }

    /// The locked heap.
    #[must_use]
    pub fn heap(&self) -> &LockedHeap<C::RegionHeap> {
        &self.heap
    }

    /// The addresses of the region: every block must lie inside.
    #[must_use]
    pub fn range(&self) -> Range<usize> {
        let start = self.buf.as_ptr().addr();
        start..start + self.layout.size()
    }
}

impl<C: Candidate> Drop for RegionFixture<C> {
    fn drop(&mut self) {
        // SAFETY: the heap is dropped exactly once, here, and never used
        // again; then the buffer, which nothing refers to any more, goes
        // back with the layout it was allocated with.
        unsafe {
            ManuallyDrop::drop(&mut self.heap);
            dealloc(self.buf.as_ptr(), self.layout);
        }
    }
}

/// A candidate's locked heap over the platform's default source.
#[must_use]
pub fn default_heap<C: Candidate>() -> LockedHeap<C::DefaultHeap> {
    LockedHeap::with_heap(C::over_default())
}
