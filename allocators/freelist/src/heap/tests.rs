//! Unit tests of the free-list core over a caller's region: splitting,
//! coalescing, in-place resizing, span merging and release.

extern crate std;

use core::alloc::Layout;
use std::vec;
use std::vec::Vec;

use polyalloc_core::source::{MmapSource, RegionSource};
use polyalloc_core::{Counting, Heap};

use super::*;

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A region the heap can use, kept alive by the caller.
fn region(buf: &mut Vec<u128>) -> RegionSource {
    // SAFETY: `buf` outlives the heap built on the source in every test,
    // and is only used through it.
    unsafe { RegionSource::new(buf.as_mut_ptr().cast(), buf.len() * 16) }
}

#[test]
fn bins_cover_sizes_in_order() {
    // `bin_of` never goes down as sizes go up: so every block in a bin above
    // `bin_of(size)` is larger than `size`, which is what `find` relies on.
    let mut last = (0, 0);
    let mut first_of_bin = MIN_BLOCK;
    for size in (MIN_BLOCK..1 << 20).step_by(GRAN) {
        let bin = bin_of(size);
        assert!(bin >= last, "bin of {size} went down");
        assert!(bin.0 < FL_COUNT && bin.1 < SL_COUNT);
        if bin != last {
            first_of_bin = size;
        }
        // A bin spans at most 1/16 of its sizes (one size below `LINEAR`).
        assert!(size - first_of_bin <= size / SL_COUNT, "{size} in {bin:?}");
        last = bin;
    }
    assert!(bin_of(MAX_BLOCK).0 < FL_COUNT);
}

#[test]
fn bins_are_one_per_granule_then_sixteen_per_power_of_two() {
    // Both forms of `bin_of` (the host's, and wasm32's branch-free one)
    // against the definition.
    let reference = |size: usize| {
        if size < LINEAR {
            (0, size / GRAN)
        } else {
            let msb = (usize::BITS - 1 - size.leading_zeros()) as usize;
            let fl = msb - (LINEAR.trailing_zeros() as usize) + 1;
            (
                fl,
                (size >> (msb - SL_COUNT.trailing_zeros() as usize)) % SL_COUNT,
            )
        }
    };
    let mut sizes: Vec<usize> = (MIN_BLOCK..1 << 16).step_by(GRAN).collect();
    sizes.extend((4..usize::BITS - 1).flat_map(|k| {
        let p = 1usize << k;
        [p - GRAN, p, p + GRAN, p + p / 2]
    }));
    sizes.push(MAX_BLOCK);
    for size in sizes
        .into_iter()
        .filter(|s| (MIN_BLOCK..=MAX_BLOCK).contains(s))
    {
        assert_eq!(bin_of(size), reference(size), "size {size}");
        assert_eq!(bin_of_branch_free(size), reference(size), "size {size}");
    }
}

#[test]
fn frees_coalesce_back_into_one_block() {
    let mut buf = vec![0u128; 4096];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let blocks: Vec<_> = (0..20)
        .map(|i| heap.allocate(l(8 + i * 24, 8)).unwrap())
        .collect();
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 1);
    // Every other one, then the rest: each free merges with both sides.
    for (i, &b) in blocks.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        // SAFETY: `b` is live with this layout.
        unsafe { heap.deallocate(b, l(8 + i * 24, 8)) };
        heap.check().unwrap();
    }
    for (i, &b) in blocks.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        // SAFETY: as above.
        unsafe { heap.deallocate(b, l(8 + i * 24, 8)) };
        heap.check().unwrap();
    }
    let reserved = heap.stats().bytes_reserved;
    assert_eq!(heap.free_bytes(), reserved - SPAN_OVERHEAD);
    assert_eq!(heap.stats().bytes_live, 0);
    // The whole span is one block again: the largest request fits.
    let all = heap
        .allocate(l(reserved - SPAN_OVERHEAD - WORD, 8))
        .unwrap();
    heap.check().unwrap();
    // SAFETY: as above.
    unsafe { heap.deallocate(all, l(reserved - SPAN_OVERHEAD - WORD, 8)) };
}

