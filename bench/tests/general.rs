//! The general-purpose group runs end to end: every contestant, every
//! workload, the same operations, a peak figure from every counted backing.
//! (Behaviour only: speed is the comparison run's business.)

mod common;

use polyalloc_bench::Group;
use polyalloc_bench::backing::{CountingSource, Meter, UNIT};
use polyalloc_core::Source;
use polyalloc_core::source::MmapSource;

#[test]
fn every_contestant_runs_every_workload_with_the_same_operations() {
    common::same_operations(Group::General);
}

#[test]
fn the_peak_pass_has_the_timed_rows_and_counts_every_backing() {
    common::peaks_cover_the_timed_rows(Group::General);
}

#[test]
fn the_counting_source_tracks_current_and_peak() {
    let mut src = CountingSource::new(MmapSource::new());
    let a = src.acquire(UNIT, 16).unwrap();
    let b = src.acquire(3 * UNIT, 16).unwrap();
    assert_eq!(src.meter().current(), 4 * UNIT);
    // SAFETY: `b` came from `src` and is not used again.
    assert!(unsafe { src.release(b) });
    assert_eq!(src.meter().current(), UNIT);
    assert_eq!(src.meter().peak(), 4 * UNIT);
    // SAFETY: as above.
    assert!(unsafe { src.release(a) });
    assert_eq!(src.meter().current(), 0);
    assert_eq!(src.meter().peak(), 4 * UNIT);
}

#[test]
fn a_meter_never_goes_below_zero() {
    let m = Meter::new();
    m.add(10);
    m.sub(30);
    assert_eq!((m.current(), m.peak()), (0, 10));
}

#[test]
fn peers_grow_blocks_in_place_or_move_them_keeping_the_bytes() {
    common::grow_keeps_the_bytes(Group::General);
}
