//! Turning samples into the tables: plain text for a terminal, or Markdown
//! (`--markdown`) to paste into docs/benchmarks.md unedited.

use std::fmt::Write as _;

use polyalloc_bench::Workload;
use polyalloc_bench::contestants::{
    AaBaseline, Bumpalo, Contestant, CoreBump, GlobalBump, RATIO_BASES,
};
use polyalloc_core::Uncounted;

use crate::measure::{Plan, Series, quantile};

/// Key of the A/A row: the baseline measured a second time.
pub const AA_KEY: &str = "bumpalo-aa";

/// The measurements of one workload.
pub struct Outcome {
    /// The workload.
    pub workload: Workload,
    /// One series per row, in table order (the A/A row last).
    pub series: Vec<Series>,
}

impl Outcome {
    fn get(&self, key: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.key == key)
    }

    /// The ratio `a / b` over the rounds, if both rows were measured.
    fn ratio(&self, a: &str, b: &str) -> Option<Ratio> {
        Some(Ratio::of(&self.get(a)?.ratios(self.get(b)?)))
    }
}

/// A ratio's median over the rounds and its interquartile range.
#[derive(Clone, Copy)]
struct Ratio {
    median: f64,
    q1: f64,
    q3: f64,
}

impl Ratio {
    fn of(per_round: &[f64]) -> Self {
        Self {
            median: quantile(per_round, 0.5),
            q1: quantile(per_round, 0.25),
            q3: quantile(per_round, 0.75),
        }
    }

    /// How far the A/A row strays from 1: the larger of the median's
    /// distance and half the interquartile range.
    fn noise(&self) -> f64 {
        (self.median - 1.0).abs().max((self.q3 - self.q1) / 2.0)
    }

    fn show(&self) -> String {
        format!("{:.2} [{:.2}–{:.2}]", self.median, self.q1, self.q3)
    }

    /// Met, within the A/A noise of the target, or missed by how much.
    fn verdict(&self, target: f64, noise: f64) -> String {
        if self.median <= target {
            "met".to_owned()
        } else if self.median <= target * (1.0 + noise) {
            format!("within noise (A/A ±{:.0}%)", noise * 100.0)
        } else {
            format!("missed by {:.0}%", (self.median / target - 1.0) * 100.0)
        }
    }
}

/// A table that renders as aligned text or as Markdown.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The first column is left-aligned, the others right-aligned.
    fn render(&self, markdown: bool) -> String {
        let mut out = String::new();
        if markdown {
            let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
            out += &line(&self.header);
            let rule: Vec<String> = (0..self.header.len())
                .map(|i| if i == 0 { "---".into() } else { "---:".into() })
                .collect();
            out += &line(&rule);
            for r in &self.rows {
                out += &line(r);
            }
            return out;
        }
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            out += " ";
            for (i, w) in widths.iter().enumerate() {
                let cell = r.get(i).map_or("", String::as_str);
                let pad = w - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, " {cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "   {}{cell}", " ".repeat(pad));
                }
            }
            out += "\n";
        }
        out
    }
}

/// The display name of a ratio-base column.
fn base_name(outcome: &Outcome, key: &str) -> String {
    outcome
        .get(key)
        .map_or_else(|| key.to_owned(), |s| short(s.name).to_owned())
}

/// A name without its parenthesised detail, for column headers.
fn short(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name)
}

/// One table per workload: ns/op and the ratios against each base.
fn workload_table(o: &Outcome, markdown: bool) -> String {
    let mut header = vec!["contestant".to_owned(), format!("ns/{}", o.workload.op())];
    header.extend(
        RATIO_BASES
            .iter()
            .map(|k| format!("vs {}", base_name(o, k))),
    );
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs);
    for s in &o.series {
        let mut cells = vec![s.name.to_owned(), format!("{:.2}", s.median())];
        for base in RATIO_BASES {
            cells.push(match o.ratio(s.key, base) {
                Some(_) if s.key == base => "—".to_owned(),
                Some(r) => format!("{:.2}×", r.median),
                None => String::new(),
            });
        }
        t.row(cells);
    }
    t.render(markdown)
}

/// The two targets and the A/A error bar, workload by workload.
fn targets_table(outcomes: &[Outcome], markdown: bool) -> String {
    let mut t = Table::new(&[
        "workload",
        "BumpAlloc via GlobalAlloc / raw BumpHeap core (target ≤ 1.5)",
        "BumpHeap / bumpalo (target ≤ 1.0)",
        "A/A: bumpalo / bumpalo",
    ]);
    for o in outcomes {
        let aa = o.ratio(AA_KEY, AaBaseline::KEY);
        let noise = aa.map_or(0.0, |r| r.noise());
        let cell = |r: Option<Ratio>, target: f64| {
            r.map_or_else(String::new, |r| {
                format!("{} {}", r.show(), r.verdict(target, noise))
            })
        };
        t.row(vec![
            o.workload.key().to_owned(),
            cell(o.ratio(GlobalBump::KEY, CoreBump::<Uncounted>::KEY), 1.5),
            cell(o.ratio(CoreBump::<Uncounted>::KEY, Bumpalo::KEY), 1.0),
            aa.map_or_else(String::new, |r| r.show()),
        ]);
    }
    t.render(markdown)
}

