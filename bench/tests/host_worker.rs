//! Every host contestant works as a process's global allocator, threads
//! included: the worker runs every workload at the smallest size (a few
//! milliseconds each) on every allocator that can run it, and reports
//! sane figures.

use std::process::Command;

use polyalloc_bench::host::{ALLOC_VAR, HostWorkload, Kind, Report};

/// Runs one worker and reads its report.
fn run(kind: Kind, workload: HostWorkload, threads: usize) -> Report {
    let out = Command::new(env!("CARGO_BIN_EXE_polyalloc-bench"))
        .args(["worker", workload.key(), &threads.to_string(), "1"])
        .env(ALLOC_VAR, kind.key())
        .output()
        .expect("starting the worker");
    assert!(
        out.status.success(),
        "{} on {}: {}\n{}",
        workload.key(),
        kind.key(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Report::parse(&String::from_utf8_lossy(&out.stdout)).expect("a report line")
}

#[test]
fn every_contestant_runs_every_workload_it_fits() {
    for &kind in Kind::ALL {
        for w in HostWorkload::ALL {
            if !kind.reuses_memory() && !w.fits_bump() {
                continue;
            }
            let threads = if w.threaded() { 3 } else { 1 };
            let r = run(kind, w, threads);
            let what = format!("{} on {}", w.key(), kind.key());
            assert_eq!(r.alloc, kind.key(), "{what}: the allocator it ran on");
            assert_eq!(r.workload, w.key(), "{what}");
            assert_eq!(r.threads, threads, "{what}");
            assert!(r.ops > 0, "{what}: no operations");
            assert!(r.time_ns > 0, "{what}: no time");
            // More than nothing, less than a runaway heap.
            assert!(
                (100..1 << 20).contains(&r.maxrss_kib),
                "{what}: peak RSS {} KiB",
                r.maxrss_kib
            );
            if w == HostWorkload::RssOverTime {
                assert!(r.rss_kib.len() > 2, "{what}: RSS samples {:?}", r.rss_kib);
                assert!(r.rss_kib.iter().all(|&k| k > 0), "{what}: {:?}", r.rss_kib);
            }
        }
    }
}

#[test]
fn an_unknown_allocator_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_polyalloc-bench"))
        .args(["worker", "malloc-free", "1", "1"])
        .env(ALLOC_VAR, "no-such-allocator")
        .output()
        .expect("starting the worker");
    assert!(!out.status.success());
}
