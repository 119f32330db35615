//! The comparison run: every workload against every contestant, as ratios
//! against the peers measured in the same run.
//!
//! ```text
//! cargo run --release -p polyalloc-bench                 # --quick, the default
//! cargo run --release -p polyalloc-bench -- --full       # more rounds, longer samples
//! cargo run --release -p polyalloc-bench -- --markdown   # tables for docs/benchmarks.md
//! cargo run --release -p polyalloc-bench -- arena lifo   # only these workloads
//! ```
//!
//! Nothing here asserts an absolute speed: the machine is shared and noisy,
//! so each figure is a ratio between contestants measured back to back, with
//! an A/A row (the baseline measured twice) as the error bar.

mod measure;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use polyalloc_bench::Workload;
use polyalloc_bench::contestants::{self, AaBaseline, Contestant, CoreBump, GlobalBump, Visitor};
use polyalloc_core::Uncounted;

use measure::{Plan, Runner};
use report::{AA_KEY, Outcome};

const USAGE: &str = "\
usage: polyalloc-bench [--quick | --full] [--markdown] [--raw] [--no-lock] [WORKLOAD...]

  --quick     41 rounds of ~20 ms samples (the default; about half a minute)
  --full      101 rounds of ~40 ms samples (about two minutes)
  --markdown  print the tables as Markdown (for docs/benchmarks.md)
  --raw       also print every sample (ns/op, in round order) of every row
  --no-lock   skip the last section, which starts a second thread to measure
              the lock's compare-exchange path
  WORKLOAD    any of: arena lifo vec-push string-build tree (default: all)
";

/// What the command line asked for.
struct Args {
    mode: &'static str,
    plan: Plan,
    markdown: bool,
    raw: bool,
    lock: bool,
    workloads: Vec<Workload>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        mode: "quick",
        plan: Plan {
            rounds: 41,
            sample: Duration::from_millis(20),
        },
        markdown: false,
        raw: false,
        lock: true,
        workloads: Vec::new(),
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => {}
            "--full" => {
                args.mode = "full";
                args.plan = Plan {
                    rounds: 101,
                    sample: Duration::from_millis(40),
                };
            }
            "--markdown" => args.markdown = true,
            "--raw" => args.raw = true,
            "--no-lock" => args.lock = false,
            "-h" | "--help" => return Err(String::new()),
            other => match Workload::from_key(other) {
                Some(w) => args.workloads.push(w),
                None => return Err(format!("unknown argument `{other}`")),
            },
        }
    }
    if args.workloads.is_empty() {
        args.workloads = Workload::ALL.to_vec();
    }
    Ok(args)
}

/// Collects a runner per contestant for one workload.
struct Runners {
    workload: Workload,
    list: Vec<Runner>,
}

impl Visitor for Runners {
    fn visit<C: Contestant + 'static>(&mut self) {
        self.list
            .push(Runner::new::<C>(C::KEY, C::NAME, self.workload));
    }
}

/// Every contestant, plus the A/A row.
fn all_runners(workload: Workload) -> Vec<Runner> {
    let mut r = Runners {
        workload,
        list: Vec::new(),
    };
    contestants::for_each(&mut r);
    r.list.push(Runner::new::<AaBaseline>(
        AA_KEY,
        "bumpalo, again (A/A)",
        workload,
    ));
    r.list
}

fn main() -> ExitCode {
    let args = match parse() {
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

    let mut outcomes = Vec::new();
    for &w in &args.workloads {
        eprintln!("measuring {} ...", w.key());
        let series = measure::compare(all_runners(w), &args.plan);
        outcomes.push(Outcome {
            workload: w,
            series,
        });
    }

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
            args.markdown
        )
    );
    if args.raw {
        print!("{}", report::raw(&outcomes, &threaded));
    }
    ExitCode::SUCCESS
}