#[test]
fn one_word_of_header_per_block() {
    let mut buf = vec![0u128; 4096];
    let mut heap = FreeListHeap::with_source(region(&mut buf));
    let a = heap.allocate(l(100, 8)).unwrap();
    let b = heap.allocate(l(100, 8)).unwrap();
    // 100 bytes + a header word, rounded to the granule.
    let expected = (100 + WORD).next_multiple_of(GRAN);
    assert_eq!(b.as_ptr().addr() - a.as_ptr().addr(), expected);
    let c = heap.allocate(l(1, 1)).unwrap();
    let d = heap.allocate(l(1, 1)).unwrap();
    assert_eq!(d.as_ptr().addr() - c.as_ptr().addr(), MIN_BLOCK);
}

#[test]
fn growth_into_a_free_neighbour_is_in_place() {
    let mut buf = vec![0u128; 8192];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let mut old = l(16, 8);
    let p = heap.allocate(old).unwrap();
    for size in [32, 100, 1000, 10_000, 60_000] {
        let new = l(size, 8);
        // SAFETY: `p` is live with `old`.
        assert!(unsafe { heap.grow_in_place(p, old, new) }, "grow to {size}");
        heap.check().unwrap();
        old = new;
    }
    // A block after it stops growth; a shrink gives the tail back.
    // SAFETY: as above.
    assert!(unsafe { heap.shrink_in_place(p, old, l(1000, 8)) });
    heap.check().unwrap();
    let q = heap.allocate(l(64, 8)).unwrap();
    assert!(q.as_ptr().addr() > p.as_ptr().addr());
    assert!(q.as_ptr().addr() < p.as_ptr().addr() + 2000);
    // SAFETY: as above.
    assert!(!unsafe { heap.grow_in_place(p, l(1000, 8), l(60_000, 8)) });
    heap.check().unwrap();
    assert_eq!(heap.stats().reallocations, 6);
}

#[test]
fn aligned_requests_leave_the_gap_free() {
    let mut buf = vec![0u128; 65536];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let mut live = Vec::new();
    for align in [32, 64, 256, 4096, 32768] {
        for size in [1, 24, 100, 5000] {
            let layout = l(size, align);
            let p = heap.allocate(layout).unwrap();
            assert_eq!(p.as_ptr().addr() % align, 0);
            heap.check().unwrap();
            live.push((p, layout));
        }
    }
    for (p, layout) in live {
        // SAFETY: live with this layout.
        unsafe { heap.deallocate(p, layout) };
        heap.check().unwrap();
    }
    assert_eq!(
        heap.free_bytes() + SPAN_OVERHEAD * heap.span_count(),
        heap.stats().bytes_reserved
    );
}

#[test]
fn contiguous_spans_merge_and_growth_continues_across_them() {
    let mut buf = vec![0u128; 1 << 16];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    // Fill more than one span's worth; spans from one region continue each
    // other, so they merge into one.
    let blocks: Vec<_> = (0..100)
        .map(|_| heap.allocate(l(4000, 8)).unwrap())
        .collect();
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 1);
    assert!(heap.stats().bytes_reserved > FIRST_SPAN * 4);
    // The newest block grows in place past the end of the span.
    let last = *blocks.last().unwrap();
    let free_at_end = heap.free_bytes();
    let new = l(4000 + free_at_end + 100_000, 8);
    // SAFETY: `last` is live with its layout.
    assert!(unsafe { heap.grow_in_place(last, l(4000, 8), new) });
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 1);
}

