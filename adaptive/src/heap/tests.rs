extern crate std;

use std::vec::Vec;

use super::*;

use polyalloc_core::source::MmapSource;

type Test = AdaptiveHeap<MmapSource>;

fn heap() -> Test {
    AdaptiveHeap::with_source(MmapSource::new())
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Allocates `size` bytes and fills them with `tag`.
fn alloc(h: &mut Test, size: usize, tag: u8) -> NonNull<u8> {
    let p = h.allocate(layout(size)).expect("allocation");
    // SAFETY: a fresh block of `size` bytes.
    unsafe { p.as_ptr().write_bytes(tag, size) };
    p
}

/// Checks the fill and frees.
fn free(h: &mut Test, p: NonNull<u8>, size: usize, tag: u8) {
    // SAFETY: `p` is a live block of `size` bytes filled with `tag`.
    let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), size) };
    assert!(bytes.iter().all(|&b| b == tag), "block corrupted");
    // SAFETY: as above.
    unsafe { h.deallocate(p, layout(size)) };
    h.check().unwrap();
}

/// Allocates pairs and frees the first of each: every free is out of
/// order, and half the bytes stay live.
fn churn(h: &mut Test, size: usize, pairs: usize) -> Vec<(NonNull<u8>, u8)> {
    let mut kept = Vec::new();
    for i in 0..pairs {
        let tag = (i % 200) as u8 + 2;
        let a = alloc(h, size, 1);
        let b = alloc(h, size, tag);
        free(h, a, size, 1);
        kept.push((b, tag));
    }
    kept
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn starts_on_bump_and_orderly_frees_stay_there() {
    let mut h = heap();
    assert_eq!(h.decision(), Decision::START);
    for _ in 0..10_000 {
        let p = alloc(&mut h, 1000, 7);
        free(&mut h, p, 1000, 7);
    }
    assert_eq!(h.strategy(), Strategy::Bump);
    assert_eq!(h.invocation().failed_deallocations, 0);
    assert_eq!(h.invocation().out_of_order_frees, 0);
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn waste_past_the_thresholds_switches_mid_invocation_and_loses_nothing() {
    let mut h = heap();
    let floor = h.policy().min_waste;
    let size = 1024;
    // Each pair wastes `size` bytes under bump and keeps `size` live: the
    // switch comes once the waste reaches the floor.
    let pairs_to_switch = floor / size;
    let kept = churn(&mut h, size, pairs_to_switch - 1);
    assert_eq!(h.strategy(), Strategy::Bump, "below the floor");
    let more = churn(&mut h, size, 1);
    assert_eq!(h.strategy(), Strategy::FreeList);
    assert_eq!(h.decision().reason, Reason::Waste);
    assert_eq!(h.switches(), 1);
    assert_eq!(
        h.invocation().failed_deallocations as usize,
        pairs_to_switch
    );
    // New blocks come from the free list; old ones are still bump's.
    let p = alloc(&mut h, size, 0xEE);
    assert!(h.live_blocks(Strategy::FreeList) == 1);
    assert_eq!(h.live_blocks(Strategy::Bump), pairs_to_switch);
    for (b, tag) in kept.into_iter().chain(more) {
        free(&mut h, b, size, tag);
    }
    assert_eq!(h.live_blocks(Strategy::Bump), 0);
    free(&mut h, p, size, 0xEE);
    assert_eq!(h.stats().bytes_live, 0);
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn large_powers_of_two_go_to_buddy() {
    let mut h = heap();
    let size = 64 * 1024;
    let kept = churn(&mut h, size, 300);
    assert_eq!(h.strategy(), Strategy::Buddy);
    assert_eq!(h.decision().reason, Reason::Waste);
    for (b, tag) in kept {
        free(&mut h, b, size, tag);
    }
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn small_requests_go_to_slab() {
    let mut h = heap();
    let size = 48;
    let pairs = h.policy().min_waste / size + 1;
    let kept = churn(&mut h, size, pairs);
    assert_eq!(h.strategy(), Strategy::Slab);
    assert_eq!(h.decision().reason, Reason::Waste);
    let p = alloc(&mut h, 48, 0x77);
    assert_eq!(h.live_blocks(Strategy::Slab), 1);
    free(&mut h, p, 48, 0x77);
    for (b, tag) in kept {
        free(&mut h, b, size, tag);
    }
    assert_eq!(h.stats().bytes_live, 0);
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn live_bytes_raise_the_bar() {
    // A function that keeps most of what it allocates wastes little
    // relative to what it uses: it stays on bump longer.
    let mut h = heap();
    let size = 1024;
    let mut kept = Vec::new();
    for i in 0..2000 {
        kept.push(alloc(&mut h, size, 3));
        if i % 4 == 0 {
            let a = alloc(&mut h, size, 4);
            kept.push(alloc(&mut h, size, 3));
            free(&mut h, a, size, 4);
        }
    }
    // 500 KiB wasted, 2.5 MiB live: still bump.
    assert_eq!(h.strategy(), Strategy::Bump);
    for b in kept {
        free(&mut h, b, size, 3);
    }
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn a_review_corrects_the_choice_when_sizes_change() {
    let mut h = heap();
    h.set_policy(Policy {
        review_every: 1024,
        ..Policy::DEFAULT
    });
    h.force(Strategy::FreeList);
    assert_eq!(h.decision().reason, Reason::Forced);
    let size = 32 * 1024;
    let mut live = Vec::new();
    for _ in 0..1100 {
        live.push(alloc(&mut h, size, 9));
        if live.len() > 8 {
            let p = live.remove(0);
            free(&mut h, p, size, 9);
        }
    }
    assert_eq!(h.strategy(), Strategy::Buddy);
    assert_eq!(h.decision().reason, Reason::Review);
    for p in live {
        free(&mut h, p, size, 9);
    }
}

/// Checks that the review's window (`window`, summed from the counters in
/// one pass) is what `Policy::choose` reads of the totals less the mark,
/// that window built as a `Usage` field by field; below `min_sample` the
/// window skips the buckets, and both must decline to choose.
fn check_window(h: &Test, what: &str) {
    let t = h.totals();
    let mut w = t;
    w.allocations = t.allocations - h.mark.allocations;
    w.near_power_of_two = t.near_power_of_two - h.mark.near_power_of_two;
    for (b, n) in w.histogram.iter_mut().enumerate() {
        *n -= h.mark.histogram[b];
    }
    let policy = h.policy();
    let window = h.window::<LIVE>();
    assert_eq!(policy.choose_from(&window), policy.choose(&w), "{what}");
    if w.allocations >= policy.min_sample {
        assert_eq!(window, policy.sample(&w), "{what}");
    } else {
        assert_eq!(window.allocations, w.allocations, "{what}");
    }
    if h.invocation == Usage::ZERO {
        // The end of an invocation reads the past alone: the same window.
        assert_eq!(h.window::<SETTLED>(), window, "{what}: settled");
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of fills up to a megabyte: too slow under Miri"
)]
fn the_review_window_is_the_totals_less_the_mark() {
    let mut h = heap();
    h.force(Strategy::FreeList);
    // Every bucket the policy sums and some it skips: small, between, large
    // and near a power of two, large and not.
    let sizes = [1, 8, 200, 256, 257, 3000, 4096, 5000, 65536, 1 << 20];
    for round in 0..3 {
        for (i, &size) in sizes.iter().enumerate() {
            for _ in 0..(i + 1) * (round + 5) {
                let p = alloc(&mut h, size, 3);
                free(&mut h, p, size, 3);
            }
            check_window(&h, &std::format!("round {round}, size {size}"));
        }
        let before = h.mark.allocations;
        // The end of the invocation reviews: enough allocations to judge,
        // so the mark moves (a confirmed choice or a switch).
        h.end_invocation();
        assert_ne!(h.mark.allocations, before, "round {round}: no review");
        // The mark the end of the invocation set from the past alone is the
        // one the live counters give.
        let settled = h.mark;
        h.mark_now::<LIVE>();
        assert_eq!(h.mark, settled, "round {round}: settled mark");
        assert_eq!(h.window::<LIVE>().allocations, 0);
        check_window(&h, &std::format!("round {round}, after the review"));
    }
}

#[test]
fn a_pure_function_that_turns_orderly_goes_back_to_bump() {
    let mut h = heap();
    h.set_stateful(false);
    h.force(Strategy::FreeList);
    for _ in 0..100 {
        let p = alloc(&mut h, 100, 1);
        free(&mut h, p, 100, 1);
    }
    h.end_invocation();
    assert_eq!(h.strategy(), Strategy::Bump);
    assert_eq!(h.decision().reason, Reason::Ordered);
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn a_pure_functions_peak_memory_stays_flat_over_10_000_invocations() {
    let mut h = heap();
    h.set_stateful(false);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut reserved_after = Vec::new();
    for inv in 0..10_000 {
        let mut live: Vec<(NonNull<u8>, usize)> = Vec::new();
        for _ in 0..40 {
            let size = 16 + (next() % 4000) as usize;
            live.push((alloc(&mut h, size, 5), size));
            if next() % 3 == 0 {
                let i = (next() as usize) % live.len();
                let (p, s) = live.swap_remove(i);
                free(&mut h, p, s, 5);
            }
        }
        // A pure function leaves the rest for the end of the invocation.
        h.end_invocation();
        if inv == 99 || inv == 9_999 {
            reserved_after.push(h.stats().bytes_reserved);
        }
    }
    assert_eq!(h.invocations(), 10_000);
    assert_eq!(
        reserved_after[0], reserved_after[1],
        "memory grew across invocations"
    );
}

#[test]
fn a_stateful_function_keeps_its_data_across_invocations() {
    let mut h = heap();
    assert!(h.is_stateful(), "stateful is the default");
    let p = alloc(&mut h, 4096, 0x5A);
    h.end_invocation();
    let q = alloc(&mut h, 4096, 0xA5);
    h.end_invocation();
    free(&mut h, p, 4096, 0x5A);
    free(&mut h, q, 4096, 0xA5);
    assert_eq!(h.stats().blocks_forgotten, 0);
}

#[test]
fn init_phase_blocks_survive_a_pure_invocations_end() {
    let mut h = heap();
    h.set_stateful(false);
    h.begin_init();
    assert_eq!(h.phase(), Phase::Init);
    let config = alloc(&mut h, 300, 0x11);
    h.end_init();
    assert_eq!(h.init_live_blocks(), 1);
    for _ in 0..3 {
        let run = alloc(&mut h, 300, 0x22);
        let _ = run;
        h.end_invocation();
    }
    assert_eq!(h.stats().blocks_forgotten, 3);
    free(&mut h, config, 300, 0x11);
    assert_eq!(h.init_live_blocks(), 0);
}

#[test]
#[cfg_attr(miri, ignore = "thousands of kilobyte fills: too slow under Miri")]
fn a_record_carries_the_decision_to_the_next_instance() {
    let mut first = heap();
    let kept = churn(&mut first, 1024, 400);
    assert_eq!(first.strategy(), Strategy::FreeList);
    for (b, tag) in kept {
        free(&mut first, b, 1024, tag);
    }
    first.end_invocation();
    let bytes = first.record().to_bytes();

    let mut next = heap();
    let record = next.load_record(&bytes).unwrap();
    assert_eq!(record.decision.strategy, Strategy::FreeList);
    assert_eq!(next.strategy(), Strategy::FreeList);
    assert_eq!(next.decision().reason, Reason::Record);
    assert_eq!(next.invocations(), 1);
    let p = alloc(&mut next, 64, 1);
    assert_eq!(next.live_blocks(Strategy::FreeList), 1);
    free(&mut next, p, 64, 1);
}

#[test]
fn a_bad_record_is_refused_and_the_heap_starts_from_defaults() {
    let mut donor = heap();
    donor.force(Strategy::Buddy);
    let good = donor.record().to_bytes();

    let mut h = heap();
    h.force(Strategy::FreeList);
    let mut corrupt = good;
    corrupt[40] ^= 0x10;
    assert_eq!(h.load_record(&corrupt), Err(RecordError::Corrupt));
    assert_eq!(h.decision(), Decision::START);
    assert_eq!(
        h.load_record(&good[..100]),
        Err(RecordError::Truncated { len: 100 })
    );
    assert_eq!(
        h.load_record(b"{\"json\": true}"),
        Err(RecordError::Foreign)
    );
    assert_eq!(h.strategy(), Strategy::Bump);
    // And it still works.
    let p = alloc(&mut h, 64, 1);
    free(&mut h, p, 64, 1);
}

#[test]
fn grows_move_bump_blocks_to_the_current_strategy() {
    let mut h = heap();
    let p = alloc(&mut h, 64, 0x33);
    h.force(Strategy::FreeList);
    // SAFETY: `p` is a live 64-byte block.
    let q = unsafe { h.grow(p, layout(64), layout(4096)) }.unwrap();
    assert_eq!(h.live_blocks(Strategy::Bump), 0);
    assert_eq!(h.live_blocks(Strategy::FreeList), 1);
    // SAFETY: the first 64 bytes moved with the block.
    let moved = unsafe { core::slice::from_raw_parts(q.as_ptr(), 64) };
    assert!(moved.iter().all(|&b| b == 0x33));
    // SAFETY: `q` is live with the new layout.
    unsafe { h.deallocate(q, layout(4096)) };
    h.check().unwrap();
}

#[test]
fn the_check_catches_a_broken_invariant() {
    let mut h = heap();
    let p = alloc(&mut h, 64, 1);
    h.check().unwrap();
    h.set_live_mask(0);
    assert!(h.check().is_err(), "a wrong live mask went unnoticed");
    h.set_live_mask(1 << BUMP);
    h.target = BUDDY;
    assert!(h.check().is_err(), "a wrong target went unnoticed");
    h.target = BUMP;
    free(&mut h, p, 64, 1);
}

#[test]
fn the_span_map_overflow_falls_back_to_the_cores() {
    let mut h = heap();
    let p = alloc(&mut h, 64, 1);
    let q = alloc(&mut h, 64, 2);
    h.force(Strategy::FreeList);
    let r = alloc(&mut h, 64, 3);
    // Forget every span, as if none had fitted in the map.
    h.provider.map = crate::lease::SpanMap::new();
    h.provider.map.force_overflow();
    free(&mut h, p, 64, 1);
    free(&mut h, r, 64, 3);
    free(&mut h, q, 64, 2);
    assert_eq!(h.stats().bytes_live, 0);
}

#[test]
fn hundreds_of_spans_stay_in_the_span_map() {
    // Slab serves a request above its largest class with a span of its own:
    // 300 of them outgrow the map's inline entries, which once made every
    // free walk the cores (the map overflowed at 128 spans).
    let mut h = heap();
    h.force(Strategy::Slab);
    let big = polyalloc_slab::MAX_SMALL * 2;
    let blocks: Vec<NonNull<u8>> = (0..300)
        .map(|_| h.allocate(layout(big)).expect("allocation"))
        .collect();
    assert!(!h.provider.map.overflowed(), "the span map overflowed");
    assert!(h.provider.map.len() >= 300);
    for &p in &blocks {
        assert_eq!(h.provider.map.lookup(p.as_ptr().addr()), Some(SLAB));
    }
    // A block of another core among them keeps the lookups honest.
    h.force(Strategy::FreeList);
    let other = alloc(&mut h, 64, 9);
    for p in blocks {
        // SAFETY: a live block of `big` bytes.
        unsafe { h.deallocate(p, layout(big)) };
    }
    free(&mut h, other, 64, 9);
    h.check().unwrap();
    assert_eq!(h.stats().bytes_live, 0);
}

/// Fills a heap with 1 KiB blocks, switching strategy at pseudo-random
/// points; returns how many fit.
fn fill_switching(h: &mut AdaptiveHeap<polyalloc_core::source::RegionSource>) -> usize {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut n = 0;
    loop {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if rng % 8 == 0 {
            h.force(Strategy::ALL[(rng >> 8) as usize % Strategy::ALL.len()]);
        }
        if h.allocate(layout(1024)).is_none() {
            return n;
        }
        n += 1;
    }
}

#[test]
fn memory_a_strategy_left_goes_to_the_next_over_a_region() {
    use polyalloc_core::source::RegionSource;
    const LEN: usize = 512 * 1024;
    let mut buf = std::vec![0u64; LEN / 8];
    // SAFETY: the buffer outlives the heap.
    let src = unsafe { RegionSource::new(buf.as_mut_ptr().cast(), LEN) };
    let mut h = AdaptiveHeap::with_source(src);
    let first = fill_switching(&mut h);
    assert!(h.provider.pool.bytes() == 0);
    // Every core forgets its blocks; the ones not serving give their spans
    // to the pool.
    h.reset();
    h.force(Strategy::Bump);
    h.check().unwrap();
    let mut idle =
        [INIT, FREELIST, BUDDY].map(|slot| with_core_ref!(h, slot, |c| c.stats().bytes_reserved));
    if cfg!(miri) {
        // Under Miri buddy asks for twice an arena at a low alignment and
        // keeps the spans it cannot give back whole.
        idle[2] = 0;
    }
    assert_eq!(idle, [0; 3], "an idle core kept memory");
    // Nothing went missing: what is not in the source any more is held by
    // a core or pooled.
    let held = h.stats().bytes_reserved;
    assert!(held > LEN * 3 / 4, "{held} bytes held of {LEN}");
    let again = fill_switching(&mut h);
    assert!(
        again >= first,
        "memory stranded with a strategy: {first} blocks, then {again}"
    );
    drop(h);
    drop(buf);
}

#[test]
fn an_idle_core_keeps_its_memory_for_a_few_invocations_on_mmap() {
    let mut h = heap();
    h.set_stateful(false);
    h.force(Strategy::FreeList);
    let p = alloc(&mut h, 100_000, 1);
    free(&mut h, p, 100_000, 1);
    let held = |h: &Test| h.freelist.stats().bytes_reserved;
    assert!(held(&h) > 0);
    // Leaving the free list: it is idle but keeps its spans for now.
    h.force(Strategy::Bump);
    assert!(held(&h) > 0);
    h.end_invocation();
    assert!(
        held(&h) > 0,
        "released after less than a whole idle invocation"
    );
    // Back to it within the next invocation: no page is faulted in anew.
    h.force(Strategy::FreeList);
    let q = alloc(&mut h, 100_000, 2);
    free(&mut h, q, 100_000, 2);
    h.force(Strategy::Bump);
    for _ in 0..=h.policy().idle_invocations {
        h.end_invocation();
    }
    assert_eq!(held(&h), 0, "idle through its invocations: given back");
    h.check().unwrap();
}

#[test]
fn a_stack_freed_newest_first_is_in_order() {
    let mut h = heap();
    h.force(Strategy::FreeList);
    for _ in 0..10 {
        let blocks: Vec<NonNull<u8>> = (0..24).map(|i| alloc(&mut h, 64 + i, 3)).collect();
        for (i, p) in blocks.into_iter().enumerate().rev() {
            free(&mut h, p, 64 + i, 3);
        }
    }
    assert_eq!(h.invocation().out_of_order_frees, 0);
    // Freeing the oldest first is not.
    let a = alloc(&mut h, 64, 1);
    let b = alloc(&mut h, 64, 2);
    free(&mut h, a, 64, 1);
    free(&mut h, b, 64, 2);
    assert_eq!(h.invocation().out_of_order_frees, 1);
}

/// Over a source that cannot take memory back (a region here, wasm32's
/// `memory.grow` in a guest), the run free list merges the spans its lease
/// hands out one after another into one span, as the stand-alone free
/// list does; the map keeps an entry per span handed out, and when the
/// core is left, the merged span goes to the pool whole and each of its
/// entries leaves the map.
#[test]
fn the_free_lists_adjacent_spans_merge_over_a_region_and_go_back_whole() {
    use polyalloc_core::source::RegionSource;
    const LEN: usize = 2 * 1024 * 1024;
    let mut buf = std::vec![0u64; LEN / 8];
    // SAFETY: the buffer outlives the heap.
    let src = unsafe { RegionSource::new(buf.as_mut_ptr().cast(), LEN) };
    let mut h = AdaptiveHeap::with_source(src);
    h.force(Strategy::FreeList);
    let size = 24 * 1024;
    // Under Miri, filling whole blocks is most of the time: the first bytes.
    let filled = if cfg!(miri) { 64 } else { size };
    let blocks: Vec<NonNull<u8>> = (0..24)
        .map(|i| {
            let p = h.allocate(layout(size)).expect("room in the region");
            // SAFETY: a fresh block of `size >= filled` bytes.
            unsafe { p.as_ptr().write_bytes(i, filled) };
            p
        })
        .collect();
    h.check().unwrap();
    let entries =
        |h: &AdaptiveHeap<RegionSource>| h.provider.map.iter().filter(|e| e.2 == FREELIST).count();
    assert!(entries(&h) > 1, "the free list took more than one span");
    assert_eq!(h.freelist.span_count(), 1, "its spans did not merge");

    // Left for slab: once its last block is freed, the free list gives its
    // one (merged) span to the pool.
    h.force(Strategy::Slab);
    for (i, p) in blocks.into_iter().enumerate() {
        // SAFETY: live, its first `filled` bytes filled with `i` above.
        let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), filled) };
        assert!(bytes.iter().all(|&b| b == i as u8), "block {i} corrupted");
        // SAFETY: live with this layout.
        unsafe { h.deallocate(p, layout(size)) };
    }
    h.check().unwrap();
    assert_eq!(entries(&h), 0, "a span of the free list is still mapped");
    assert_eq!(h.freelist.stats().bytes_reserved, 0);
    assert!(
        h.provider.pool.bytes() >= 24 * size,
        "the merged span was not pooled"
    );
    // The next core takes it from the pool.
    let pooled = h.provider.pool.bytes();
    let p = h.allocate(layout(64)).expect("slab from the pool");
    assert!(
        h.provider.pool.bytes() < pooled,
        "slab did not take from the pool"
    );
    // SAFETY: live with this layout.
    unsafe { h.deallocate(p, layout(64)) };
    h.check().unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "megabytes of fills: too slow under Miri")]
fn bump_keeps_its_spare_chunks_between_small_and_large_invocations() {
    let mut h = heap();
    h.set_stateful(false);
    // A large invocation: blocks kept to its end, so bump wastes nothing
    // and the function stays on bump, which grows chunk after chunk.
    let large = |h: &mut Test| {
        for i in 0..40 {
            alloc(h, 60 * 1024, i as u8);
        }
        h.end_invocation();
    };
    large(&mut h);
    assert_eq!(h.strategy(), Strategy::Bump);
    let reserved = h.stats().bytes_reserved;
    // A small one uses one chunk; the large one's spares must stay mapped
    // (a plain reset gives back the spares an epoch did not use) ...
    alloc(&mut h, 64, 1);
    h.end_invocation();
    assert_eq!(h.stats().bytes_reserved, reserved, "the spares were kept");
    // ... so the next large invocation maps nothing new.
    large(&mut h);
    assert_eq!(h.strategy(), Strategy::Bump);
    assert_eq!(h.stats().bytes_reserved, reserved, "the spares were reused");
    h.check().unwrap();
}