/// `BumpAlloc / core` with and without a second thread in the process.
fn lock_table(single: &[Outcome], threaded: &[Outcome], markdown: bool) -> String {
    let mut t = Table::new(&[
        "workload",
        "BumpAlloc / core, process single-threaded",
        "BumpAlloc / core, a second thread exists",
        "BumpAlloc ns/op, second thread",
    ]);
    for th in threaded {
        let one = single
            .iter()
            .find(|o| o.workload == th.workload)
            .and_then(|o| o.ratio(GlobalBump::KEY, CoreBump::<Uncounted>::KEY));
        t.row(vec![
            th.workload.key().to_owned(),
            one.map_or_else(String::new, |r| r.show()),
            th.ratio(GlobalBump::KEY, CoreBump::<Uncounted>::KEY)
                .map_or_else(String::new, |r| r.show()),
            th.get(GlobalBump::KEY)
                .map_or_else(String::new, |s| format!("{:.2}", s.median())),
        ]);
    }
    t.render(markdown)
}

/// How the run was made, for the report's opening lines.
pub struct Run<'a> {
    /// Rounds and sample length.
    pub plan: &'a Plan,
    /// `quick` or `full`.
    pub mode: &'a str,
    /// `lock_is_elided()` during the main tables.
    pub elided: bool,
    /// `lock_is_elided()` once the second thread runs, if it was started.
    pub elided_threaded: Option<bool>,
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The whole report.
pub fn render(run: &Run<'_>, outcomes: &[Outcome], threaded: &[Outcome], markdown: bool) -> String {
    let plan = run.plan;
    let mode = run.mode;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = String::new();
    let para = |out: &mut String, text: &str| {
        if markdown {
            *out += text;
            *out += "\n\n";
        } else {
            *out += text;
            *out += "\n";
        }
    };
    para(
        &mut out,
        &format!(
            "polyalloc-bench, {mode} mode: {} rounds, ~{} ms per sample, {cpus} CPUs visible. \
             Contestants are interleaved (the order rotates and reverses every round); each \
             sample starts from a fresh allocator warmed up by one untimed round. \
             BumpAlloc's lock skips its atomic (lock_is_elided()): {}.",
            plan.rounds,
            plan.sample.as_millis(),
            yes_no(run.elided)
        ),
    );
    para(
        &mut out,
        "ns/op: median over the rounds. Ratios: median over the rounds of the ratio between \
         two samples of the same round (below 1 = faster than the column's contestant). \
         The A/A row is bumpalo measured a second time, as a separate contestant: how far it \
         strays from 1.00 is the error bar of this run.",
    );
    if !markdown {
        out += "\n";
    }
    for o in outcomes {
        let title = format!("{} — {}", o.workload.key(), o.workload.describe());
        if markdown {
            let _ = write!(out, "**{title}**\n\n");
        } else {
            let _ = writeln!(out, "{title}");
        }
        out += &workload_table(o, markdown);
        out += "\n";
    }
    para(
        &mut out,
        "Targets: median ratio over the rounds [interquartile range of the per-round ratios]; \
         \"within noise\" means above the target by less than the A/A row's spread.",
    );
    if !markdown {
        out += "\n";
    }
    out += &targets_table(outcomes, markdown);
    if !threaded.is_empty() {
        out += "\n";
        para(
            &mut out,
            &format!(
                "The lock: BumpAlloc skips its compare-exchange while glibc says the process has \
                 a single thread. After a second (idle) thread is started, every call takes the \
                 compare-exchange and the release store (lock_is_elided(): {}); BumpAlloc and \
                 the core were measured again then.",
                run.elided_threaded.map_or("not asked", yes_no)
            ),
        );
        if !markdown {
            out += "\n";
        }
        out += &lock_table(outcomes, threaded, markdown);
    }
    out
}

/// Every sample of every row, in round order: for looking at the spread
/// behind a median.
pub fn raw(outcomes: &[Outcome], threaded: &[Outcome]) -> String {
    let mut out = String::from("\nsamples (ns/op, in round order)\n");
    for (o, tag) in outcomes
        .iter()
        .map(|o| (o, ""))
        .chain(threaded.iter().map(|o| (o, ", second thread")))
    {
        for s in &o.series {
            let values: Vec<String> = s.ns_per_op.iter().map(|v| format!("{v:.2}")).collect();
            let _ = writeln!(
                out,
                "{}{tag} / {}: {}",
                o.workload.key(),
                s.key,
                values.join(" ")
            );
        }
    }
    out
}