#[test]
fn empty_spans_go_back_to_a_source_that_takes_them() {
    let mut heap = FreeListHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let big = l(3 << 20, 8);
    let a = heap.allocate(big).unwrap();
    let b = heap.allocate(big).unwrap();
    assert_eq!(heap.span_count(), 2);
    // SAFETY: live with this layout.
    unsafe { heap.deallocate(a, big) };
    heap.check().unwrap();
    // Empty spans are kept for reuse, up to the recent peak in use (both
    // here: the heap held both a moment ago).
    assert_eq!(heap.span_count(), 2);
    // SAFETY: as above.
    unsafe { heap.deallocate(b, big) };
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 2);
    let reserved = heap.stats().bytes_reserved;
    let again = heap.allocate(big).unwrap();
    let twice = heap.allocate(big).unwrap();
    assert_eq!(
        heap.stats().bytes_reserved,
        reserved,
        "the kept spans are reused"
    );
    // SAFETY: as above.
    unsafe { heap.deallocate(again, big) };
    // SAFETY: as above.
    unsafe { heap.deallocate(twice, big) };
    // `trim` gives back what frees keep.
    assert_eq!(heap.trim(), reserved);
    assert_eq!(heap.span_count(), 0);
    assert_eq!(heap.stats().bytes_reserved, 0);
    heap.check().unwrap();
    let small = heap.allocate(l(100, 8)).unwrap();
    // SAFETY: as above.
    unsafe { heap.deallocate(small, l(100, 8)) };
}

#[test]
fn reset_frees_every_span_and_owns_nothing() {
    let mut buf = vec![0u128; 1 << 15];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let p = heap.allocate(l(300, 8)).unwrap();
    let _q = heap.allocate(l(70_000, 8)).unwrap();
    assert!(heap.owns(p));
    heap.reset();
    heap.check().unwrap();
    assert!(!heap.owns(p));
    assert_eq!(heap.stats().bytes_live, 0);
    assert_eq!(
        heap.free_bytes() + SPAN_OVERHEAD * heap.span_count(),
        heap.stats().bytes_reserved
    );
}

#[test]
fn reset_empties_every_bin_the_bitmaps_name() {
    // Blocks of many sizes, every other one freed: free blocks in many
    // bins of many rows, each kept apart by a live neighbour.
    let mut buf = vec![0u128; 1 << 16];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let sizes = (0..120).map(|i| 16 + i * 37 + (i % 7) * 1000);
    let blocks: Vec<_> = sizes
        .map(|size| (heap.allocate(l(size, 8)).unwrap(), size))
        .collect();
    for &(p, size) in blocks.iter().step_by(2) {
        // SAFETY: live with this layout.
        unsafe { heap.deallocate(p, l(size, 8)) };
    }
    heap.check().unwrap();
    let rows = heap.fl_bitmap.count_ones();
    let bins: u32 = heap.sl_bitmap.iter().map(|b| b.count_ones()).sum();
    assert!(rows >= 4 && bins >= 20, "{rows} rows, {bins} bins in use");

    heap.reset();
    heap.check().unwrap();
    // Only the spans' own blocks are binned again: every other head is
    // null, as its bit says.
    let spans = heap.span_count() as u32;
    let bins: u32 = heap.sl_bitmap.iter().map(|b| b.count_ones()).sum();
    assert!(
        bins <= spans,
        "{bins} bins in use after a reset of {spans} span(s)"
    );
    let heads = heap.heads.iter().flatten().filter(|h| !h.is_null()).count() as u32;
    assert_eq!(heads, bins, "a head is left where its bit is clear");
    assert_eq!(
        heap.free_bytes() + SPAN_OVERHEAD * heap.span_count(),
        heap.stats().bytes_reserved
    );
    // The whole region is usable again.
    let big = l(heap.stats().bytes_reserved - SPAN_OVERHEAD - 64, 8);
    assert!(heap.allocate(big).is_some());
}

