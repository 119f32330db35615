//! Turning samples into the tables: plain text for a terminal, or Markdown
//! (`--markdown`) to paste into docs/benchmarks.md unedited.

pub mod adaptive;
pub mod host;

use std::fmt::Write as _;

use polyalloc_bench::contestants::buddy::{BuddySystem, CoreBuddy, GlobalBuddy, MatrixBase};
use polyalloc_bench::contestants::general::{
    CoreFreeList, Dlmalloc, GlobalFreeList, Talc as TalcRow,
};
use polyalloc_bench::contestants::slab::{CoreSlab, GlobalSlab, Mimalloc};
use polyalloc_bench::contestants::{Bumpalo, Contestant, CoreBump, GlobalBump};
use polyalloc_bench::matrix::{MULTIPLY_ADDS, N, ROW};
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

/// Row `key` of a measurement.
fn find<'s>(series: &'s [Series], key: &str) -> Option<&'s Series> {
    series.iter().find(|s| s.key == key)
}

/// The ratio of rows `a / b` over the rounds, if both were measured.
fn ratio_of(series: &[Series], a: &str, b: &str) -> Option<Ratio> {
    Some(Ratio::of(&find(series, a)?.ratios(find(series, b)?)))
}

impl Outcome {
    fn get(&self, key: &str) -> Option<&Series> {
        find(&self.series, key)
    }

    /// The ratio `a / b` over the rounds, if both rows were measured.
    fn ratio(&self, a: &str, b: &str) -> Option<Ratio> {
        ratio_of(&self.series, a, b)
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
        self.row(key).map(|p| p.bytes)
    }

    fn row(&self, key: &str) -> Option<&Peak> {
        let rows = self.rows.as_ref().ok()?;
        rows.iter().find(|p| p.key == key)
    }

    /// Row `key`'s peak reserved bytes over the peak of the bytes live in
    /// requests, where both are known.
    fn overhead(&self, key: &str) -> Option<f64> {
        let p = self.row(key)?;
        (p.requested > 0).then_some(p.bytes? as f64 / p.requested as f64)
    }
}

/// The key and name of the `matrix` A/A row: its base measured again.
pub const MATRIX_AA_KEY: &str = "system-aa";
/// See [`MATRIX_AA_KEY`].
pub const MATRIX_AA_NAME: &str = "System, again (A/A)";

