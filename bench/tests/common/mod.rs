//! Checks every group with a peak pass shares: every contestant runs every
//! workload with the same operations, the peak pass covers the timed rows
//! with a figure from every counted backing, and grows keep the bytes.

use core::alloc::Layout;

use polyalloc_bench::contestants::{Contestant, Visitor};
use polyalloc_bench::requested::Requested;
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Group, Workload};

/// Runs a workload twice on every contestant (the second round reuses what
/// the first left), collecting the operations counted.
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

/// Every contestant of `group` runs every workload of it, twice, with the
/// same number of operations each time.
pub fn same_operations(group: Group) {
    for w in group.workloads() {
        let mut run = RunAll {
            workload: w,
            ops: Vec::new(),
        };
        group.for_each(&mut run);
        assert_eq!(run.ops.len(), group.keys().len());
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

/// One row of the peak pass: key, peak reserved, peak requested.
pub type PeakRow = (&'static str, Option<usize>, usize);

/// Collects the peak pass's figures, each contestant wrapped as the
/// comparison run wraps it.
struct Peaks {
    workload: Workload,
    out: Vec<PeakRow>,
}

impl Visitor for Peaks {
    fn visit<C: Contestant + 'static>(&mut self) {
        let mut input = Input::new();
        let mut c = Requested::<C>::new();
        self.workload.run(&mut c, &mut input);
        self.out.push((C::KEY, c.peak_reserved(), c.meter().peak()));
        assert_eq!(c.meter().current(), 0, "{}: bytes left live", C::KEY);
    }
}

/// The peak pass of `group` on `w`.
pub fn peak_pass(group: Group, w: Workload) -> Vec<PeakRow> {
    let mut p = Peaks {
        workload: w,
        out: Vec::new(),
    };
    group.for_each_peak(&mut p);
    p.out
}

/// The peak pass of `group` has the timed rows, every backing but glibc's
/// gives a whole number of pages, and every row saw the same requests.
pub fn peaks_cover_the_timed_rows(group: Group) {
    for w in group.workloads() {
        let rows = peak_pass(group, w);
        let mut keys: Vec<&str> = rows.iter().map(|&(k, _, _)| k).collect();
        let mut timed = group.keys();
        keys.sort_unstable();
        timed.sort_unstable();
        assert_eq!(keys, timed, "{}", w.key());
        let requested = rows[0].2;
        assert!(requested > 0, "{}: nothing requested", w.key());
        for (key, bytes, req) in rows {
            assert_eq!(req, requested, "{key} on {}: requests differ", w.key());
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
            // Nothing can be live in requests that was not reserved.
            assert!(bytes >= req, "{key} on {}: {bytes} < {req}", w.key());
        }
    }
}

/// Every contestant of `group` grows a block through several sizes, with a
/// block after it (so a grow may have to move), keeping its first bytes.
pub fn grow_keeps_the_bytes(group: Group) {
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
    group.for_each(&mut Grow);
}
