//! The general-purpose group runs end to end: every contestant, every
//! workload, the same operations, a peak figure from every counted backing.
//! (Behaviour only: speed is the comparison run's business.)

use core::alloc::Layout;

use polyalloc_bench::backing::{CountingSource, Meter, UNIT};
use polyalloc_bench::contestants::{Contestant, Visitor};
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Group, Workload};
use polyalloc_core::Source;
use polyalloc_core::source::MmapSource;

/// Runs each workload of the group twice on every contestant (the second
/// round reuses what the first left), collecting the operations counted.
struct RunAll {
    workload: Workload,
    ops: Vec<(&'static str, u64, u64)>,
}

impl Visitor for RunAll {
    fn visit<C: Contestant + 'static>(&mut self) {
        let mut input = Input::new();
        let mut c = C::new();
        let first = self.workload.run(&mut c, &mut input);
        let second = self.workload.run(&mut c, &mut input);
        self.ops.push((C::KEY, first, second));
    }
}

#[test]
fn every_contestant_runs_every_workload_with_the_same_operations() {
    for w in Group::General.workloads() {
        let mut run = RunAll {
            workload: w,
            ops: Vec::new(),
        };
        Group::General.for_each(&mut run);
        assert_eq!(run.ops.len(), Group::General.keys().len());
        let (_, expected, _) = run.ops[0];
        assert!(expected > 0, "{}: no operations", w.key());
        for (key, first, second) in run.ops {
            assert_eq!(
                (first, second),
                (expected, expected),
                "{} on {}",
                key,
                w.key()
            );
        }
    }
}

/// Collects the peak pass's figures.
struct Peaks {
    workload: Workload,
    out: Vec<(&'static str, Option<usize>)>,
}

impl Visitor for Peaks {
    fn visit<C: Contestant + 'static>(&mut self) {
        let mut input = Input::new();
        let mut c = C::new();
        self.workload.run(&mut c, &mut input);
        self.out.push((C::KEY, c.peak_reserved()));
    }
}

#[test]
fn the_peak_pass_has_the_timed_rows_and_counts_every_backing() {
    for w in Group::General.workloads() {
        let mut p = Peaks {
            workload: w,
            out: Vec::new(),
        };
        Group::General.for_each_peak(&mut p);
        let mut keys: Vec<&str> = p.out.iter().map(|&(k, _)| k).collect();
        let mut timed = Group::General.keys();
        keys.sort_unstable();
        timed.sort_unstable();
        assert_eq!(keys, timed, "{}", w.key());
        for (key, bytes) in p.out {
            if key == "system" {
                // glibc's figure, where there is one, is whatever it is in
                // this (busy) test process.
                continue;
            }
            let bytes = bytes.unwrap_or_else(|| panic!("{key} on {}: no figure", w.key()));
            // Every round holds at least a few KiB live at once, and the
            // backings hand out whole pages.
            assert!(bytes >= 4096, "{key} on {}: {bytes}", w.key());
            assert_eq!(bytes % 4096, 0, "{key} on {}: {bytes}", w.key());
        }
    }
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
    struct Grow;
    impl Visitor for Grow {
        fn visit<C: Contestant + 'static>(&mut self) {
            let mut c = C::new();
            let old = Layout::from_size_align(24, 8).unwrap();
            let p = c.alloc(old);
            // SAFETY: a fresh block of 24 bytes.
            unsafe {
                p.as_ptr()
                    .copy_from_nonoverlapping(b"abcdefghijklmnopqrstuvwx".as_ptr(), 24)
            };
            // Something after it, so a grow may have to move.
            let q = c.alloc(old);
            let mut size = 24;
            let mut p = p;
            for new in [40, 200, 5_000, 300_000] {
                // SAFETY: `p` is live with `size` bytes, aligned to 8.
                p = unsafe { c.grow(p, Layout::from_size_align(size, 8).unwrap(), new) };
                size = new;
                // SAFETY: the first 24 bytes were kept.
                let kept = unsafe { core::slice::from_raw_parts(p.as_ptr(), 24) };
                assert_eq!(kept, b"abcdefghijklmnopqrstuvwx", "{}", C::KEY);
            }
            // SAFETY: both blocks are live with these layouts.
            unsafe {
                c.dealloc(p, Layout::from_size_align(size, 8).unwrap());
                c.dealloc(q, old);
            }
        }
    }
    Group::General.for_each(&mut Grow);
}
