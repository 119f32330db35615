//! A fixed amount of work for one contestant and one workload, for counting
//! instructions under valgrind's callgrind (`bench/callgrind.sh` runs it for
//! every pair and prints instructions per operation).
//!
//! ```text
//! instr CONTESTANT WORKLOAD [--rounds N] [--threaded] [--min-waste BYTES] [--waste-per-live N]
//! instr --list-contestants [GROUP] | --list-workloads [GROUP]
//! ```
//!
//! `--min-waste` and `--waste-per-live` set the adaptive heap's thresholds
//! (the `adaptive` contestant only; the rest of its policy is the default):
//! the instruction counts behind `polyalloc-bench adaptive-sweep`.
//!
//! The contestant is looked up in the workload's group (`bump`, `general`
//! or `buddy`): `instr core arena`, `instr freelist small-churn`,
//! `instr talc small-churn`, `instr buddy pow2`. The lists take a group key
//! and default to the bump group's. (The comparison run's `matrix`
//! measurement has no counterpart here: it measures where blocks are placed,
//! which instruction counts do not show.)
//!
//! One warm-up round runs first (it takes the first chunks from the OS),
//! then `N` rounds inside `measured`, the one function callgrind collects in
//! (`--toggle-collect='*measured*'`), so setup and teardown are not counted.
//! The number of operations done there is printed on stdout as `ops N`.
//!
//! `--threaded` starts an idle second thread first: glibc then reports the
//! process as multi-threaded and `BumpAlloc`'s lock takes its
//! compare-exchange path on every call.

use std::any::Any;
use std::hint::black_box;
use std::process::ExitCode;

use polyalloc_adaptive::Policy;
use polyalloc_bench::contestants::adaptive::CoreAdaptive;

use polyalloc_bench::contestants::{Contestant, Visitor};
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Group, Workload};

/// The rounds callgrind collects in. Never inlined, so its name stays in the
/// binary for `--toggle-collect`.
#[inline(never)]
fn measured<C: Contestant>(c: &mut C, w: Workload, input: &mut Input, rounds: u64) -> u64 {
    let mut ops = 0;
    for _ in 0..rounds {
        ops += w.run(c, input);
    }
    ops
}

/// Runs the chosen contestant when the visitor reaches it.
struct Run {
    key: String,
    workload: Workload,
    rounds: u64,
    policy: Policy,
    ops: Option<u64>,
}

impl Visitor for Run {
    fn visit<C: Contestant + 'static>(&mut self) {
        if C::KEY != self.key {
            return;
        }
        let mut c = C::new();
        if let Some(a) = (&mut c as &mut dyn Any).downcast_mut::<CoreAdaptive>() {
            a.heap_mut().set_policy(self.policy);
        }
        let mut input = Input::new();
        // Warm-up: first chunks, first page faults; not collected.
        self.workload.run(&mut c, &mut input);
        let ops = measured(&mut c, self.workload, &mut input, black_box(self.rounds));
        self.ops = Some(ops);
    }
}

const USAGE: &str = "\
usage: instr CONTESTANT WORKLOAD [--rounds N] [--threaded]
             [--min-waste BYTES] [--waste-per-live N]
       instr --list-contestants [GROUP] | --list-workloads [GROUP]
       (GROUP: bump, the default, general, buddy, slab or adaptive)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(list @ ("--list-contestants" | "--list-workloads")) =
        args.first().map(String::as_str)
    {
        let key = args.get(1).map_or("bump", String::as_str);
        let Some(group) = Group::ALL.into_iter().find(|g| g.key() == key) else {
            eprint!("instr: unknown group `{key}`\n{USAGE}");
            return ExitCode::FAILURE;
        };
        let names: Vec<&str> = if list == "--list-contestants" {
            group.keys()
        } else {
            group.workloads().map(Workload::key).collect()
        };
        println!("{}", names.join(" "));
        return ExitCode::SUCCESS;
    }
    let mut positional = Vec::new();
    let mut rounds = 20;
    let mut threaded = false;
    let mut policy = Policy::DEFAULT;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threaded" => threaded = true,
            flag @ ("--min-waste" | "--waste-per-live") => {
                match it.next().and_then(|n| n.parse().ok()) {
                    Some(n) if flag == "--min-waste" => policy.min_waste = n,
                    Some(n) => policy.waste_per_live = n,
                    None => {
                        eprint!("instr: {flag} needs a number\n{USAGE}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            "--rounds" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => rounds = n,
                None => {
                    eprint!("instr: --rounds needs a number\n{USAGE}");
                    return ExitCode::FAILURE;
                }
            },
            _ => positional.push(a.clone()),
        }
    }
    let [key, workload] = positional.as_slice() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let Some(workload) = Workload::from_key(workload) else {
        eprint!("instr: unknown workload `{workload}`\n{USAGE}");
        return ExitCode::FAILURE;
    };
    // Kept alive, idle, until the process exits.
    let _idle = threaded.then(|| std::thread::spawn(std::thread::park));
    let mut run = Run {
        key: key.clone(),
        workload,
        rounds,
        policy,
        ops: None,
    };
    let group = workload.group();
    group.for_each(&mut run);
    match run.ops {
        Some(ops) => {
            println!("ops {ops}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "instr: unknown contestant `{key}` for {} (one of: {})",
                workload.key(),
                group.keys().join(" ")
            );
            ExitCode::FAILURE
        }
    }
}
