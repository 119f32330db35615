//! Turning samples into the tables: plain text for a terminal, or Markdown
//! (`--markdown`) to paste into docs/benchmarks.md unedited.

use std::fmt::Write as _;

use polyalloc_bench::contestants::general::{
    CoreFreeList, Dlmalloc, GlobalFreeList, Talc as TalcRow,
};
use polyalloc_bench::contestants::{Bumpalo, Contestant, CoreBump, GlobalBump};
use polyalloc_bench::{Group, Workload};
use polyalloc_core::Uncounted;

use crate::measure::{Peak, Plan, Series, quantile};

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

    /// The A/A row's spread, 0 if it was not measured.
    fn noise(&self) -> f64 {
        let g = self.workload.group();
        self.ratio(g.aa_key(), g.aa_base())
            .map_or(0.0, |r| r.noise())
    }
}

/// The peak-memory pass of one workload, or why it failed.
pub struct Peaks {
    /// The workload.
    pub workload: Workload,
    /// One figure per contestant, or the error that stopped the pass.
    pub rows: Result<Vec<Peak>, String>,
}

impl Peaks {
    /// The bytes of row `key`: `Some(None)` where that contestant has no
    /// figure, `None` where the pass did not produce the row.
    fn get(&self, key: &str) -> Option<Option<usize>> {
        let rows = self.rows.as_ref().ok()?;
        rows.iter().find(|p| p.key == key).map(|p| p.bytes)
    }
}

