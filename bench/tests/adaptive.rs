//! The adaptive group runs end to end: every contestant, every workload,
//! the same operations (invocation after invocation), a peak figure from
//! every row; the adaptive heap takes the strategy each workload was built
//! for, and changes its mind when the function does. (Behaviour only:
//! speed is the comparison run's business.)

mod common;

use polyalloc_adaptive::{Policy, Strategy};
use polyalloc_bench::contestants::adaptive::{CoreAdaptive, decisions};
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Contestant, Group, Workload};

#[test]
fn every_contestant_runs_every_workload_with_the_same_operations() {
    common::same_operations(Group::Adaptive);
}

#[test]
fn the_peak_pass_has_the_timed_rows_and_counts_every_backing() {
    common::peaks_cover_the_timed_rows(Group::Adaptive);
}

#[test]
fn contestants_grow_blocks_keeping_the_bytes() {
    common::grow_keeps_the_bytes(Group::Adaptive);
}

#[test]
fn the_adaptive_heap_picks_the_strategy_each_workload_was_built_for() {
    for (w, expected) in [
        (Workload::FaasLifo, Strategy::Bump),
        (Workload::FaasObjects, Strategy::Slab),
        (Workload::FaasMixed, Strategy::FreeList),
        (Workload::FaasBuffers, Strategy::Buddy),
    ] {
        let d = decisions(w, 2, Policy::DEFAULT);
        assert_eq!(d.strategy, expected, "{}: {d:?}", w.key());
        assert_eq!(d.invocations, 16, "{}", w.key());
    }
}

#[test]
fn a_phase_change_is_followed_both_ways() {
    let mut c = CoreAdaptive::new();
    let mut input = Input::new();
    let w = Workload::FaasPhases;
    w.run(&mut c, &mut input);
    let after_one = c.heap_mut().switches();
    assert!(after_one >= 1, "never left bump");
    w.run(&mut c, &mut input);
    let heap = c.heap_mut();
    // Round two: back to bump for the LIFO invocations, away again for the
    // churn ones.
    assert!(heap.switches() >= after_one + 2, "{heap:?}");
    assert_eq!(heap.decision().strategy, Strategy::FreeList, "{heap:?}");
}