#[test]
fn a_request_near_the_whole_region_fits_after_frees() {
    let mut buf = vec![0u128; 4096];
    let len = buf.len() * 16;
    let mut heap = FreeListHeap::counting(region(&mut buf));
    let small: Vec<_> = (0..50).map(|_| heap.allocate(l(200, 8)).unwrap()).collect();
    for p in small {
        // SAFETY: live with this layout.
        unsafe { heap.deallocate(p, l(200, 8)) };
    }
    heap.check().unwrap();
    let most = l(len - SPAN_OVERHEAD - WORD - 4096, 8);
    let p = heap.allocate(most);
    assert!(p.is_some(), "{heap:?}");
    assert!(heap.allocate(l(len, 8)).is_none());
    heap.check().unwrap();
}

#[test]
fn runs_of_allocations_carve_the_victim_and_frees_merge_into_it() {
    let mut buf = vec![0u128; 4096];
    let mut heap = FreeListHeap::counting(region(&mut buf));
    // The first allocation splits the span's block; its remainder becomes
    // the victim, and the next allocations carve it in address order.
    let blocks: Vec<_> = (0..8).map(|_| heap.allocate(l(40, 8)).unwrap()).collect();
    for pair in blocks.windows(2) {
        assert_eq!(pair[1].as_ptr().addr() - pair[0].as_ptr().addr(), 48);
    }
    assert!(!heap.dv.is_null());
    let victim = heap.dv_size;
    heap.check().unwrap();
    // Freeing the block next to the victim merges into it.
    let last = *blocks.last().unwrap();
    // SAFETY: live with this layout.
    unsafe { heap.deallocate(last, l(40, 8)) };
    heap.check().unwrap();
    assert_eq!(heap.dv_size, victim + 48);
    // A free block smaller than the victim is preferred to it: better fit.
    // SAFETY: as above.
    unsafe { heap.deallocate(blocks[2], l(40, 8)) };
    let again = heap.allocate(l(33, 8)).unwrap();
    assert_eq!(again, blocks[2]);
    heap.check().unwrap();
}

#[test]
fn a_large_heap_freed_and_refilled_each_round_takes_nothing_new() {
    // 16 MiB in use, all freed at the end of each round: under a fixed
    // 4 MiB of kept spans, every round would map (and fault in) 12 MiB anew.
    let mut heap = FreeListHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let block = l(512 * 1024, 8);
    let mut reserved_after_first = 0;
    for round in 0..5 {
        let blocks: Vec<_> = (0..32).map(|_| heap.allocate(block).unwrap()).collect();
        if round == 0 {
            reserved_after_first = heap.stats().bytes_reserved;
        }
        assert_eq!(
            heap.stats().bytes_reserved,
            reserved_after_first,
            "round {round} took more"
        );
        for b in blocks {
            // SAFETY: live with this layout.
            unsafe { heap.deallocate(b, block) };
        }
        heap.check().unwrap();
    }
    assert!(heap.trim() >= 16 << 20);
    assert_eq!(heap.stats().bytes_reserved, 0);
}

#[test]
fn a_request_no_empty_span_fits_gives_those_spans_back_first() {
    // A `Vec` that doubles past the span size: its 32 KiB buffer lives in a
    // 64 KiB span, and its 64 KiB buffer (a 65,552-byte block) fits no
    // 64 KiB span. Once the smaller buffer is freed its span is empty and
    // of no use to the larger: the heap gives it back before growing
    // rather than holding both.
    let mut heap = FreeListHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let half = l(32 * 1024, 8);
    let p = heap.allocate(half).unwrap();
    assert_eq!(heap.stats().bytes_reserved, FIRST_SPAN);
    // SAFETY: live with this layout.
    unsafe { heap.deallocate(p, half) };
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 1, "an empty span is kept for reuse");
    let whole = l(64 * 1024, 8);
    let q = heap.allocate(whole).unwrap();
    heap.check().unwrap();
    assert_eq!(heap.span_count(), 1, "{heap:?}");
    let reserved = heap.stats().bytes_reserved;
    assert!(
        reserved < 2 * FIRST_SPAN,
        "{reserved} bytes held for one 64 KiB block"
    );
    // A span that still fits the request is kept: the next one reuses it.
    // SAFETY: as above.
    unsafe { heap.deallocate(q, whole) };
    let r = heap.allocate(whole).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    // SAFETY: as above.
    unsafe { heap.deallocate(r, whole) };
    heap.check().unwrap();
}