/// Bytes in KiB below a MiB, else in MiB.
fn show_bytes(n: usize) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n < KIB * KIB {
        format!("{:.0} KiB", n / KIB)
    } else {
        format!("{:.2} MiB", n / (KIB * KIB))
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

/// One table per workload: ns/op and the ratios against each of the
/// group's bases. The general group's cells also show the interquartile
/// range, and a last column the peak bytes reserved.
fn workload_table(o: &Outcome, peaks: Option<&Peaks>, markdown: bool) -> String {
    let group = o.workload.group();
    let general = group == Group::General;
    let mut header = vec!["contestant".to_owned(), format!("ns/{}", o.workload.op())];
    header.extend(
        group
            .ratio_bases()
            .iter()
            .map(|k| format!("vs {}", base_name(o, k))),
    );
    if general {
        header.push("peak reserved".to_owned());
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs);
    for s in &o.series {
        let mut cells = vec![s.name.to_owned(), format!("{:.2}", s.median())];
        for &base in group.ratio_bases() {
            cells.push(match o.ratio(s.key, base) {
                Some(_) if s.key == base => "—".to_owned(),
                Some(r) if general => format!("{:.2}× [{:.2}–{:.2}]", r.median, r.q1, r.q3),
                Some(r) => format!("{:.2}×", r.median),
                None => String::new(),
            });
        }
        if general {
            // The A/A row is the baseline again: the same allocator, the
            // same figure.
            let key = if s.key == group.aa_key() {
                group.aa_base()
            } else {
                s.key
            };
            cells.push(match peaks.and_then(|p| p.get(key)) {
                Some(Some(n)) => show_bytes(n),
                Some(None) => "n/a".to_owned(),
                None => "—".to_owned(),
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
    for o in outcomes
        .iter()
        .filter(|o| o.workload.group() == Group::Bump)
    {
        let g = o.workload.group();
        let aa = o.ratio(g.aa_key(), g.aa_base());
        let noise = o.noise();
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

/// The general group's bar, workload by workload: the core at least as fast
/// as talc and dlmalloc with no more peak memory than the smaller of theirs;
/// the `GlobalAlloc` path's cost over the core; the A/A error bar.
fn general_targets_table(outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) -> String {
    let core = CoreFreeList::KEY;
    let mut t = Table::new(&[
        "workload",
        "FreeListHeap / talc (target ≤ 1.0)",
        "FreeListHeap / dlmalloc (target ≤ 1.0)",
        "FreeListAlloc / FreeListHeap",
        "peak reserved: FreeListHeap / min(talc, dlmalloc) (target ≤ 1.0)",
        "A/A: talc / talc",
    ]);
    for o in outcomes
        .iter()
        .filter(|o| o.workload.group() == Group::General)
    {
        let g = o.workload.group();
        let noise = o.noise();
        let cell = |r: Option<Ratio>, target: f64| {
            r.map_or_else(String::new, |r| {
                format!("{} {}", r.show(), r.verdict(target, noise))
            })
        };
        let memory = peaks
            .iter()
            .find(|p| p.workload == o.workload)
            .and_then(|p| {
                let ours = p.get(core)??;
                let theirs = p.get(TalcRow::KEY)??.min(p.get(Dlmalloc::KEY)??);
                let r = ours as f64 / theirs as f64;
                let verdict = if r <= 1.0 {
                    "met".to_owned()
                } else {
                    format!("missed by {:.0}%", (r - 1.0) * 100.0)
                };
                Some(format!(
                    "{r:.2} ({} vs {}) {verdict}",
                    show_bytes(ours),
                    show_bytes(theirs)
                ))
            })
            .unwrap_or_default();
        t.row(vec![
            o.workload.key().to_owned(),
            cell(o.ratio(core, TalcRow::KEY), 1.0),
            cell(o.ratio(core, Dlmalloc::KEY), 1.0),
            o.ratio(GlobalFreeList::KEY, core)
                .map_or_else(String::new, |r| r.show()),
            memory,
            o.ratio(g.aa_key(), g.aa_base())
                .map_or_else(String::new, |r| r.show()),
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

/// Appends a paragraph: a blank line after it in Markdown, a newline in
/// text.
fn para(out: &mut String, text: &str, markdown: bool) {
    *out += text;
    *out += if markdown { "\n\n" } else { "\n" };
}

/// Appends a heading.
fn heading(out: &mut String, text: &str, markdown: bool) {
    if markdown {
        let _ = write!(out, "#### {text}\n\n");
    } else {
        let _ = write!(out, "\n== {text} ==\n\n");
    }
}

/// Appends one table per workload of `group`, each under its title.
fn workload_tables(
    out: &mut String,
    outcomes: &[Outcome],
    peaks: &[Peaks],
    group: Group,
    markdown: bool,
) {
    for o in outcomes.iter().filter(|o| o.workload.group() == group) {
        let title = format!("{} — {}", o.workload.key(), o.workload.describe());
        if markdown {
            let _ = write!(out, "**{title}**\n\n");
        } else {
            let _ = writeln!(out, "{title}");
        }
        let p = peaks.iter().find(|p| p.workload == o.workload);
        *out += &workload_table(o, p, markdown);
        *out += "\n";
    }
}

/// The bump group's section.
fn bump_section(out: &mut String, run: &Run<'_>, outcomes: &[Outcome], markdown: bool) {
    heading(out, Group::Bump.title(), markdown);
    para(
        out,
        &format!(
            "BumpAlloc's lock skips its atomic (lock_is_elided()): {}. The A/A row is bumpalo \
             measured a second time, as a separate contestant: how far it strays from 1.00 is \
             the error bar of this group.",
            yes_no(run.elided)
        ),
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    workload_tables(out, outcomes, &[], Group::Bump, markdown);
    para(
        out,
        "Targets: median ratio over the rounds [interquartile range of the per-round ratios]; \
         \"within noise\" means above the target by less than the A/A row's spread.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    *out += &targets_table(outcomes, markdown);
}

/// The general group's section.
fn general_section(out: &mut String, outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) {
    heading(out, Group::General.title(), markdown);
    para(
        out,
        "FreeListHeap is polyalloc's free-list core called directly; FreeListAlloc is the same \
         core behind its lock, called through GlobalAlloc (an instance, not this process's \
         allocator). Every contestant frees each block. Ratio cells: median [interquartile \
         range] of the per-round ratios. The A/A row is talc measured a second time: its \
         distance from 1.00 is this group's error bar.",
        markdown,
    );
    para(
        out,
        "Peak reserved: the most bytes the allocator held from the OS at once during one round \
         on a fresh allocator (a separate, untimed pass, in a child process). Each peer gets \
         memory the way its host users give it, counted on the way: polyalloc through a \
         counting wrapper of its mmap source; talc through an OOM handler mapping 64 KiB units \
         (extending its last heap when the next pages are free); dlmalloc through its system \
         hooks (mmap/mremap/munmap, its own 64 KiB granularity); rlsf through a FlexSource \
         mapping 64 KiB units and growing its last pool in place, as its own unix source does; \
         linked_list_allocator from one reservation, extended 64 KiB at a time. FreeListAlloc's \
         figure is the same lock and core over the counting source. System: glibc's mallinfo2, \
         the peak of arena + hblkhd during the round less the bytes in use before it.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    for p in peaks {
        if let Err(e) = &p.rows {
            para(
                out,
                &format!("(peak pass for {} failed: {e})", p.workload.key()),
                markdown,
            );
        }
    }
    workload_tables(out, outcomes, peaks, Group::General, markdown);
    para(
        out,
        "The bar (docs: at least as fast as talc and dlmalloc, with the same or lower peak \
         memory): median ratio [interquartile range]; \"within noise\" means above the target \
         by less than the A/A row's spread. Peak memory is one deterministic round, no noise.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    *out += &general_targets_table(outcomes, peaks, markdown);
}

/// The whole report.
pub fn render(
    run: &Run<'_>,
    outcomes: &[Outcome],
    threaded: &[Outcome],
    peaks: &[Peaks],
    markdown: bool,
) -> String {
    let plan = run.plan;
    let mode = run.mode;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = String::new();
    para(
        &mut out,
        &format!(
            "polyalloc-bench, {mode} mode: {} rounds, ~{} ms per sample, {cpus} CPUs visible. \
             Contestants are interleaved (the order rotates and reverses every round); each \
             sample starts from a fresh allocator warmed up by one untimed round.",
            plan.rounds,
            plan.sample.as_millis(),
        ),
        markdown,
    );
    para(
        &mut out,
        "ns/op: median over the rounds. Ratios: median over the rounds of the ratio between \
         two samples of the same round (below 1 = faster than the column's contestant).",
        markdown,
    );
    let has = |g: Group| outcomes.iter().any(|o| o.workload.group() == g);
    if has(Group::Bump) {
        bump_section(&mut out, run, outcomes, markdown);
    }
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
            markdown,
        );
        if !markdown {
            out += "\n";
        }
        out += &lock_table(outcomes, threaded, markdown);
    }
    if has(Group::General) {
        if has(Group::Bump) {
            out += "\n";
        }
        general_section(&mut out, outcomes, peaks, markdown);
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
