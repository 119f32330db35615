//! Alignments and sizes at the edges of what a `Layout` can express.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use polyalloc_core::{Heap, LockedHeap};

use super::STRESS_DEFAULT_SOURCE;
use crate::candidate::Candidate;
use crate::checks::{consistent, free_all, layout, report};
use crate::fixture::{RegionFixture, default_heap};
use crate::live::{LiveSet, Outcome, counters_unchanged};

/// Region size for the tests of alignments above a page.
const BIG_ALIGN_REGION: usize = 4 * 1024 * 1024;

/// Alignments above a page (8 KiB to 1 MiB, and one-byte blocks at every
/// larger alignment a `Layout` allows) either work — the block is aligned,
/// writable and disjoint from the others — or fail cleanly; so do grows and
/// shrinks to a larger alignment.
///
/// # Panics
///
/// If a block is misaligned or overlaps, or the heap panics or breaks.
pub fn alignment_above_a_page<C: Candidate>() {
    if STRESS_DEFAULT_SOURCE {
        let heap = default_heap::<C>();
        report::<C>(
            "big alignments, default source",
            big_align_on(&heap, LiveSet::new()),
        );
    }
    let fixture = RegionFixture::<C>::new(BIG_ALIGN_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>("big alignments, region", big_align_on(fixture.heap(), live));
}

fn big_align_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    let baseline = heap.stats().blocks_live();
    for shift in 13..=20 {
        let align = 1usize << shift;
        for size in [1, 100, 4096, align] {
            let l = layout(size, align)?;
            if let Ok(block) = heap.allocate(l) {
                // SAFETY: a block just returned for `l`.
                unsafe { live.admit(block, l)? };
            }
            consistent(heap, &live, baseline)?;
        }
    }
    // One byte at every larger alignment a `Layout` allows (up to 2^62 on
    // 64-bit targets): no machine has room to pad for most of them.
    for shift in 21..usize::BITS - 1 {
        let l = layout(1, 1usize << shift)?;
        if let Ok(block) = heap.allocate(l) {
            // SAFETY: a block just returned for `l`.
            unsafe { live.admit(block, l)? };
        }
        consistent(heap, &live, baseline)?;
    }
    // Resizes to a larger alignment than the block had.
    for (size, new) in [(64, layout(128, 64 * 1024)?), (4096, layout(32, 8192)?)] {
        let l = layout(size, 8)?;
        let Ok(block) = heap.allocate(l) else {
            continue;
        };
        // SAFETY: a block just returned for `l`.
        let i = unsafe { live.admit(block, l)? };
        // SAFETY: block `i` is live with `l`.
        let result = unsafe {
            if new.size() >= size {
                heap.grow(block.cast(), l, new)
            } else {
                heap.shrink(block.cast(), l, new)
            }
        };
        if let Ok(moved) = result {
            // SAFETY: the block the resize of block `i` returned.
            unsafe { live.resized(i, moved, new)? };
        }
        consistent(heap, &live, baseline)?;
    }
    free_all(heap, &mut live, baseline)
}

/// Sizes near `isize::MAX` (the largest a `Layout` allows, for alignments
/// from 1 to 1 MiB) fail cleanly through `Allocator` and `GlobalAlloc`, a
/// grow to such a size fails and keeps the block, and a small request
/// succeeds afterwards.
///
/// # Panics
///
/// If a huge request succeeds (on 64-bit targets), or the heap panics or
/// breaks.
pub fn huge_sizes_fail_cleanly<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>("huge sizes, region", huge_on(fixture.heap(), live));
    if STRESS_DEFAULT_SOURCE {
        let heap = default_heap::<C>();
        report::<C>("huge sizes, default source", huge_on(&heap, LiveSet::new()));
    }
}

/// Sizes no 64-bit machine can serve, valid as `Layout`s with `align`.
fn huge_sizes(align: usize) -> Vec<usize> {
    let max = isize::MAX as usize;
    let mut sizes = vec![max - align + 1, max - 2 * align + 1];
    if cfg!(target_pointer_width = "64") {
        sizes.push(max / 2 + 1);
    }
    sizes
}

