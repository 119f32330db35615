//! Running out of memory, failed grows, and getting memory back by freeing
//! and by reset.

use core::alloc::{GlobalAlloc, Layout};

use allocator_api2::alloc::Allocator;
use polyalloc_core::{Heap, LockedHeap};

use super::STRESS_DEFAULT_SOURCE;
use crate::candidate::Candidate;
use crate::checks::{consistent, free_all, layout, report};
use crate::fixture::{RegionFixture, default_heap};
use crate::live::{LiveSet, Outcome, counters_unchanged};

/// Over a small region: a request larger than the region fails (`Err`, or
/// null through `GlobalAlloc`) and a smaller one succeeds afterwards; filling
/// the region with 1 KiB blocks ends in a clean failure with every block
/// intact; once they are freed (and the heap reset, for a strategy whose
/// frees do not always reuse memory) the region fills again.
///
/// # Panics
///
/// If the heap hands out more than the region, panics, or breaks.
pub fn out_of_memory_on_a_small_region<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "out of memory, region",
        oom_on(fixture.heap(), live, C::SMALL_REGION, C::FREES_REUSE_MEMORY),
    );
}

/// Allocates `l` until it fails, checking each block; returns how many fit.
fn fill<H: Heap>(
    heap: &LockedHeap<H>,
    live: &mut LiveSet,
    l: Layout,
    region: usize,
    baseline: u64,
) -> Outcome<usize> {
    let limit = region / l.size() + 1;
    let mut count = 0;
    while let Ok(block) = heap.allocate(l) {
        // SAFETY: a block just returned for `l`.
        unsafe { live.admit(block, l)? };
        count += 1;
        if count > limit {
            return Err(format!(
                "{count} blocks of {l:?} fit in a {region}-byte region"
            ));
        }
    }
    consistent(heap, live, baseline)?;
    if count == 0 {
        return Err(format!(
            "not one block of {l:?} fit in a {region}-byte region"
        ));
    }
    Ok(count)
}

fn oom_on<H: Heap + Send>(
    heap: &LockedHeap<H>,
    mut live: LiveSet,
    region: usize,
    reuse: bool,
) -> Outcome {
    let baseline = heap.stats().blocks_live();
    for too_big in [layout(region * 4, 8)?, layout(region * 4, 4096)?] {
        let before = heap.stats();
        if heap.allocate(too_big).is_ok() {
            return Err(format!("{too_big:?} succeeded in a {region}-byte region"));
        }
        // SAFETY: the layout has a non-zero size.
        if !unsafe { GlobalAlloc::alloc(heap, too_big) }.is_null() {
            return Err(format!(
                "GlobalAlloc::alloc({too_big:?}) succeeded in a {region}-byte region"
            ));
        }
        counters_unchanged("a request larger than the region", &before, &heap.stats())?;
        consistent(heap, &live, baseline)?;
        let small = layout(64, 8)?;
        let block = heap
            .allocate(small)
            .map_err(|_| format!("a 64-byte request failed after a failed {too_big:?}"))?;
        // SAFETY: a block just returned for `small`.
        unsafe { live.admit(block, small)? };
        consistent(heap, &live, baseline)?;
    }
    let kib = layout(1024, 8)?;
    let first = fill(heap, &mut live, kib, region, baseline)?;
    free_all(heap, &mut live, baseline)?;
    if !reuse {
        // SAFETY: no block of this heap is live.
        unsafe { heap.reset() };
    }
    let baseline = heap.stats().blocks_live();
    consistent(heap, &live, baseline)?;
    let again = fill(heap, &mut live, kib, region, baseline)?;
    if again < first {
        return Err(format!(
            "{first} blocks of 1 KiB fit at first, only {again} after freeing them all"
        ));
    }
    free_all(heap, &mut live, baseline)
}

