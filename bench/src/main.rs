//! The comparison run: every workload against every contestant of its group,
//! as ratios against the peers measured in the same run.
//!
//! ```text
//! cargo run --release -p polyalloc-bench                 # --quick, the default
//! cargo run --release -p polyalloc-bench -- --full       # more rounds, longer samples
//! cargo run --release -p polyalloc-bench -- --markdown   # tables for docs/benchmarks.md
//! cargo run --release -p polyalloc-bench -- arena lifo   # only these workloads
//! cargo run --release -p polyalloc-bench -- general      # only one group's workloads
//! cargo run --release -p polyalloc-bench -- matrix       # only the placement measurement
//! cargo run --release -p polyalloc-bench -- host         # only the host workloads
//! ```
//!
//! Three groups are measured: the bump allocators (polyalloc's `BumpHeap`
//! against bumpalo), the general-purpose ones (polyalloc's `FreeListHeap`
//! against talc, dlmalloc, rlsf, linked_list_allocator and the system
//! allocator) and the power-of-two ones (polyalloc's `BuddyHeap` against
//! buddy_system_allocator, talc and the system allocator). For the last two
//! a separate, untimed pass also records the peak bytes each allocator
//! reserved from the OS over one round, and the most bytes the round had
//! live in requests; it runs in a child process per workload (this binary
//! again, with `--peaks WORKLOAD`), so glibc's heap is fresh for the system
//! allocator's figure. With the power-of-two group comes the `matrix`
//! measurement: a naive matrix multiply over rows placed by each allocator
//! (`polyalloc_bench::matrix`), the multiply alone timed.
//!
//! The host workloads (`host`, [`polyalloc_bench::host`]) run last: each
//! allocator as the global allocator of a child process (this binary
//! again, as `polyalloc-bench worker`), larson, xmalloc, cache-scratch and
//! the rest, on 1 and 4 threads (`--full`: 1, 2 and 4). This binary's own
//! global allocator is therefore [`Chosen`]: in the parent, which names no
//! allocator, it is the system allocator behind one predictable branch.
//!
//! Nothing here asserts an absolute speed: the machine is shared and noisy,
//! so each figure is a ratio between contestants measured back to back, with
//! an A/A row (a baseline measured twice) as the error bar.

mod hostrun;
mod measure;
mod report;
mod sweep;

use std::process::{Command, ExitCode};
use std::time::Duration;

use polyalloc_adaptive::Policy;
use polyalloc_bench::contestants::{Contestant, CoreBump, GlobalBump, Visitor, adaptive, buddy};
use polyalloc_bench::host::HostWorkload;
use polyalloc_bench::host::dispatch::{Chosen, Kind};
use polyalloc_bench::matrix::Matrices;
use polyalloc_bench::{Group, Workload};
use polyalloc_core::Uncounted;

use hostrun::HostPlan;
use measure::{Peak, Plan, Runner};
use report::{MatrixOutcome, Outcome, Peaks};

/// The process's allocator: the system allocator, unless this process is a
/// host worker started with another named (see [`polyalloc_bench::host`]).
#[global_allocator]
static ALLOC: Chosen = Chosen;

const USAGE: &str = "\
usage: polyalloc-bench [--quick | --full] [--markdown] [--charts DIR] [--raw] [--no-lock] [--alloc K,K]
                       [WORKLOAD | GROUP | matrix | host...]

  --quick     41 rounds of ~20 ms samples, 20 for the adaptive group, 3 runs
              of each host workload on 1 and 4 threads (the default; about
              three and a half minutes, 70 s of them the host workloads)
  --full      101 rounds of ~40 ms samples (about seven minutes), 5 host
              runs at 3x the work on 1, 2 and 4 threads (estimated at ten
              minutes more; not yet timed)
  --markdown  print the tables as Markdown (for docs/benchmarks.md)
  --charts DIR  write an SVG chart per host workload and thread count there
  --raw       also print every sample (ns/op, in round order) of every row
  --no-lock   skip the last section, which starts a second thread to measure
              the lock's compare-exchange path
  --alloc K,K only these allocators in the host workloads (keys as for
              POLYALLOC_BENCH_ALLOC: system, mimalloc, jemalloc, talc,
              dlmalloc, slab, threads, ...), with the system allocator and
              the A/A row always
  WORKLOAD    bump group: arena lifo vec-push string-build tree
              general group: small-churn mixed-churn vec-growth fragmentation
              power-of-two group: pow2 random-sizes realloc-growth
              small-object group: small-uniform small-skewed mixed-large
              adaptive group: faas-lifo faas-objects faas-mixed
              faas-buffers faas-phases
  GROUP       bump, general, buddy, slab or adaptive: all of that group's
              workloads (buddy and slab also run matrix)
              (default: every workload of every group, and matrix)
  matrix      the naive matrix multiply over rows placed by each allocator
              (the multiply timed, not the allocation)
  host        the host workloads, each allocator as the global allocator of
              a child process: larson xmalloc cache-scratch malloc-free
              realloc-string rss-over-time (each also by name)

