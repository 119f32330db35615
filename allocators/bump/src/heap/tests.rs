//! Unit tests of the bump core. The shared conformance suite (tests/) runs
//! the model, bad-input and trait tests; these cover what is bump-specific.

use super::*;
use polyalloc_core::Counting;
use polyalloc_core::source::{MmapSource, RegionSource};

extern crate std;
use std::vec;
use std::vec::Vec;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A bump heap over a buffer it owns; the buffer is freed after the heap.
struct RegionHeap {
    heap: core::mem::ManuallyDrop<BumpHeap<RegionSource, Counting>>,
    buf: *mut [u8],
}

impl Drop for RegionHeap {
    fn drop(&mut self) {
        // SAFETY: the heap is dropped once, before the buffer it uses; the
        // buffer came from `Box::into_raw` in `region_heap`.
        unsafe {
            core::mem::ManuallyDrop::drop(&mut self.heap);
            drop(std::boxed::Box::from_raw(self.buf));
        }
    }
}

impl core::ops::Deref for RegionHeap {
    type Target = BumpHeap<RegionSource, Counting>;
    fn deref(&self) -> &Self::Target {
        &self.heap
    }
}

impl core::ops::DerefMut for RegionHeap {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.heap
    }
}

fn region_heap(len: usize) -> RegionHeap {
    let buf = std::boxed::Box::into_raw(vec![0u8; len].into_boxed_slice());
    // SAFETY: the buffer is valid, owned by the returned value, and freed
    // only after the heap is dropped.
    let source = unsafe { RegionSource::new(buf.cast::<u8>(), len) };
    RegionHeap {
        heap: core::mem::ManuallyDrop::new(BumpHeap::counting(source)),
        buf,
    }
}

fn mmap_heap() -> BumpHeap<MmapSource, Counting> {
    BumpHeap::counting(MmapSource::new())
}

#[test]
fn allocations_are_consecutive_and_aligned() {
    let mut h = region_heap(4096);
    let a = h.allocate(layout(3, 1)).unwrap();
    let b = h.allocate(layout(8, 8)).unwrap();
    let c = h.allocate(layout(1, 1)).unwrap();
    assert_eq!(b.as_ptr().addr() % 8, 0);
    assert!(b.as_ptr().addr() >= a.as_ptr().addr() + 3);
    assert_eq!(c.as_ptr().addr(), b.as_ptr().addr() + 8);
    h.check().unwrap();
    assert_eq!(h.stats().allocations, 3);
    assert_eq!(h.stats().bytes_live, 12);
}

#[test]
fn freeing_the_last_block_rolls_back() {
    let mut h = region_heap(4096);
    let a = h.allocate(layout(16, 8)).unwrap();
    let b = h.allocate(layout(16, 8)).unwrap();
    // SAFETY: `b` and `a` are live blocks with these layouts.
    unsafe {
        h.deallocate(b, layout(16, 8));
        h.deallocate(a, layout(16, 8));
    }
    let again = h.allocate(layout(16, 8)).unwrap();
    assert_eq!(again, a);
    assert_eq!(h.stats().failed_deallocations, 0);
    h.check().unwrap();
}

#[test]
fn freeing_an_older_block_is_a_counted_no_op() {
    let mut h = region_heap(4096);
    let a = h.allocate(layout(16, 8)).unwrap();
    let b = h.allocate(layout(16, 8)).unwrap();
    // SAFETY: `a` is live with this layout.
    unsafe { h.deallocate(a, layout(16, 8)) };
    let c = h.allocate(layout(16, 8)).unwrap();
    assert_eq!(c.as_ptr().addr(), b.as_ptr().addr() + 16);
    let s = h.stats();
    assert_eq!(s.failed_deallocations, 1);
    assert_eq!(s.deallocations, 1);
    assert_eq!(s.bytes_live, 32);
}

