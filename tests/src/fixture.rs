//! Heaps the tests run against: over a region the suite owns, or over the
//! platform's default source.

use core::cell::Cell;
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
/// global allocator is) and goes back only after the heap has been dropped,
/// so a heap that touches its region while dropping stays sound and nothing
/// leaks. A thread keeps the last buffer it dropped for the next fixture of
/// the same size: a fuzz target builds a fixture per input, and
/// zeroing and faulting in a fresh megabyte each time took two fifths of
/// its run time.
pub struct RegionFixture<C: Candidate> {
    /// Dropped by hand, before the buffer.
    heap: ManuallyDrop<LockedHeap<C::RegionHeap>>,
    /// The region; allocated with `layout`, owned by this fixture.
    buf: NonNull<u8>,
    /// The buffer's layout, for freeing it.
    layout: Layout,
}

impl<C: Candidate> RegionFixture<C> {
    /// A heap over a page-aligned region of `len` bytes (`len` must be at
    /// least 1): zeroed when new, or, when this thread's last fixture had
    /// the same size, that fixture's buffer as its heap left it. A strategy
    /// must not count on what a region holds, and this way the suite checks
    /// that it does not.
    ///
    /// # Panics
    ///
    /// If `len` is zero or too large for a `Layout`.
    #[must_use]
    pub fn new(len: usize) -> Self {
        assert!(len > 0, "a region needs at least one byte");
        let layout = Layout::from_size_align(len, REGION_ALIGN).expect("region size fits a Layout");
        let buf = Spare::take(layout).unwrap_or_else(|| {
            // SAFETY: `layout` has a non-zero size.
            let raw = unsafe { alloc_zeroed(layout) };
            NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout))
        });
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
        // again; then the buffer, which nothing refers to any more, is kept
        // for the next fixture or goes back with its layout.
        unsafe {
            ManuallyDrop::drop(&mut self.heap);
            Spare::keep(self.buf, self.layout);
        }
    }
}

/// The region buffer a thread's last [`RegionFixture`] left, kept for the
/// next fixture of the same layout; freed when the thread exits or when a
/// fixture of another size needs a buffer. Under Miri no buffer is kept, so
/// its leak check sees every buffer freed before the test ends.
struct Spare(Cell<Option<(NonNull<u8>, Layout)>>);

impl Spare {
    /// This thread's kept buffer, if it has `layout`.
    fn take(layout: Layout) -> Option<NonNull<u8>> {
        let (buf, kept) = SPARE.with(|spare| spare.0.take())?;
        if kept == layout {
            return Some(buf);
        }
        // SAFETY: the kept buffer was allocated with `kept` and nothing
        // refers to it (its fixture is gone).
        unsafe { dealloc(buf.as_ptr(), kept) };
        None
    }

    /// Keeps `buf` for the next fixture, or frees it.
    ///
    /// # Safety
    ///
    /// `buf` was allocated with `layout` and nothing refers to it any more.
    unsafe fn keep(buf: NonNull<u8>, layout: Layout) {
        if cfg!(miri) {
            // SAFETY: as the caller guarantees.
            unsafe { dealloc(buf.as_ptr(), layout) };
            return;
        }
        // The thread may be exiting, its `SPARE` already gone: free it then.
        let old = SPARE
            .try_with(|spare| spare.0.replace(Some((buf, layout))))
            .unwrap_or(Some((buf, layout)));
        if let Some((old, old_layout)) = old {
            // SAFETY: the buffer replaced (or the one that could not be
            // kept) was allocated with `old_layout` and is no fixture's.
            unsafe { dealloc(old.as_ptr(), old_layout) };
        }
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        if let Some((buf, layout)) = self.0.take() {
            // SAFETY: the thread is exiting; no fixture holds the kept
            // buffer, which was allocated with `layout`.
            unsafe { dealloc(buf.as_ptr(), layout) };
        }
    }
}

std::thread_local! {
    static SPARE: Spare = const { Spare(Cell::new(None)) };
}

/// A candidate's locked heap over the platform's default source.
#[must_use]
pub fn default_heap<C: Candidate>() -> LockedHeap<C::DefaultHeap> {
    LockedHeap::with_heap(C::over_default())
}