#[test]
fn the_walk_finds_a_free_block_in_a_row_its_bitmap_calls_empty() {
    let mut buf = vec![0u128; 1 << 14];
    let mut heap = FreeListHeap::with_source(region(&mut buf));
    // A free block with a live neighbour after it, so it stays in a bin.
    let a = heap.allocate(l(100, 8)).unwrap();
    let b = heap.allocate(l(100, 8)).unwrap();
    // SAFETY: `a` is live with this layout.
    unsafe { heap.deallocate(a, l(100, 8)) };
    heap.check().unwrap();
    assert_ne!(heap.fl_bitmap, 0, "the freed block is in a bin");
    let fl = heap.fl_bitmap.trailing_zeros() as usize;
    let sl = heap.sl_bitmap[fl].trailing_zeros() as usize;
    // The walk passes over a row its bitmap calls empty with one test:
    // that test must still see a head left there.
    let empty = (0..FL_COUNT)
        .rev()
        .find(|&r| heap.sl_bitmap[r] == 0)
        .unwrap();
    heap.heads[empty][3] = heap.heads[fl][sl];
    let err = heap.check().unwrap_err();
    assert_eq!(
        err.invariant,
        "6: sl_bitmap marks exactly the non-empty bins"
    );
    assert_eq!(err.at, empty);
    heap.heads[empty][3] = core::ptr::null_mut();
    heap.check().unwrap();
    // SAFETY: `b` is live with this layout.
    unsafe { heap.deallocate(b, l(100, 8)) };
    heap.check().unwrap();
}

#[test]
fn the_walk_catches_a_list_entry_outside_every_span() {
    let mut buf = vec![0u128; 1 << 14];
    let other = vec![0u128; 64];
    let mut heap = FreeListHeap::with_source(region(&mut buf));
    // A free block with a live neighbour after it, so it stays in a bin.
    let a = heap.allocate(l(100, 8)).unwrap();
    let b = heap.allocate(l(100, 8)).unwrap();
    // SAFETY: `a` is live with this layout.
    unsafe { heap.deallocate(a, l(100, 8)) };
    heap.check().unwrap();
    let fl = heap.fl_bitmap.trailing_zeros() as usize;
    let sl = heap.sl_bitmap[fl].trailing_zeros() as usize;
    let entry = heap.heads[fl][sl];
    let span = heap.spans.cast::<u8>();
    // Each looks like a block header (a multiple of GRAN plus a word): in
    // another buffer, in the span's own header, and past the span's fence.
    // SAFETY: `len` is the live span's length.
    let len = unsafe { (*heap.spans).len };
    for bad in [
        other.as_ptr().cast::<u8>().cast_mut().wrapping_add(WORD),
        span.wrapping_add(WORD),
        span.wrapping_add(len + WORD),
    ] {
        // SAFETY: a deliberate corruption of a free block's link, undone
        // below; the walk must report it without following it.
        unsafe { set_next_free(entry, bad) };
        let err = heap.check().unwrap_err();
        assert_eq!(err.invariant, "5: list entries are block headers in a span");
        assert_eq!(err.at, bad.addr());
    }
    // SAFETY: the block was its bin's only entry.
    unsafe { set_next_free(entry, core::ptr::null_mut()) };
    heap.check().unwrap();
    // SAFETY: `b` is live with this layout.
    unsafe { heap.deallocate(b, l(100, 8)) };
    heap.check().unwrap();
}