#[test]
fn top_block_grows_and_shrinks_in_place() {
    let mut h = region_heap(4096);
    let _a = h.allocate(layout(8, 8)).unwrap();
    let b = h.allocate(layout(8, 8)).unwrap();
    // SAFETY: `b` is the live top block with the old layouts given.
    unsafe {
        assert!(h.grow_in_place(b, layout(8, 8), layout(100, 8)));
        assert!(h.shrink_in_place(b, layout(100, 8), layout(50, 8)));
    }
    let c = h.allocate(layout(1, 1)).unwrap();
    assert_eq!(c.as_ptr().addr(), b.as_ptr().addr() + 50);
    assert_eq!(h.stats().reallocations, 2);
    assert_eq!(h.stats().bytes_live, 59);
    h.check().unwrap();
}

#[test]
fn an_older_block_cannot_grow_in_place_but_can_shrink() {
    let mut h = region_heap(64 * 1024);
    let a = h.allocate(layout(8, 8)).unwrap();
    let _b = h.allocate(layout(8, 8)).unwrap();
    // SAFETY: `a` is live with the old layouts given.
    unsafe {
        assert!(!h.grow_in_place(a, layout(8, 8), layout(16, 8)));
        assert!(h.shrink_in_place(a, layout(8, 8), layout(4, 8)));
        // A larger alignment than the block has cannot be met in place.
        let moved = h.grow(a, layout(4, 8), layout(8, 4096)).unwrap();
        assert_ne!(moved, a);
        assert_eq!(moved.as_ptr().addr() % 4096, 0);
    }
}

#[test]
fn grow_past_the_chunk_moves_and_keeps_contents() {
    let mut h = mmap_heap();
    let a = h.allocate(layout(16, 8)).unwrap();
    // SAFETY: `a` is live for 16 bytes; then grown with its current layout.
    unsafe {
        a.as_ptr().copy_from(b"0123456789abcdef".as_ptr(), 16);
        let b = h.grow(a, layout(16, 8), layout(4 * MAX_CHUNK, 8)).unwrap();
        assert_eq!(
            core::slice::from_raw_parts(b.as_ptr(), 16),
            b"0123456789abcdef"
        );
    }
    h.check().unwrap();
}

#[test]
fn chunks_double_up_to_the_cap_and_large_requests_get_their_own() {
    let mut h = mmap_heap();
    for _ in 0..200 {
        h.allocate(layout(32 * 1024, 8)).unwrap();
    }
    h.check().unwrap();
    let reserved = h.stats().bytes_reserved;
    // 200 × 32 KiB = 6.25 MiB live; doubling stops at 1 MiB, so less than
    // one capped chunk (plus the partly used tails) is over-reserved.
    assert!(
        reserved < 200 * 32 * 1024 + 2 * MAX_CHUNK,
        "reserved {reserved}"
    );
    let big = h.allocate(layout(10 * MAX_CHUNK, 4096)).unwrap();
    assert_eq!(big.as_ptr().addr() % 4096, 0);
    h.check().unwrap();
}

#[test]
fn reset_reuses_the_same_memory() {
    let mut h = mmap_heap();
    let first = h.allocate(layout(64, 8)).unwrap();
    for _ in 0..10 {
        h.allocate(layout(1000, 8)).unwrap();
    }
    h.reset();
    h.check().unwrap();
    assert_eq!(h.stats().bytes_live, 0);
    assert_eq!(h.stats().blocks_live(), 0);
    assert_eq!(h.stats().blocks_forgotten, 11);
    let again = h.allocate(layout(64, 8)).unwrap();
    assert_eq!(first, again);
    assert!(h.owns(again));
}

#[test]
fn reset_keeps_spares_then_releases_unused_ones() {
    let mut h = mmap_heap();
    for _ in 0..100 {
        h.allocate(layout(60 * 1024, 8)).unwrap();
    }
    let (used, _) = h.chunk_counts();
    assert!(used > 2);
    h.reset();
    let (used_after, spare_after) = h.chunk_counts();
    assert_eq!(used_after, 1);
    assert_eq!(spare_after, used - 1);
    // An epoch that fits in one chunk leaves the spares unused: the next
    // reset gives them back to mmap.
    h.allocate(layout(100, 8)).unwrap();
    h.reset();
    assert_eq!(h.chunk_counts(), (1, 0));
    h.check().unwrap();
}

