//! The adaptive group's section: each workload's table (steady state and
//! first round, ratios against dlmalloc and against the fastest single
//! strategy, peak reserved), the bar of issue 6, and the threshold sweep.

use std::fmt::Write as _;

use polyalloc_bench::contestants::Contestant;
use polyalloc_bench::contestants::adaptive::{CoreAdaptive, Decisions, single_keys};
use polyalloc_bench::contestants::general::Dlmalloc;
use polyalloc_bench::{Group, Workload};

use super::{
    Outcome, Peaks, Ratio, Table, find, heading, para, ratio_cell, ratio_of, short, show_bytes,
};
use crate::measure::Series;

/// The adaptive group's measurements.
pub struct AdaptiveRun {
    /// Steady state: every sample after one untimed round (8 invocations)
    /// on its fresh allocator.
    pub warm: Vec<Outcome>,
    /// The first round of a fresh allocator, timed.
    pub cold: Vec<Outcome>,
    /// Rounds of the first-round measurement.
    pub cold_rounds: usize,
    /// What the adaptive heap decided on each workload.
    pub decisions: Vec<(Workload, Decisions)>,
}

/// The fastest single-strategy row of `series` (lowest median), if any.
fn best_single(series: &[Series]) -> Option<&Series> {
    let singles = single_keys();
    series
        .iter()
        .filter(|s| singles.contains(&s.key))
        .min_by(|a, b| a.median().total_cmp(&b.median()))
}

/// The fastest single-strategy row whose peak reserved is at most twice the
/// smallest peak among the single strategies (the adaptive policy's own
/// default rule for leaving bump: waste at least the bytes live), if the
/// peak pass has them.
fn best_bounded<'s>(series: &'s [Series], peaks: Option<&Peaks>) -> Option<&'s Series> {
    let peaks = peaks?;
    let singles = single_keys();
    let least = singles.iter().filter_map(|k| peaks.get(k)?).min()?;
    series
        .iter()
        .filter(|s| singles.contains(&s.key))
        .filter(|s| peaks.get(s.key).flatten().is_some_and(|n| n <= 2 * least))
        .min_by(|a, b| a.median().total_cmp(&b.median()))
}

/// `a / b` over the rounds.
fn ratio(a: &Series, b: &Series) -> Ratio {
    Ratio::of(&a.ratios(b))
}

/// One workload's table.
fn table(warm: &Outcome, cold: Option<&Outcome>, peaks: Option<&Peaks>, markdown: bool) -> String {
    let dl = Dlmalloc::KEY;
    let best = best_single(&warm.series);
    let best_cold = cold.and_then(|c| best_single(&c.series));
    let mut t = Table::new(&[
        "contestant",
        "ns/allocation",
        "vs dlmalloc",
        "vs best single",
        "first round: ns/allocation",
        "first round: vs dlmalloc",
        "first round: vs best single",
        "peak reserved",
    ]);
    let aa = Group::Adaptive.aa_key();
    for s in &warm.series {
        let key = if s.key == aa { dl } else { s.key };
        let mut cells = vec![s.name.to_owned(), format!("{:.2}", s.median())];
        cells.push(match ratio_of(&warm.series, s.key, dl) {
            Some(_) if s.key == dl => "—".to_owned(),
            Some(r) => ratio_cell(r, true),
            None => String::new(),
        });
        cells.push(match best {
            Some(b) if b.key == s.key => "— (best)".to_owned(),
            Some(b) => ratio_cell(ratio(s, b), true),
            None => String::new(),
        });
        let c = cold.and_then(|c| find(&c.series, s.key));
        cells.push(c.map_or_else(String::new, |c| format!("{:.2}", c.median())));
        cells.push(match cold.and_then(|o| ratio_of(&o.series, s.key, dl)) {
            Some(_) if s.key == dl => "—".to_owned(),
            Some(r) => ratio_cell(r, true),
            None => String::new(),
        });
        cells.push(match (c, best_cold) {
            (Some(c), Some(b)) if b.key == c.key => "— (best)".to_owned(),
            (Some(c), Some(b)) => ratio_cell(ratio(c, b), true),
            _ => String::new(),
        });
        cells.push(match peaks.and_then(|p| p.get(key)) {
            Some(Some(n)) => show_bytes(n),
            Some(None) => "n/a".to_owned(),
            None => "—".to_owned(),
        });
        t.row(cells);
    }
    t.render(markdown)
}

