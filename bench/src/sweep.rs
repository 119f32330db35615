//! `polyalloc-bench adaptive-sweep`: the adaptive heap's thresholds swept
//! over the adaptive group's workloads, each setting timed against
//! `Policy::DEFAULT` in the same run (interleaved, with the default measured
//! twice as the A/A row), with the peak bytes it reserved and the strategy it
//! ended on.
//!
//! The thresholds are the two that decide when bump is left:
//! `Policy::min_waste` (bytes bump must have wasted) and
//! `Policy::waste_per_live` (…and this many times the bytes live).

use std::fmt::Write as _;
use std::time::Duration;

use polyalloc_adaptive::Policy;
use polyalloc_bench::Contestant;
use polyalloc_bench::Workload;
use polyalloc_bench::contestants::adaptive::{CoreAdaptive, decisions};
use polyalloc_bench::workloads::Input;

use crate::measure::{self, Plan, Runner, Series};
use crate::report::{Ratio, Table, show_bytes};

/// The workloads swept: the ones where bump is left or kept (lifo, objects,
/// mixed) and the one that goes back and forth (phases).
pub const WORKLOADS: [Workload; 4] = [
    Workload::FaasLifo,
    Workload::FaasObjects,
    Workload::FaasMixed,
    Workload::FaasPhases,
];

/// One setting: row key, row name, `min_waste`, `waste_per_live`.
type Setting = (&'static str, &'static str, usize, usize);

const KIB: usize = 1024;

/// The settings, the default first (the base of every ratio).
pub const SETTINGS: [Setting; 9] = [
    ("default", "256 KiB, ×1 (default)", 256 * KIB, 1),
    ("w16k", "16 KiB, ×1", 16 * KIB, 1),
    ("w64k", "64 KiB, ×1", 64 * KIB, 1),
    ("w1m", "1 MiB, ×1", 1024 * KIB, 1),
    ("w4m", "4 MiB, ×1", 4096 * KIB, 1),
    ("l0", "256 KiB, ×0", 256 * KIB, 0),
    ("l2", "256 KiB, ×2", 256 * KIB, 2),
    ("l4", "256 KiB, ×4", 256 * KIB, 4),
    (
        "default-aa",
        "256 KiB, ×1 (default, again: A/A)",
        256 * KIB,
        1,
    ),
];

/// The policy of a setting.
fn policy(&(_, _, min_waste, waste_per_live): &Setting) -> Policy {
    Policy {
        min_waste,
        waste_per_live,
        ..Policy::DEFAULT
    }
}

/// Peak bytes reserved over one round on a fresh heap with `p`.
fn peak(w: Workload, p: Policy) -> Option<usize> {
    let mut c = CoreAdaptive::new();
    c.heap_mut().set_policy(p);
    let mut input = Input::new();
    w.run(&mut c, &mut input);
    c.peak_reserved()
}

/// Runs the sweep and renders its tables.
pub fn run(full: bool, markdown: bool) -> String {
    let plan = if full {
        Plan {
            rounds: 51,
            sample: Duration::from_millis(40),
        }
    } else {
        Plan {
            rounds: 21,
            sample: Duration::from_millis(20),
        }
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "adaptive-sweep: {} rounds, ~{} ms per sample; each setting's samples start from a \
         fresh AdaptiveHeap (pure) warmed up by one untimed round (8 invocations). \
         min_waste, waste_per_live: Policy's thresholds for leaving bump (the rest is \
         Policy::DEFAULT). Time: median ns per allocation, and the per-round ratio to the \
         default [interquartile range]. Peak reserved: one round on a fresh heap. Ends on: \
         the strategy after two rounds (16 invocations), and the switches made.\n\n",
        plan.rounds,
        plan.sample.as_millis(),
    );
    for w in WORKLOADS {
        eprintln!("sweeping {} ...", w.key());
        let runners: Vec<Runner> = SETTINGS
            .iter()
            .map(|s| {
                let p = policy(s);
                Runner::with_setup::<CoreAdaptive>(s.0, s.1, w, move |c| {
                    c.heap_mut().set_policy(p);
                })
            })
            .collect();
        let series = measure::compare(runners, &plan);
        let _ = write!(
            out,
            "{}{} — {}{}\n\n",
            if markdown { "**" } else { "" },
            w.key(),
            w.describe(),
            if markdown { "**" } else { "" }
        );
        out += &table(w, &series, markdown);
        out += "\n";
    }
    out
}

/// One workload's table.
fn table(w: Workload, series: &[Series], markdown: bool) -> String {
    let mut t = Table::new(&[
        "min_waste, waste_per_live",
        "ns/allocation",
        "vs default",
        "peak reserved",
        "ends on",
    ]);
    let base = &series[0];
    for (s, setting) in series.iter().zip(SETTINGS.iter()) {
        let p = policy(setting);
        let d = decisions(w, 2, p);
        t.row(vec![
            s.name.to_owned(),
            format!("{:.2}", s.median()),
            if s.key == base.key {
                "—".to_owned()
            } else {
                Ratio::of(&s.ratios(base)).show()
            },
            peak(w, p).map_or_else(|| "n/a".to_owned(), show_bytes),
            d.describe(),
        ]);
    }
    t.render(markdown)
}