#[test]
fn reset_keeping_spares_keeps_the_unused_ones() {
    let mut h = mmap_heap();
    for _ in 0..100 {
        h.allocate(layout(60 * 1024, 8)).unwrap();
    }
    let (used, _) = h.chunk_counts();
    let reserved = h.stats().bytes_reserved;
    h.reset_keeping_spares();
    assert_eq!(h.chunk_counts(), (1, used - 1));
    // A small epoch leaves the spares unused; where `reset` would give them
    // back, this keeps them, and the large epoch after it maps nothing.
    h.allocate(layout(100, 8)).unwrap();
    h.reset_keeping_spares();
    assert_eq!(h.chunk_counts(), (1, used - 1));
    for _ in 0..100 {
        h.allocate(layout(60 * 1024, 8)).unwrap();
    }
    assert_eq!(h.stats().bytes_reserved, reserved, "the spares were reused");
    h.check().unwrap();
    // `reset_and_release` still gives everything back.
    h.reset_and_release();
    assert_eq!(h.chunk_counts(), (0, 0));
    assert_eq!(h.stats().bytes_reserved, 0);
}

#[test]
fn reset_with_a_source_that_keeps_memory_reuses_spares() {
    let mut h = region_heap(4 * 1024 * 1024);
    let mut first_round = Vec::new();
    for _ in 0..40 {
        first_round.push(h.allocate(layout(60 * 1024, 8)).unwrap());
    }
    let reserved = h.stats().bytes_reserved;
    for _ in 0..5 {
        h.reset();
        for _ in 0..40 {
            h.allocate(layout(60 * 1024, 8)).unwrap();
        }
        h.check().unwrap();
    }
    assert_eq!(
        h.stats().bytes_reserved,
        reserved,
        "steady state must not grow"
    );
}

#[test]
fn a_region_is_used_to_its_end() {
    let mut h = region_heap(256 * 1024);
    let mut n = 0usize;
    while h.allocate(layout(1024, 8)).is_some() {
        n += 1;
    }
    // Contiguous spans of the region are merged into one chunk, so only one
    // header and the final partial block are lost.
    assert!(n >= 250, "only {n} KiB of 256 used");
    h.check().unwrap();
}

#[test]
fn out_of_memory_is_clean_and_recoverable() {
    let mut h = region_heap(4096);
    assert!(h.allocate(layout(8192, 8)).is_none());
    assert!(h.allocate(layout(usize::MAX / 2, 1)).is_none());
    assert!(h.allocate(layout(1, 1 << 20)).is_none());
    let ok = h.allocate(layout(100, 8));
    assert!(ok.is_some());
    h.check().unwrap();
    assert_eq!(h.stats().allocations, 1);
}

#[test]
fn checkpoints_rewind_and_refuse_bad_marks() {
    let mut h = mmap_heap();
    let keep = h.allocate(layout(32, 8)).unwrap();
    let mark = h.checkpoint();
    for _ in 0..100 {
        h.allocate(layout(30 * 1024, 8)).unwrap();
    }
    h.rewind(mark).unwrap();
    h.check().unwrap();
    assert!(h.owns(keep));
    assert_eq!(h.stats().blocks_live(), 1);
    assert_eq!(h.stats().bytes_live, 32);
    let next = h.allocate(layout(8, 8)).unwrap();
    assert_eq!(next.as_ptr().addr(), keep.as_ptr().addr() + 32);
    // A mark taken after the one rewound to is past the top afterwards.
    h.allocate(layout(8, 8)).unwrap();
    let late = h.checkpoint();
    h.rewind(mark).unwrap();
    assert_eq!(h.rewind(late), Err(RewindError::NotInHeap));
    // A mark from another heap is refused.
    let mut other = region_heap(4096);
    other.allocate(layout(8, 8)).unwrap();
    assert_eq!(h.rewind(other.checkpoint()), Err(RewindError::NotInHeap));
    // A mark from before a reset is refused.
    h.reset();
    assert_eq!(h.rewind(mark), Err(RewindError::StaleEpoch));
    h.check().unwrap();
}