/// A grow that cannot be served (larger than the region, near `isize::MAX`,
/// through `Allocator` or `GlobalAlloc::realloc`) fails and leaves the block
/// live with its contents, whether or not it is the newest block; a grow
/// that fits works afterwards.
///
/// # Panics
///
/// If a failed grow changes the block or the heap, or the heap panics.
pub fn failed_grow_keeps_the_block<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "failed grow, region",
        failed_grow_on(fixture.heap(), live, Some(C::SMALL_REGION)),
    );
    if !STRESS_DEFAULT_SOURCE {
        return;
    }
    let heap = default_heap::<C>();
    report::<C>(
        "failed grow, default source",
        failed_grow_on(&heap, LiveSet::new(), None),
    );
}

fn failed_grow_on<H: Heap + Send>(
    heap: &LockedHeap<H>,
    mut live: LiveSet,
    region: Option<usize>,
) -> Outcome {
    let baseline = heap.stats().blocks_live();
    let kib = layout(1024, 8)?;
    for _ in 0..2 {
        let block = heap
            .allocate(kib)
            .map_err(|_| "1 KiB request failed".to_owned())?;
        // SAFETY: a block just returned for `kib`.
        unsafe { live.admit(block, kib)? };
    }
    let mut too_big = vec![
        layout(isize::MAX as usize - 7, 8)?,
        layout(isize::MAX as usize - 4095, 4096)?,
    ];
    if let Some(region) = region {
        too_big.push(layout(region * 4, 8)?);
        too_big.push(layout(region * 4, 4096)?);
    }
    // Block 0 has a block after it, block 1 is the newest.
    for i in [0, 1] {
        for &new in &too_big {
            let before = heap.stats();
            let b = live.get(i);
            // SAFETY: block `i` is live with its layout; `new` is larger.
            if let Ok(moved) = unsafe { heap.grow(b.ptr, b.layout, new) } {
                return Err(format!(
                    "grow of {:?} to {new:?} succeeded at {:#x}",
                    b.layout,
                    moved.cast::<u8>().as_ptr().addr()
                ));
            }
            // SAFETY: as above, with the same alignment.
            let raw = unsafe { GlobalAlloc::realloc(heap, b.ptr.as_ptr(), b.layout, new.size()) };
            if !raw.is_null() {
                return Err(format!(
                    "realloc of {:?} to {} bytes succeeded",
                    b.layout,
                    new.size()
                ));
            }
            counters_unchanged("a failed grow", &before, &heap.stats())?;
            consistent(heap, &live, baseline)?;
        }
    }
    // Grows that fit, for the older block and the newest.
    for (i, size) in [(0, 2048), (1, 3000)] {
        let b = live.get(i);
        let new = layout(size, 8)?;
        // SAFETY: block `i` is live with its layout; `new` is larger.
        let moved = unsafe { heap.grow(b.ptr, b.layout, new) }.map_err(|_| {
            format!(
                "grow of {:?} to {new:?} failed after failed grows",
                b.layout
            )
        })?;
        // SAFETY: the block the grow of block `i` returned.
        unsafe { live.resized(i, moved, new)? };
        consistent(heap, &live, baseline)?;
    }
    // A shrink to an alignment the block may not have: works or fails
    // cleanly.
    let b = live.get(0);
    let new = layout(16, 1 << 20)?;
    // SAFETY: block 0 is live with its layout; `new` is smaller.
    if let Ok(moved) = unsafe { heap.shrink(b.ptr, b.layout, new) } {
        // SAFETY: the block the shrink of block 0 returned.
        unsafe { live.resized(0, moved, new)? };
    }
    consistent(heap, &live, baseline)?;
    free_all(heap, &mut live, baseline)
}

/// Filling a small region, resetting and filling again: a reset gives back
/// every block's memory, three times over.
///
/// # Panics
///
/// If fewer blocks fit after a reset than at first, or the counters do not
/// return to zero live bytes.
pub fn reset_reclaims_memory<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "reset, region",
        reset_on(fixture.heap(), live, C::SMALL_REGION),
    );
}