/// The bar, workload by workload.
fn targets(run: &AdaptiveRun, peaks: &[Peaks], markdown: bool) -> String {
    let (me, dl) = (CoreAdaptive::KEY, Dlmalloc::KEY);
    let mut t = Table::new(&[
        "workload",
        "adaptive serves from",
        "fastest single strategy",
        "adaptive / fastest single (target ≤ 1.10)",
        "fastest single within 2× the least peak",
        "adaptive / that one (target ≤ 1.10)",
        "adaptive / dlmalloc (target ≤ 1.0)",
        "first round: adaptive / fastest single",
        "peak reserved: adaptive, fastest single, dlmalloc",
        "A/A: dlmalloc / itself",
    ]);
    for o in &run.warm {
        let noise = o.noise();
        let Some(adaptive) = o.get(me) else { continue };
        let best = best_single(&o.series);
        let p = peaks.iter().find(|p| p.workload == o.workload);
        let bounded = best_bounded(&o.series, p);
        let cold = run.cold.iter().find(|c| c.workload == o.workload);
        let cold_cell = cold
            .and_then(|c| Some((c.get(me)?, best_single(&c.series)?)))
            .map_or_else(String::new, |(a, b)| {
                format!("{} ({})", ratio(a, b).show(), short(b.name))
            });
        let decided = run
            .decisions
            .iter()
            .find(|(w, _)| *w == o.workload)
            .map_or_else(String::new, |(_, d)| d.describe());
        let memory =
            peaks
                .iter()
                .find(|p| p.workload == o.workload)
                .map_or_else(String::new, |p| {
                    let show = |k: &str| match p.get(k) {
                        Some(Some(n)) => show_bytes(n),
                        _ => "—".to_owned(),
                    };
                    format!(
                        "{}, {}, {}",
                        show(me),
                        best.map_or_else(|| "—".to_owned(), |b| show(b.key)),
                        show(dl)
                    )
                });
        t.row(vec![
            o.workload.key().to_owned(),
            decided,
            best.map_or_else(String::new, |b| short(b.name).to_owned()),
            best.map_or_else(String::new, |b| {
                let r = ratio(adaptive, b);
                format!("{} {}", r.show(), r.verdict(1.10, noise))
            }),
            bounded.map_or_else(String::new, |b| short(b.name).to_owned()),
            bounded.map_or_else(String::new, |b| {
                let r = ratio(adaptive, b);
                format!("{} {}", r.show(), r.verdict(1.10, noise))
            }),
            o.ratio(me, dl).map_or_else(String::new, |r| {
                format!("{} {}", r.show(), r.verdict(1.0, noise))
            }),
            cold_cell,
            memory,
            o.ratio(Group::Adaptive.aa_key(), dl)
                .map_or_else(String::new, |r| r.show()),
        ]);
    }
    t.render(markdown)
}

/// Appends the adaptive group's section.
pub fn section(out: &mut String, run: &AdaptiveRun, peaks: &[Peaks], markdown: bool) {
    heading(out, Group::Adaptive.title(), markdown);
    para(
        out,
        "A round is 8 invocations of one function. AdaptiveHeap is polyalloc's adaptive core \
         (Policy::DEFAULT, declared pure with set_stateful(false)) called directly, each \
         invocation ended with end_invocation(), which drops its run heap at once; BumpHeap \
         is reset() at the end of each invocation, so the blocks still live then are left to \
         the reset. SlabHeap, FreeListHeap and BuddyHeap (each core called directly), talc and \
         dlmalloc free every block instead. Every polyalloc row takes memory through a \
         counting mmap source. The A/A row is dlmalloc measured a second time: its distance \
         from 1.00 is this group's error bar. \"vs best single\": the ratio to the fastest of \
         the four single-strategy cores on that workload (by median), per round.",
        markdown,
    );
    para(
        out,
        &format!(
            "Steady state: every sample starts from a fresh allocator warmed up by one untimed \
             round (8 invocations, in which the adaptive heap makes its first decisions), then \
             times whole rounds. First round: every sample times the first round of fresh \
             allocators only (the adaptive heap's learning included), {} rounds. Peak \
             reserved: the most bytes held from the OS during one round on a fresh allocator \
             (an untimed pass in a child process).",
            run.cold_rounds
        ),
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    for p in peaks
        .iter()
        .filter(|p| p.workload.group() == Group::Adaptive)
    {
        if let Err(e) = &p.rows {
            para(
                out,
                &format!("(peak pass for {} failed: {e})", p.workload.key()),
                markdown,
            );
        }
    }
    for o in &run.warm {
        let title = format!("{} — {}", o.workload.key(), o.workload.describe());
        if markdown {
            let _ = write!(out, "**{title}**\n\n");
        } else {
            let _ = writeln!(out, "{title}");
        }
        let cold = run.cold.iter().find(|c| c.workload == o.workload);
        let p = peaks.iter().find(|p| p.workload == o.workload);
        *out += &table(o, cold, p, markdown);
        *out += "\n";
    }
    para(
        out,
        "The bar (issue 6: within 10% of the best single strategy on every workload, after \
         its first switch, and faster than dlmalloc on all five): steady-state median ratio \
         [interquartile range]; \"within noise\" means above the target by less than the A/A \
         row's spread. \"adaptive serves from\": its decision after two rounds of the \
         workload on a fresh heap (16 invocations), and the switches it made. Bump never \
         reuses a block freed out of order, so it is the fastest on time wherever its memory \
         may grow without bound until the invocation ends; the second comparison leaves out \
         the single strategies that held more than twice the least peak of the four (the \
         adaptive policy's own rule for leaving bump).",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    *out += &targets(run, peaks, markdown);
}