#[test]
fn rewind_to_an_empty_mark_frees_everything() {
    let mut h = region_heap(1 << 20);
    let mark = h.checkpoint();
    for _ in 0..10 {
        h.allocate(layout(50 * 1024, 8)).unwrap();
    }
    h.rewind(mark).unwrap();
    assert_eq!(h.chunk_counts().0, 0);
    h.check().unwrap();
    assert!(h.allocate(layout(8, 8)).is_some());
    h.check().unwrap();
}

#[test]
fn owns_only_handed_out_memory() {
    let mut h = region_heap(4096);
    let a = h.allocate(layout(16, 8)).unwrap();
    assert!(h.owns(a));
    let outside = 0u64;
    assert!(!h.owns(NonNull::from(&outside).cast()));
    // SAFETY: `a` is the live top block.
    unsafe { h.deallocate(a, layout(16, 8)) };
    assert!(!h.owns(a));
}

#[test]
fn zero_size_requests_are_served_without_moving() {
    let mut h = region_heap(4096);
    // On an empty heap: a dangling, aligned pointer, and no chunk taken.
    let first = h.allocate(layout(0, 16)).unwrap();
    assert_eq!(first.as_ptr().addr() % 16, 0);
    assert_eq!(h.stats().bytes_reserved, 0);
    // SAFETY: a zero-size block: freeing it changes nothing.
    unsafe { h.deallocate(first, layout(0, 16)) };
    h.check().unwrap();
    // Within a chunk: the current top, which does not move.
    h.allocate(layout(1, 1)).unwrap();
    let a = h.allocate(layout(0, 16)).unwrap();
    assert_eq!(a.as_ptr().addr() % 16, 0);
    let b = h.allocate(layout(8, 16)).unwrap();
    assert_eq!(a, b);
    // SAFETY: `a` is a zero-size block: freeing it changes nothing.
    unsafe { h.deallocate(a, layout(0, 16)) };
    h.check().unwrap();
    // A zero-size request with a huge alignment on an empty heap takes the
    // slow path and is still aligned.
    let mut e = region_heap(64 * 1024);
    let big = e.allocate(layout(0, 8192)).unwrap();
    assert_eq!(big.as_ptr().addr() % 8192, 0);
    e.check().unwrap();
}

#[test]
fn check_reports_a_corrupted_top() {
    let mut h = region_heap(4096);
    h.allocate(layout(8, 8)).unwrap();
    let saved = h.top;
    h.top = h.limit + 8;
    let err = h.check().unwrap_err();
    assert!(err.invariant.contains("top <= end"), "{err}");
    h.top = saved;
    h.check().unwrap();
}

#[test]
fn the_default_heap_counts_only_reserved_bytes() {
    let mut h: BumpHeap<MmapSource> = BumpHeap::with_source(MmapSource::new());
    let a = h.allocate(layout(16, 8)).unwrap();
    let b = h.allocate(layout(16, 8)).unwrap();
    // SAFETY: live blocks with these layouts.
    unsafe {
        h.deallocate(a, layout(16, 8));
        assert!(h.grow_in_place(b, layout(16, 8), layout(32, 8)));
    }
    let s = h.stats();
    assert!(!s.counting);
    assert_eq!(s.allocations, 0);
    assert_eq!(s.failed_deallocations, 0);
    assert_eq!(s.bytes_reserved, FIRST_CHUNK);
    h.check().unwrap();
    h.reset();
    h.check().unwrap();
}

#[test]
fn reset_and_release_gives_every_chunk_back() {
    let mut h = mmap_heap();
    for _ in 0..3 {
        h.allocate(layout(200 * 1024, 8)).unwrap();
    }
    assert!(h.stats().bytes_reserved >= 600 * 1024);
    let released = h.reset_and_release();
    assert!(released >= 600 * 1024);
    assert_eq!(h.stats().bytes_reserved, 0);
    h.check().unwrap();
    // Still usable.
    h.allocate(layout(64, 8)).unwrap();
    h.check().unwrap();
}