fn huge_on<H: Heap + Send>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    let baseline = heap.stats().blocks_live();
    let keep = layout(64, 8)?;
    let block = heap
        .allocate(keep)
        .map_err(|_| "64-byte request failed".to_owned())?;
    // SAFETY: a block just returned for `keep`.
    let i = unsafe { live.admit(block, keep)? };
    for align in [1, 8, 4096, 1 << 20] {
        for size in huge_sizes(align) {
            let l = layout(size, align)?;
            let before = heap.stats();
            expect_refused(heap, l, heap.allocate(l).ok())?;
            expect_refused(heap, l, heap.allocate_zeroed(l).ok())?;
            // SAFETY: `l` has a non-zero size.
            let raw = unsafe { GlobalAlloc::alloc(heap, l) };
            expect_refused(
                heap,
                l,
                NonNull::new(raw).map(|p| NonNull::slice_from_raw_parts(p, 0)),
            )?;
            let b = live.get(i);
            // SAFETY: block `i` is live with its layout; `l` is larger.
            let grown = unsafe { heap.grow(b.ptr, b.layout, l) }.ok();
            expect_refused(heap, l, grown)?;
            counters_unchanged("a huge request", &before, &heap.stats())?;
            consistent(heap, &live, baseline)?;
        }
    }
    let small = layout(16, 16)?;
    let block = heap
        .allocate(small)
        .map_err(|_| "a small request failed after huge ones".to_owned())?;
    // SAFETY: a block just returned for `small`.
    unsafe { live.admit(block, small)? };
    consistent(heap, &live, baseline)?;
    free_all(heap, &mut live, baseline)
}

/// A huge request must have failed; on a 32-bit target one that worked is
/// given back instead (it might be real there).
fn expect_refused<H: Heap>(heap: &LockedHeap<H>, l: Layout, got: Option<NonNull<[u8]>>) -> Outcome {
    let Some(block) = got else {
        return Ok(());
    };
    let addr = block.cast::<u8>().as_ptr().addr();
    if cfg!(target_pointer_width = "64") {
        return Err(format!("a request for {l:?} succeeded at {addr:#x}"));
    }
    if addr % l.align() != 0 {
        return Err(format!("huge block for {l:?} at {addr:#x} is misaligned"));
    }
    // SAFETY: the block was just returned for `l` and is not used.
    unsafe { heap.deallocate(block.cast(), l) };
    Ok(())
}

/// `GlobalAlloc::realloc` with a new size whose rounding to the alignment
/// overflows, or that no machine can serve, returns null and leaves the
/// block intact; an ordinary realloc afterwards works.
///
/// # Panics
///
/// If such a realloc does not return null, or changes the block or the heap.
pub fn realloc_overflow_returns_null<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>("realloc overflow, region", realloc_on(fixture.heap(), live));
    if STRESS_DEFAULT_SOURCE {
        let heap = default_heap::<C>();
        report::<C>(
            "realloc overflow, default source",
            realloc_on(&heap, LiveSet::new()),
        );
    }
}

fn realloc_on<H: Heap + Send>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    let baseline = heap.stats().blocks_live();
    let max = isize::MAX as usize;
    for align in [16usize, 4096] {
        let l = layout(48, align)?;
        // SAFETY: `l` has a non-zero size.
        let raw = unsafe { GlobalAlloc::alloc(heap, l) };
        let ptr = NonNull::new(raw).ok_or_else(|| format!("alloc of {l:?} returned null"))?;
        // SAFETY: a block just returned for `l`.
        let i = unsafe { live.admit(NonNull::slice_from_raw_parts(ptr, 48), l)? };
        let mut sizes = vec![
            usize::MAX,
            usize::MAX - align + 1,
            max,
            max - align + 2,
            max - align + 1,
        ];
        if cfg!(target_pointer_width = "64") {
            sizes.push(max / 2 + 1);
        }
        for new_size in sizes {
            let before = heap.stats();
            let b = live.get(i);
            // SAFETY: block `i` is live with `b.layout`; `new_size` is
            // non-zero. Sizes that round past `isize::MAX` break realloc's
            // contract on paper, but an allocator must still not corrupt
            // anything: the adapter checks the layout first.
            let got = unsafe { GlobalAlloc::realloc(heap, b.ptr.as_ptr(), b.layout, new_size) };
            if !got.is_null() {
                return Err(format!(
                    "realloc of {:?} to {new_size:#x} bytes returned {:#x}, not null",
                    b.layout,
                    got.addr()
                ));
            }
            counters_unchanged("a failed realloc", &before, &heap.stats())?;
            consistent(heap, &live, baseline)?;
        }
        for new_size in [96, 8] {
            let b = live.get(i);
            // SAFETY: block `i` is live with `b.layout`; `new_size` is
            // non-zero and small.
            let got = unsafe { GlobalAlloc::realloc(heap, b.ptr.as_ptr(), b.layout, new_size) };
            let moved = NonNull::new(got)
                .ok_or_else(|| format!("realloc of {:?} to {new_size} failed", b.layout))?;
            // SAFETY: the block the realloc of block `i` returned.
            unsafe {
                live.resized(
                    i,
                    NonNull::slice_from_raw_parts(moved, new_size),
                    layout(new_size, align)?,
                )?;
            }
            consistent(heap, &live, baseline)?;
        }
        let b = live.release(i)?;
        // SAFETY: the block is live with this layout and forgotten.
        unsafe { GlobalAlloc::dealloc(heap, b.ptr.as_ptr(), b.layout) };
        consistent(heap, &live, baseline)?;
    }
    Ok(())
}
