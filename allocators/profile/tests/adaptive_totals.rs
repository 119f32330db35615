//! The adaptive allocator's own recording and the profiler agree on the
//! same run: the profiler wraps an `AdaptiveAlloc`, a workload that frees
//! out of order (so the heap switches strategy mid-run) and grows in place
//! and by moving goes through the wrapper, and the totals are compared.
//!
//! This binary's global allocator is the profiler over the adaptive
//! allocator too, as a program would use it.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use allocator_api2::alloc::{Allocator, Layout};
use allocator_api2::vec::Vec;
use polyalloc_adaptive::{AdaptiveAlloc, Control, Strategy};
use polyalloc_profile::{Config, Profiled};

#[global_allocator]
static GLOBAL: Profiled<AdaptiveAlloc> =
    Profiled::with_config(AdaptiveAlloc::new(), Config::tags());

#[test]
fn profiler_and_adaptive_recording_agree() {
    static HEAP: Profiled<AdaptiveAlloc> =
        Profiled::with_config(AdaptiveAlloc::new(), Config::tags());
    let heap = &HEAP;
    let layout = Layout::from_size_align(1024, 8).unwrap();
    let mut keep = std::vec::Vec::new();
    for _ in 0..400 {
        let older = heap.allocate(layout).unwrap();
        keep.push(heap.allocate(layout).unwrap());
        // SAFETY: `older` came from `heap` with `layout`.
        unsafe { heap.deallocate(older.cast(), layout) };
    }
    // Bump wasted too much: the heap switched mid-run.
    assert_ne!(HEAP.inner().decision().strategy, Strategy::Bump);
    // Without resizes so far, the peaks agree exactly.
    assert_eq!(
        HEAP.summary().max_bytes,
        HEAP.inner().totals().peak_bytes_live
    );
    assert_eq!(HEAP.summary().max_bytes, 400 * 1024 + 1024);
    // Growth, in place and moving, and shrinks.
    let mut vecs: std::vec::Vec<Vec<u64, _>> = (0..20).map(|_| Vec::new_in(heap)).collect();
    for round in 0..200u64 {
        for (i, v) in vecs.iter_mut().enumerate() {
            if (round as usize + i) % 3 != 0 {
                v.push(round);
            }
        }
    }
    for v in vecs.iter_mut().step_by(2) {
        v.truncate(3);
        v.shrink_to_fit();
    }
    // Every fourth block stays live to the end.
    for (n, block) in keep.drain(..).enumerate() {
        if n % 4 != 0 {
            // SAFETY: as above.
            unsafe { heap.deallocate(block.cast(), layout) };
        }
    }

    let p = HEAP.summary();
    let a = HEAP.inner().totals();
    let live = HEAP.inner().stats();
    assert!(a.reallocations > 0, "some resizes were in place");
    assert!(a.allocations > 800, "the workload ran");
    // Every allocation and every resize is one block in DHAT's totals; the
    // adaptive heap counts a moving resize as an allocation and an in-place
    // one as a reallocation.
    assert_eq!(p.total_blocks, a.allocations + a.reallocations);
    // Live blocks: a moving resize is an allocation and a free there.
    assert_eq!(p.curr_blocks, a.allocations - a.deallocations);
    assert_eq!(p.curr_bytes, live.bytes_live as u64);
    // The one difference: during a moving resize the adaptive heap holds
    // the old and the new block at once, and its peak may include both;
    // DHAT's (and so the profiler's) counts a resize as a change of size.
    // The vectors' largest old block is 1 KiB (128 `u64`s).
    assert!(
        p.max_bytes <= a.peak_bytes_live && a.peak_bytes_live - p.max_bytes <= 1024,
        "peaks {} (profiler) and {} (adaptive)",
        p.max_bytes,
        a.peak_bytes_live
    );
    assert_eq!(p.lost, 0);
}

#[test]
fn the_global_allocator_is_profiled() {
    let before = GLOBAL.summary();
    let b = polyalloc_profile::tagged("known", || Box::new([0u8; 4096]));
    let after = GLOBAL.summary();
    // Other threads of the test harness may allocate too; this block at
    // least was counted, and the adaptive heap served it.
    assert!(after.total_blocks > before.total_blocks);
    assert!(after.total_bytes >= before.total_bytes + 4096);
    assert!(GLOBAL.inner().owns(core::ptr::NonNull::from(&*b).cast()));
    assert!(GLOBAL.profile().as_str().contains("\"known\""));
    drop(b);
}