usage: polyalloc-bench worker WORKLOAD THREADS SCALE

  one host run, on the allocator POLYALLOC_BENCH_ALLOC names; prints one
  `host-result ...` line

usage: polyalloc-bench adaptive-sweep [--full] [--markdown]

  the adaptive heap's thresholds (Policy::min_waste, waste_per_live)
  swept over the adaptive group's workloads: time against the default
  policy, peak reserved, the strategy it ends on (about 30 s)
";

/// Rounds of the `matrix` measurement: a sample is one multiply, tens of
/// milliseconds, so fewer rounds than the workloads' keep the run short.
fn matrix_rounds(plan: &Plan) -> usize {
    (plan.rounds / 2).max(11)
}

/// What the command line asked for.
struct Args {
    mode: &'static str,
    plan: Plan,
    host_plan: HostPlan,
    host: Vec<HostWorkload>,
    charts: Option<std::path::PathBuf>,
    markdown: bool,
    raw: bool,
    lock: bool,
    workloads: Vec<Workload>,
    matrix: bool,
    /// `--alloc`: the host workloads' allocators, all when empty.
    only: Vec<Kind>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        mode: "quick",
        plan: Plan {
            rounds: 41,
            sample: Duration::from_millis(20),
        },
        host_plan: HostPlan::QUICK,
        host: Vec::new(),
        charts: None,
        markdown: false,
        raw: false,
        lock: true,
        workloads: Vec::new(),
        matrix: false,
        only: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {}
            "--full" => {
                out.mode = "full";
                out.plan = Plan {
                    rounds: 101,
                    sample: Duration::from_millis(40),
                };
                out.host_plan = HostPlan::FULL;
            }
            "--markdown" => out.markdown = true,
            "--charts" => {
                let dir = args.next().ok_or("--charts needs a folder")?;
                out.charts = Some(dir.into());
            }
            "host" => out.host.extend(HostWorkload::ALL),
            "--raw" => out.raw = true,
            "--no-lock" => out.lock = false,
            "--alloc" => {
                let keys = args.next().ok_or("--alloc needs a list of allocators")?;
                for key in keys.split(',') {
                    let kind = Kind::from_key(key)
                        .ok_or_else(|| format!("--alloc: unknown allocator `{key}`"))?;
                    out.only.push(kind);
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => {
                if let Some(g) = Group::ALL.into_iter().find(|g| g.key() == other) {
                    out.workloads.extend(g.workloads());
                    out.matrix |= matches!(g, Group::Buddy | Group::Slab);
                } else if other == "matrix" {
                    out.matrix = true;
                } else if let Some(w) = Workload::from_key(other) {
                    out.workloads.push(w);
                } else if let Some(w) = HostWorkload::from_key(other) {
                    out.host.push(w);
                } else {
                    return Err(format!("unknown argument `{other}`"));
                }
            }
        }
    }
    if out.workloads.is_empty() && !out.matrix && out.host.is_empty() {
        out.workloads = Workload::ALL.to_vec();
        out.matrix = true;
        out.host = HostWorkload::ALL.to_vec();
    }
    out.host = HostWorkload::ALL
        .into_iter()
        .filter(|w| out.host.contains(w))
        .collect();
    // Table order, each workload once.
    out.workloads = Workload::ALL
        .into_iter()
        .filter(|w| out.workloads.contains(w))
        .collect();
    Ok(out)
}

/// Collects a runner per contestant for one workload; with `aa` set, the
/// runner it makes is the A/A row (the group's baseline, measured again).
struct Runners {
    workload: Workload,
    aa: bool,
    /// Time each fresh allocator's first round ([`Runner::cold`]) instead of
    /// the steady state.
    cold: bool,
    list: Vec<Runner>,
}

impl Visitor for Runners {
    fn visit<C: Contestant + 'static>(&mut self) {
        let (key, name) = if self.aa {
            let g = self.workload.group();
            (g.aa_key(), g.aa_name())
        } else {
            (C::KEY, C::NAME)
        };
        self.list.push(if self.cold {
            Runner::cold::<C>(key, name, self.workload)
        } else {
            Runner::new::<C>(key, name, self.workload)
        });
    }
}