fn reset_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet, region: usize) -> Outcome {
    let mut baseline = heap.stats().blocks_live();
    let mut first = None;
    for size in [1024, 1024, 200, 1024] {
        let l = layout(size, 8)?;
        let count = fill(heap, &mut live, l, region, baseline)?;
        if size == 1024 {
            let first = *first.get_or_insert(count);
            if count < first {
                return Err(format!(
                    "{first} blocks of 1 KiB fit at first, only {count} after a reset"
                ));
            }
        }
        live.clear();
        // SAFETY: the blocks are forgotten and nothing else uses this heap.
        unsafe { heap.reset() };
        baseline = heap.stats().blocks_live();
        consistent(heap, &live, baseline)?;
    }
    Ok(())
}

/// Allocating and freeing one block over and over, of sizes up to a quarter
/// of a small region, with or without an older block in front, never runs
/// out: a strategy must reuse a block freed right after it was made.
///
/// # Panics
///
/// If one of the cycles fails.
pub fn alloc_free_cycles_do_not_leak<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "alloc/free cycles, region",
        cycles_on(fixture.heap(), live, C::SMALL_REGION),
    );
}

fn cycles_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet, region: usize) -> Outcome {
    let baseline = heap.stats().blocks_live();
    for keep_one in [false, true] {
        if keep_one {
            let l = layout(100, 8)?;
            let block = heap
                .allocate(l)
                .map_err(|_| "100-byte request failed".to_owned())?;
            // SAFETY: a block just returned for `l`.
            unsafe { live.admit(block, l)? };
        }
        for (size, align) in [(1, 1), (24, 8), (1000, 64), (region / 4, 16)] {
            let l = layout(size, align)?;
            let rounds = (8 * region / size.max(64)).min(1000);
            for round in 0..rounds {
                let block = heap.allocate(l).map_err(|_| {
                    format!("allocate {l:?} failed on cycle {round}: freed memory leaks")
                })?;
                // SAFETY: a block just returned for `l`.
                let i = unsafe { live.admit(block, l)? };
                let b = live.release(i)?;
                // SAFETY: the block is live with this layout and forgotten.
                unsafe { heap.deallocate(b.ptr, b.layout) };
            }
            consistent(heap, &live, baseline)?;
        }
    }
    free_all(heap, &mut live, baseline)
}

/// For a strategy whose frees always reuse memory: rounds of filling a
/// quarter of a small region with mixed sizes and freeing it all in a
/// scrambled order never run out. Does nothing for other strategies.
///
/// # Panics
///
/// If a round fails.
pub fn freed_memory_is_reused<C: Candidate>() {
    if !C::FREES_REUSE_MEMORY {
        return;
    }
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "reuse, region",
        reuse_on(fixture.heap(), live, C::SMALL_REGION),
    );
}

fn reuse_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet, region: usize) -> Outcome {
    let baseline = heap.stats().blocks_live();
    let sizes = [16usize, 200, 1000, 48, 3000, 8, 512];
    for round in 0..50 {
        let mut n = round;
        while live.bytes() < region / 4 {
            let l = layout(sizes[n % sizes.len()], 8 << (n % 3))?;
            n += 1;
            let block = heap.allocate(l).map_err(|_| {
                format!(
                    "round {round}: {l:?} failed with {} bytes live",
                    live.bytes()
                )
            })?;
            // SAFETY: a block just returned for `l`.
            unsafe { live.admit(block, l)? };
        }
        consistent(heap, &live, baseline)?;
        // Free every third block from a moving start, then the rest.
        let mut i = round % live.len();
        while !live.is_empty() {
            i = (i + 3) % live.len();
            let b = live.release(i)?;
            // SAFETY: the block is live with this layout and forgotten.
            unsafe { heap.deallocate(b.ptr, b.layout) };
        }
        consistent(heap, &live, baseline)?;
    }
    Ok(())
}
