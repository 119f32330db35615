//! The host part of the comparison run: every host workload, once per
//! allocator and repetition, in a child process (this binary again, as
//! `polyalloc-bench worker`), with that allocator as the child's global
//! allocator. The repetitions are interleaved like the in-process rounds:
//! each one runs every allocator once, in an order that rotates by one and
//! reverses every other time.

use std::io::{IsTerminal, Write as _};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use polyalloc_bench::host::{self, ALLOC_VAR, HostWorkload, Kind, Report};

/// How much host work to do.
#[derive(Clone, Copy, Debug)]
pub struct HostPlan {
    /// Work per run, in units of each workload's smallest size.
    pub scale: u64,
    /// Runs of every allocator per workload and thread count.
    pub repeats: usize,
    /// Thread counts of the threaded workloads.
    pub threads: &'static [usize],
    /// A run that takes longer is stopped, and its allocator's remaining
    /// runs of that configuration skipped.
    pub timeout: Duration,
}

impl HostPlan {
    /// `--quick`: 1 and 4 threads, three runs each (about a minute and a
    /// half here).
    pub const QUICK: Self = Self {
        scale: 25,
        repeats: 3,
        threads: &[1, 4],
        timeout: Duration::from_secs(5),
    };
    /// `--full`: 1, 2 and 4 threads, three times the work, five runs.
    pub const FULL: Self = Self {
        scale: 75,
        repeats: 5,
        threads: &[1, 2, 4],
        timeout: Duration::from_secs(20),
    };
}

/// The key of the A/A row: the system allocator run a second time.
pub const AA_KEY: &str = "system-aa";

/// One allocator's runs of one configuration.
pub struct Row {
    /// The allocator.
    pub kind: Kind,
    /// Whether this is the A/A row.
    pub aa: bool,
    /// One entry per repetition: the worker's report, or why there is none.
    pub runs: Vec<Result<Report, String>>,
    /// Why the row was not run at all.
    pub skipped: Option<&'static str>,
}

impl Row {
    /// The row's key.
    pub fn key(&self) -> &'static str {
        if self.aa { AA_KEY } else { self.kind.key() }
    }
}

/// The runs of one workload at one thread count.
pub struct HostOutcome {
    /// The workload.
    pub workload: HostWorkload,
    /// Threads.
    pub threads: usize,
    /// One row per allocator, the A/A row last.
    pub rows: Vec<Row>,
}

/// The workloads and thread counts a run covers.
pub fn configs(workloads: &[HostWorkload], plan: &HostPlan) -> Vec<(HostWorkload, usize)> {
    workloads
        .iter()
        .flat_map(|&w| {
            let threads: &[usize] = if w.threaded() { plan.threads } else { &[1] };
            threads.iter().map(move |&t| (w, t))
        })
        .collect()
}

/// Runs every configuration; progress on stderr. With `only` not empty,
/// just those allocators run, with the system allocator (the baseline) and
/// the A/A row.
pub fn measure(
    workloads: &[HostWorkload],
    plan: &HostPlan,
    only: &[Kind],
) -> Result<Vec<HostOutcome>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding this binary: {e}"))?;
    let configs = configs(workloads, plan);
    let total: usize = configs
        .iter()
        .map(|(w, _)| {
            rows_of(*w, only)
                .iter()
                .filter(|r| r.skipped.is_none())
                .count()
                * plan.repeats
        })
        .sum();
    let mut progress = Progress::new(total);
    let mut out = Vec::new();
    for (workload, threads) in configs {
        let mut rows = rows_of(workload, only);
        let n = rows.len();
        for round in 0..plan.repeats {
            for step in 0..n {
                let k = (round + step) % n;
                let i = if round % 2 == 0 { k } else { n - 1 - k };
                let row = &mut rows[i];
                if row.skipped.is_some() {
                    continue;
                }
                progress.step(&format!("{} {threads}t {}", workload.key(), row.key()));
                // After a timeout the row's later runs are skipped.
                let gave_up = row
                    .runs
                    .iter()
                    .any(|r| r.as_ref().is_err_and(|e| e.starts_with("timed out")));
                let run = if gave_up {
                    Err("skipped after a timeout".to_owned())
                } else {
                    run_worker(&exe, row.kind, workload, threads, plan)
                };
                row.runs.push(run);
            }
        }
        out.push(HostOutcome {
            workload,
            threads,
            rows,
        });
    }
    progress.done();
    Ok(out)
}