/// Every contestant of the workload's group, plus the A/A row; with `cold`,
/// each timing the first round of fresh allocators.
fn all_runners(workload: Workload, cold: bool) -> Vec<Runner> {
    let group = workload.group();
    let mut r = Runners {
        workload,
        aa: false,
        cold,
        list: Vec::new(),
    };
    group.for_each(&mut r);
    r.aa = true;
    group.visit_aa(&mut r);
    r.list
}

/// The `matrix` rows: its contestants, then the base measured again (A/A).
fn matrix_runners() -> Vec<Runner> {
    struct Rows(Vec<Runner>);
    impl Visitor for Rows {
        fn visit<C: Contestant + 'static>(&mut self) {
            self.0.push(Runner::matrix::<C>(C::KEY, C::NAME));
        }
    }
    let mut rows = Rows(Vec::new());
    buddy::for_each_matrix(&mut rows);
    rows.0.push(Runner::matrix::<buddy::MatrixBase>(
        report::MATRIX_AA_KEY,
        report::MATRIX_AA_NAME,
    ));
    rows.0
}

/// The most common distance between consecutive rows of `B`, per
/// `matrix` contestant, from one fresh allocation each (untimed).
fn matrix_strides() -> Vec<(&'static str, Option<isize>)> {
    struct Strides(Vec<(&'static str, Option<isize>)>);
    impl Visitor for Strides {
        fn visit<C: Contestant + 'static>(&mut self) {
            let mut c = C::new();
            let m = Matrices::new(&mut c);
            self.0.push((C::KEY, m.row_stride()));
            // SAFETY: the rows came from `c`.
            unsafe { m.free(&mut c) };
        }
    }
    let mut s = Strides(Vec::new());
    buddy::for_each_matrix(&mut s);
    s.0
}

/// The peak pass for `w`, in a child process (this binary with `--peaks`):
/// glibc's heap there holds only what the child itself allocated, so the
/// system allocator's figure is the round's own.
fn peaks_in_child(w: Workload) -> Result<Vec<Peak>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--peaks", w.key()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "child exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let bad = || format!("bad line from child: `{line}`");
            let mut words = line.split_whitespace();
            let (Some(key), Some(bytes), Some(requested)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(bad());
            };
            Ok(Peak {
                key: key.to_owned(),
                bytes: match bytes {
                    "n/a" => None,
                    n => Some(n.parse().map_err(|_| bad())?),
                },
                requested: requested.parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

/// The child's side of [`peaks_in_child`]: one line per contestant,
/// `KEY BYTES REQUESTED`, with `n/a` for bytes nothing counts.
fn print_peaks(w: Workload) {
    for p in measure::peaks(w) {
        match p.bytes {
            Some(n) => println!("{} {n} {}", p.key, p.requested),
            None => println!("{} n/a {}", p.key, p.requested),
        }
    }
}

/// Rounds of the adaptive group's two measurements (steady state and first
/// round): half the plan's, so the group adds about half a minute to the
/// default `--quick` run.
fn adaptive_plan(plan: &Plan) -> Plan {
    Plan {
        rounds: (plan.rounds / 2).max(11),
        ..*plan
    }
}

/// The adaptive group's workloads among those asked for: steady state,
/// first round, and the adaptive heap's decisions.
fn measure_adaptive(args: &Args) -> Option<report::adaptive::AdaptiveRun> {
    let workloads: Vec<Workload> = args
        .workloads
        .iter()
        .copied()
        .filter(|w| w.group() == Group::Adaptive)
        .collect();
    if workloads.is_empty() {
        return None;
    }
    let plan = adaptive_plan(&args.plan);
    let mut run = report::adaptive::AdaptiveRun {
        warm: Vec::new(),
        cold: Vec::new(),
        cold_rounds: plan.rounds,
        decisions: Vec::new(),
    };
    for w in workloads {
        eprintln!("measuring {} ...", w.key());
        run.warm.push(Outcome {
            workload: w,
            series: measure::compare(all_runners(w, false), &plan),
        });
        eprintln!("measuring {}, first round ...", w.key());
        run.cold.push(Outcome {
            workload: w,
            series: measure::compare(all_runners(w, true), &plan),
        });
        run.decisions
            .push((w, adaptive::decisions(w, 2, Policy::DEFAULT)));
    }
    Some(run)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "adaptive-sweep") {
        let full = argv.iter().any(|a| a == "--full");
        let markdown = argv.iter().any(|a| a == "--markdown");
        print!("{}", sweep::run(full, markdown));
        return ExitCode::SUCCESS;
    }
    if argv.first().is_some_and(|a| a == "worker") {
        return hostrun::worker(&argv[1..]);
    }
    if let [flag, key] = argv.as_slice() {
        if flag == "--peaks" {
            return match Workload::from_key(key) {
                Some(w) => {
                    print_peaks(w);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("polyalloc-bench: unknown workload `{key}`");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("polyalloc-bench: {msg}");
            }
            eprint!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };

    // Memory first, each workload in its own process, before any timing.
    let mut peaks = Vec::new();
    for &w in args.workloads.iter().filter(|w| w.group().has_peaks()) {
        eprintln!("peak memory, {} ...", w.key());
        peaks.push(Peaks {
            workload: w,
            rows: peaks_in_child(w),
        });
    }

    let mut outcomes = Vec::new();
    for &w in args
        .workloads
        .iter()
        .filter(|w| w.group() != Group::Adaptive)
    {
        eprintln!("measuring {} ...", w.key());
        let series = measure::compare(all_runners(w, false), &args.plan);
        outcomes.push(Outcome {
            workload: w,
            series,
        });
    }
    let adaptive = measure_adaptive(&args);
    let matrix = args.matrix.then(|| {
        eprintln!("measuring matrix ...");
        let plan = Plan {
            rounds: matrix_rounds(&args.plan),
            ..args.plan
        };
        MatrixOutcome {
            series: measure::compare(matrix_runners(), &plan),
            strides: matrix_strides(),
            rounds: plan.rounds,
        }
    });

    // Asked after the tables, not before: the first ask in a process looks
    // glibc's flag up and answers "no" while it does.
    let elided = polyalloc_core::sync::lock_is_elided();

    // Last, because it cannot be undone: with a second thread alive, glibc
    // reports the process as multi-threaded for good, and every BumpAlloc call
    // takes the lock's compare-exchange.
    let mut threaded = Vec::new();
    let mut elided_threaded = None;
    if args.lock {
        let _idle = std::thread::spawn(std::thread::park);
        elided_threaded = Some(polyalloc_core::sync::lock_is_elided());
        for &w in args
            .workloads
            .iter()
            .filter(|w| matches!(w, Workload::Arena | Workload::Lifo))
        {
            eprintln!("measuring {} with a second thread ...", w.key());
            let runners = vec![
                Runner::new::<CoreBump<Uncounted>>(
                    CoreBump::<Uncounted>::KEY,
                    CoreBump::<Uncounted>::NAME,
                    w,
                ),
                Runner::new::<GlobalBump>(GlobalBump::KEY, GlobalBump::NAME, w),
            ];
            threaded.push(Outcome {
                workload: w,
                series: measure::compare(runners, &args.plan),
            });
        }
    }

    // Last: many child processes, each with its own allocator.
    let host = if args.host.is_empty() {
        None
    } else {
        match hostrun::measure(&args.host, &args.host_plan, &args.only) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("polyalloc-bench: host workloads: {e}");
                return ExitCode::FAILURE;
            }
        }
    };

    let in_process = !outcomes.is_empty() || matrix.is_some();
    if in_process {
        print!(
            "{}",
            report::render(
                &report::Run {
                    plan: &args.plan,
                    mode: args.mode,
                    elided,
                    elided_threaded,
                },
                &outcomes,
                &threaded,
                &peaks,
                matrix.as_ref(),
                args.markdown
            )
        );
    }
    if let Some(run) = &adaptive {
        let mut out = String::from("\n");
        report::adaptive::section(&mut out, run, &peaks, args.markdown);
        print!("{out}");
    }
    if let Some(host) = &host {
        let mut out = String::new();
        if in_process || adaptive.is_some() {
            out += "\n";
        }
        report::host::section(&mut out, host, &args.host_plan, args.mode, args.markdown);
        print!("{out}");
        if let Some(dir) = &args.charts {
            match report::host::write_charts(dir, host) {
                Ok(names) => eprintln!("wrote {} charts to {}", names.len(), dir.display()),
                Err(e) => {
                    eprintln!("polyalloc-bench: writing charts to {}: {e}", dir.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    if args.raw {
        print!("{}", report::raw(&outcomes, &threaded, matrix.as_ref()));
        if let Some(run) = &adaptive {
            print!("{}", report::raw(&run.warm, &[], None));
        }
    }
    ExitCode::SUCCESS
}