/// The `matrix` measurement.
pub struct MatrixOutcome {
    /// One series per row (ns per multiply-add), the A/A row last.
    pub series: Vec<Series>,
    /// The most common distance between consecutive rows of `B`, per
    /// contestant.
    pub strides: Vec<(&'static str, Option<isize>)>,
    /// Rounds measured.
    pub rounds: usize,
}

/// Bytes in KiB below a MiB, else in MiB.
pub fn show_bytes(n: usize) -> String {
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
pub struct Ratio {
    median: f64,
    q1: f64,
    q3: f64,
}

impl Ratio {
    pub fn of(per_round: &[f64]) -> Self {
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

    pub fn show(&self) -> String {
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
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The first column is left-aligned, the others right-aligned.
    pub fn render(&self, markdown: bool) -> String {
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

/// The cell of a ratio against a base: median and interquartile range, or
/// the median alone.
fn ratio_cell(r: Ratio, iqr: bool) -> String {
    if iqr {
        format!("{:.2}× [{:.2}–{:.2}]", r.median, r.q1, r.q3)
    } else {
        format!("{:.2}×", r.median)
    }
}

/// A target's cell: the ratio and its verdict against `target` given the
/// A/A `noise`; empty where the ratio was not measured.
fn target_cell(r: Option<Ratio>, target: f64, noise: f64) -> String {
    r.map_or_else(String::new, |r| {
        format!("{} {}", r.show(), r.verdict(target, noise))
    })
}

/// One table per workload: ns/op and the ratios against each of the
/// group's bases. The groups with a peak pass also show the interquartile
/// range in their cells and a column of peak bytes reserved; the
/// power-of-two group, another of those bytes over the peak requested.
fn workload_table(o: &Outcome, peaks: Option<&Peaks>, markdown: bool) -> String {
    let group = o.workload.group();
    let general = group.has_peaks();
    let overhead = matches!(group, Group::Buddy | Group::Slab);
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
    if overhead {
        header.push("reserved / requested".to_owned());
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs);
    for s in &o.series {
        let mut cells = vec![s.name.to_owned(), format!("{:.2}", s.median())];
        for &base in group.ratio_bases() {
            cells.push(match o.ratio(s.key, base) {
                Some(_) if s.key == base => "—".to_owned(),
                Some(r) => ratio_cell(r, general),
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
            if overhead {
                cells.push(
                    peaks
                        .and_then(|p| p.overhead(key))
                        .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}")),
                );
            }
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
        t.row(vec![
            o.workload.key().to_owned(),
            target_cell(
                o.ratio(GlobalBump::KEY, CoreBump::<Uncounted>::KEY),
                1.5,
                noise,
            ),
            target_cell(
                o.ratio(CoreBump::<Uncounted>::KEY, Bumpalo::KEY),
                1.0,
                noise,
            ),
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
            target_cell(o.ratio(core, TalcRow::KEY), 1.0, noise),
            target_cell(o.ratio(core, Dlmalloc::KEY), 1.0, noise),
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
    peak_failures(out, peaks, Group::General, markdown);
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

/// Appends a line for each of `group`'s peak passes that failed.
fn peak_failures(out: &mut String, peaks: &[Peaks], group: Group, markdown: bool) {
    for p in peaks.iter().filter(|p| p.workload.group() == group) {
        if let Err(e) = &p.rows {
            para(
                out,
                &format!("(peak pass for {} failed: {e})", p.workload.key()),
                markdown,
            );
        }
    }
}

/// The reserved / requested cell of a targets table: `a`'s against `b`'s on
/// `workload`, empty when either was not measured.
fn overhead_pair(peaks: &[Peaks], workload: Workload, a: &str, b: &str) -> String {
    peaks
        .iter()
        .find(|p| p.workload == workload)
        .and_then(|p| Some(format!("{:.2} vs {:.2}", p.overhead(a)?, p.overhead(b)?)))
        .unwrap_or_default()
}

/// The power-of-two group's bar, workload by workload: faster than
/// buddy_system_allocator (the core, and the `GlobalAlloc` path too); the
/// `GlobalAlloc` path's cost over the core; the fragmentation of the core
/// and of its peer; the A/A error bar.
fn buddy_targets_table(outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) -> String {
    let (core, global, peer) = (CoreBuddy::KEY, GlobalBuddy::KEY, BuddySystem::KEY);
    let mut t = Table::new(&[
        "workload",
        "BuddyHeap / buddy_system_allocator (target ≤ 1.0)",
        "BuddyAlloc / buddy_system_allocator (target ≤ 1.0)",
        "BuddyAlloc / BuddyHeap",
        "reserved / requested: BuddyHeap vs buddy_system_allocator",
        "A/A: buddy_system_allocator / itself",
    ]);
    for o in outcomes
        .iter()
        .filter(|o| o.workload.group() == Group::Buddy)
    {
        let g = o.workload.group();
        let noise = o.noise();
        let memory = overhead_pair(peaks, o.workload, core, peer);
        t.row(vec![
            o.workload.key().to_owned(),
            target_cell(o.ratio(core, peer), 1.0, noise),
            target_cell(o.ratio(global, peer), 1.0, noise),
            o.ratio(global, core).map_or_else(String::new, |r| r.show()),
            memory,
            o.ratio(g.aa_key(), g.aa_base())
                .map_or_else(String::new, |r| r.show()),
        ]);
    }
    t.render(markdown)
}

/// The power-of-two group's section.
fn buddy_section(out: &mut String, outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) {
    heading(out, Group::Buddy.title(), markdown);
    para(
        out,
        "BuddyHeap is polyalloc's buddy core called directly (over a counting mmap source); \
         BuddyAlloc is the same core behind its lock, called through GlobalAlloc (an instance, \
         not this process's allocator). buddy_system_allocator is its Heap<33> called \
         directly; it has no reallocation, so its grow moves the block, as its GlobalAlloc \
         does. talc is the general group's row. Every contestant frees each block. Ratio \
         cells: median [interquartile range] of the per-round ratios. The A/A row is \
         buddy_system_allocator measured a second time: its distance from 1.00 is this \
         group's error bar.",
        markdown,
    );
    para(
        out,
        "Peak reserved: as in the general-purpose group (one untimed round on a fresh \
         allocator, in a child process). buddy_system_allocator is handed memory when an \
         allocation fails, as a kernel grows its heap: the next pages of one large \
         reservation (aligned to 1 GiB), from its top to the end of the first block of the \
         request's size aligned to that size, in 64 KiB steps, all add_to_heap'ed (it cuts a \
         range into blocks aligned to their size); it never gives memory back. (Separate \
         mmaps per chunk made its speed depend on where the OS put them: up to four times \
         apart between runs.) Reserved / requested: the peak reserved \
         over the most bytes the round had live in requests (the layouts' sizes), from the \
         same pass. 1.00 would be no overhead; the figure counts rounding each block up \
         (internal fragmentation) and holes and memory kept for reuse (external) together.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    peak_failures(out, peaks, Group::Buddy, markdown);
    workload_tables(out, outcomes, peaks, Group::Buddy, markdown);
    para(
        out,
        "The bar (issue: faster than buddy_system_allocator on every workload): median ratio \
         [interquartile range]; \"within noise\" means above the target by less than the A/A \
         row's spread. Reserved / requested is one deterministic round, no noise.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    *out += &buddy_targets_table(outcomes, peaks, markdown);
}

/// The small-object group's bar, workload by workload: within 1.2x of
/// mimalloc, ahead of talc and the system allocator (the core, and the
/// `GlobalAlloc` path's ratio to mimalloc); reserved / requested for the
/// core and mimalloc; the A/A error bar.
fn slab_targets_table(outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) -> String {
    let (core, global, mi) = (CoreSlab::KEY, GlobalSlab::KEY, Mimalloc::KEY);
    let (talc, system) = (TalcRow::KEY, polyalloc_bench::contestants::SystemAlloc::KEY);
    let mut t = Table::new(&[
        "workload",
        "SlabHeap / mimalloc (target ≤ 1.2)",
        "SlabAlloc / mimalloc (target ≤ 1.2)",
        "SlabHeap / talc (target ≤ 1.0)",
        "SlabHeap / System (target ≤ 1.0)",
        "reserved / requested: SlabHeap vs mimalloc",
        "A/A: mimalloc / itself",
    ]);
    for o in outcomes
        .iter()
        .filter(|o| o.workload.group() == Group::Slab)
    {
        let g = o.workload.group();
        let noise = o.noise();
        let memory = overhead_pair(peaks, o.workload, core, mi);
        t.row(vec![
            o.workload.key().to_owned(),
            target_cell(o.ratio(core, mi), 1.2, noise),
            target_cell(o.ratio(global, mi), 1.2, noise),
            target_cell(o.ratio(core, talc), 1.0, noise),
            target_cell(o.ratio(core, system), 1.0, noise),
            memory,
            o.ratio(g.aa_key(), g.aa_base())
                .map_or_else(String::new, |r| r.show()),
        ]);
    }
    t.render(markdown)
}

/// The small-object group's section.
fn slab_section(out: &mut String, outcomes: &[Outcome], peaks: &[Peaks], markdown: bool) {
    heading(out, Group::Slab.title(), markdown);
    para(
        out,
        "SlabHeap is polyalloc's slab core called directly (over a counting mmap source); \
         SlabAlloc is the same core behind its lock, called through GlobalAlloc (an instance, \
         not this process's allocator). mimalloc is libmimalloc-sys's mimalloc with a heap of \
         its own (mi_heap_new; mi_heap_malloc, mi_free, mi_heap_realloc_aligned), linked into \
         this process beside glibc. talc and System are the general group's rows. Every \
         contestant frees each block. The A/A row is mimalloc measured a second time: its \
         distance from 1.00 is this group's error bar.",
        markdown,
    );
    para(
        out,
        "Peak reserved: as in the general-purpose group (one untimed round on a fresh \
         allocator, in a child process); mimalloc's is its own peak committed memory \
         (mi_process_info), which counts only what mimalloc committed in that process.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    peak_failures(out, peaks, Group::Slab, markdown);
    workload_tables(out, outcomes, peaks, Group::Slab, markdown);
    para(
        out,
        "The bar (issue 5: within 1.2x of mimalloc single-threaded on small objects, ahead of \
         talc and the system allocator): median ratio [interquartile range]; \"within noise\" \
         means above the target by less than the A/A row's spread.",
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    *out += &slab_targets_table(outcomes, peaks, markdown);
}

/// The `matrix` measurement's section.
fn matrix_section(out: &mut String, m: &MatrixOutcome, markdown: bool) {
    heading(out, "Placement: a naive matrix multiply", markdown);
    let base = <MatrixBase as Contestant>::KEY;
    para(
        out,
        &format!(
            "C = A × B for {N}×{N} f64 matrices, naively (i, j, k loops: the inner loop walks \
             a column of B), where every row of A, B and C is a block of its own: {ROW} f64s \
             ({} KiB, of which the first {N} are used), A's rows allocated first, then B's, \
             then C's, from a fresh allocator for every sample. Only the multiply is timed \
             ({N}³ multiply-adds), {} rounds, one multiply per sample, interleaved. \
             B's row stride: the most common distance between consecutive rows of B. At \
             exactly 4,096 B every element of a column maps to the same few cache sets.",
            ROW * 8 / 1024,
            m.rounds,
        ),
        markdown,
    );
    if !markdown {
        *out += "\n";
    }
    let base_name = find(&m.series, base).map_or(base, |s| short(s.name));
    let vs = format!("vs {base_name}");
    let mut t = Table::new(&["contestant", "ms/multiply", &vs, "B's row stride"]);
    for s in &m.series {
        let key = if s.key == MATRIX_AA_KEY { base } else { s.key };
        let stride = m
            .strides
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|&(_, st)| st)
            .map_or_else(|| "irregular".to_owned(), |st| format!("{st} B"));
        t.row(vec![
            s.name.to_owned(),
            format!("{:.1}", s.median() * MULTIPLY_ADDS as f64 / 1e6),
            match ratio_of(&m.series, s.key, base) {
                Some(_) if s.key == base => "—".to_owned(),
                Some(r) => ratio_cell(r, true),
                None => String::new(),
            },
            stride,
        ]);
    }
    *out += &t.render(markdown);
}

/// The whole report.
pub fn render(
    run: &Run<'_>,
    outcomes: &[Outcome],
    threaded: &[Outcome],
    peaks: &[Peaks],
    matrix: Option<&MatrixOutcome>,
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
    if has(Group::Buddy) {
        if has(Group::Bump) || has(Group::General) {
            out += "\n";
        }
        buddy_section(&mut out, outcomes, peaks, markdown);
    }
    if has(Group::Slab) {
        if has(Group::Bump) || has(Group::General) || has(Group::Buddy) {
            out += "\n";
        }
        slab_section(&mut out, outcomes, peaks, markdown);
    }
    if let Some(m) = matrix {
        if !outcomes.is_empty() {
            out += "\n";
        }
        matrix_section(&mut out, m, markdown);
    }
    out
}

/// Every sample of every row, in round order: for looking at the spread
/// behind a median.
pub fn raw(outcomes: &[Outcome], threaded: &[Outcome], matrix: Option<&MatrixOutcome>) -> String {
    let mut out = String::from("\nsamples (ns/op, in round order)\n");
    let measurements = outcomes
        .iter()
        .map(|o| (o.workload.key().to_owned(), &o.series))
        .chain(
            threaded
                .iter()
                .map(|o| (format!("{}, second thread", o.workload.key()), &o.series)),
        )
        .chain(matrix.map(|m| ("matrix (ns per multiply-add)".to_owned(), &m.series)));
    for (label, series) in measurements {
        for s in series {
            let values: Vec<String> = s.ns_per_op.iter().map(|v| format!("{v:.2}")).collect();
            let _ = writeln!(out, "{label} / {}: {}", s.key, values.join(" "));
        }
    }
    out
}