/// The rows of `workload`: every allocator, then the A/A row.
fn rows_of(workload: HostWorkload, only: &[Kind]) -> Vec<Row> {
    Kind::ALL
        .iter()
        .filter(|&&kind| only.is_empty() || kind == Kind::System || only.contains(&kind))
        .map(|&kind| Row {
            kind,
            aa: false,
            runs: Vec::new(),
            skipped: (!kind.reuses_memory() && !workload.fits_bump())
                .then_some("not run: never reuses freed memory"),
        })
        .chain(std::iter::once(Row {
            kind: Kind::System,
            aa: true,
            runs: Vec::new(),
            skipped: None,
        }))
        .collect()
}

/// One run of the worker, stopped after the plan's timeout.
fn run_worker(
    exe: &std::path::Path,
    kind: Kind,
    workload: HostWorkload,
    threads: usize,
    plan: &HostPlan,
) -> Result<Report, String> {
    let mut child = Command::new(exe)
        .args([
            "worker",
            workload.key(),
            &threads.to_string(),
            &plan.scale.to_string(),
        ])
        .env(ALLOC_VAR, kind.key())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the worker: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > plan.timeout => {
                // Ours, still running: stop it.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out (> {} s)", plan.timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for the worker: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading the worker: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "worker exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Report::parse(&String::from_utf8_lossy(&out.stdout))
}

/// A one-line progress bar on stderr (redrawn in place on a terminal, a
/// line per configuration elsewhere).
struct Progress {
    total: usize,
    done: usize,
    tty: bool,
    last: String,
    start: Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            last: String::new(),
            start: Instant::now(),
        }
    }

    fn step(&mut self, what: &str) {
        let width = 30;
        let filled = width * self.done / self.total.max(1);
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
        let config = what.rsplit_once(' ').map_or(what, |(c, _)| c);
        if self.tty {
            eprint!("\rhost [{bar}] {}/{} {what:<40}", self.done + 1, self.total);
            let _ = std::io::stderr().flush();
        } else if config != self.last {
            eprintln!("host [{bar}] {}/{} {config}", self.done + 1, self.total);
        }
        self.last = config.to_owned();
        self.done += 1;
    }

    fn done(&self) {
        if self.tty {
            eprintln!();
        }
        eprintln!(
            "host: {} runs in {:.0} s",
            self.done,
            self.start.elapsed().as_secs_f64()
        );
    }
}

/// The worker's side: `polyalloc-bench worker WORKLOAD THREADS SCALE`, the
/// allocator named by [`ALLOC_VAR`]; prints one [`Report`] line.
pub fn worker(args: &[String]) -> ExitCode {
    let [workload, threads, scale] = args else {
        eprintln!("usage: {ALLOC_VAR}=ALLOC polyalloc-bench worker WORKLOAD THREADS SCALE");
        return ExitCode::FAILURE;
    };
    let kind = host::dispatch::chosen();
    let asked = std::env::var(ALLOC_VAR).unwrap_or_else(|_| Kind::System.key().to_owned());
    if asked != kind.key() {
        eprintln!(
            "polyalloc-bench worker: unknown allocator `{asked}` (known: {})",
            Kind::ALL
                .iter()
                .map(|k| k.key())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::FAILURE;
    }
    let Some(workload) = HostWorkload::from_key(workload) else {
        eprintln!("polyalloc-bench worker: unknown workload `{workload}`");
        return ExitCode::FAILURE;
    };
    let (Ok(threads), Ok(scale)) = (threads.parse::<usize>(), scale.parse::<u64>()) else {
        eprintln!("polyalloc-bench worker: THREADS and SCALE are numbers");
        return ExitCode::FAILURE;
    };
    let start = Instant::now();
    let (ops, rss_kib) = workload.run(threads, scale);
    let time = start.elapsed();
    println!(
        "{}",
        Report {
            workload: workload.key().to_owned(),
            threads,
            alloc: kind.key().to_owned(),
            ops,
            time_ns: u64::try_from(time.as_nanos()).unwrap_or(u64::MAX),
            maxrss_kib: host::peak_rss_kib(),
            rss_kib,
        }
    );
    ExitCode::SUCCESS
}
