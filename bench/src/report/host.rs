//! The host section: a table per workload and thread count (time against
//! the system allocator, peak resident memory, a verdict), the goals of
//! issue 8 with the gap to each, and the SVG charts.

use std::fmt::Write as _;

use polyalloc_bench::host::{HostWorkload, Kind, Report};

use super::{Ratio, Table, heading, para, ratio_cell, show_bytes};
use crate::hostrun::{AA_KEY, HostOutcome, HostPlan, Row};
use crate::measure::quantile;

/// The goal against mimalloc on single-threaded runs: at most this ratio.
const MIMALLOC_GOAL: f64 = 1.1;
/// Issue 11's goal for the per-thread heaps against mimalloc, at every
/// thread count.
const THREADS_MIMALLOC_GOAL: f64 = 1.2;

impl HostOutcome {
    fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key() == key)
    }

    /// The per-repetition ratios of `a`'s time over `b`'s (repetitions
    /// where both ran).
    fn ratio(&self, a: &str, b: &str) -> Option<Ratio> {
        let (a, b) = (self.row(a)?, self.row(b)?);
        let per: Vec<f64> = a
            .runs
            .iter()
            .zip(&b.runs)
            .filter_map(|(x, y)| Some(seconds(x.as_ref().ok()?) / seconds(y.as_ref().ok()?)))
            .collect();
        (!per.is_empty()).then(|| Ratio::of(&per))
    }

    /// The A/A row's spread (0 if it did not run).
    fn noise(&self) -> f64 {
        self.ratio(AA_KEY, Kind::System.key())
            .map_or(0.0, |r| r.noise())
    }

    /// The polyalloc allocator with the lowest median time against the
    /// system allocator.
    fn best_polyalloc(&self) -> Option<(&Row, Ratio)> {
        self.rows
            .iter()
            .filter(|r| r.kind.is_polyalloc() && !r.aa)
            .filter_map(|r| Some((r, self.ratio(r.key(), Kind::System.key())?)))
            .min_by(|a, b| a.1.median.total_cmp(&b.1.median))
    }

    fn title(&self) -> String {
        let threads = if self.threads == 1 {
            "1 thread".to_owned()
        } else {
            format!("{} threads", self.threads)
        };
        format!("{}, {threads}", self.workload.key())
    }
}

fn seconds(r: &Report) -> f64 {
    r.time_ns as f64 / 1e9
}

/// The median of `f` over a row's successful runs.
fn median_of(row: &Row, f: impl Fn(&Report) -> f64) -> Option<f64> {
    let v: Vec<f64> = row
        .runs
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(f)
        .collect();
    (!v.is_empty()).then(|| quantile(&v, 0.5))
}

fn peak_rss(row: &Row) -> Option<f64> {
    median_of(row, |r| r.maxrss_kib as f64 * 1024.0)
}

/// The first error of a row that has no successful run.
fn failure(row: &Row) -> Option<String> {
    if let Some(why) = row.skipped {
        return Some(why.to_owned());
    }
    if row.runs.iter().any(Result::is_ok) {
        return None;
    }
    row.runs.iter().find_map(|r| r.as_ref().err().cloned())
}

/// The row's verdict: against the system allocator, then against mimalloc.
fn verdict(o: &HostOutcome, row: &Row) -> String {
    let system = Kind::System.key();
    if row.aa {
        return format!("A/A: noise ±{:.0}%", o.noise() * 100.0);
    }
    if row.kind == Kind::System {
        return "baseline".to_owned();
    }
    let Some(vs_system) = o.ratio(row.key(), system) else {
        return String::new();
    };
    let noise = o.noise();
    let mut v = if vs_system.median < 1.0 - noise {
        "faster than system".to_owned()
    } else if vs_system.median > 1.0 + noise {
        "slower than system".to_owned()
    } else {
        "level with system (A/A noise)".to_owned()
    };
    if row.kind != Kind::Mimalloc {
        if let Some(m) = o.ratio(row.key(), Kind::Mimalloc.key()) {
            if m.median <= 1.0 {
                v += "; faster than mimalloc";
            } else if m.median <= MIMALLOC_GOAL {
                v += "; within 1.1× of mimalloc";
            } else {
                let _ = write!(v, "; {:.2}× mimalloc", m.median);
            }
        }
    }
    v
}

/// The table of one workload at one thread count.
fn table(o: &HostOutcome, markdown: bool) -> String {
    let over_time = o.workload == HostWorkload::RssOverTime;
    let mut header = vec!["allocator", "time vs system [IQR]", "time", "peak RSS"];
    if over_time {
        header.push("RSS at end");
    }
    header.push("verdict");
    let mut t = Table::new(&header);
    for row in &o.rows {
        let name = if row.aa {
            "System, again (A/A)"
        } else {
            row.kind.name()
        };
        let mut cells = vec![name.to_owned()];
        if let Some(why) = failure(row) {
            cells.push(why);
            cells.extend(std::iter::repeat_n(String::new(), header.len() - 2));
            t.row(cells);
            continue;
        }
        cells.push(match o.ratio(row.key(), Kind::System.key()) {
            Some(_) if row.kind == Kind::System && !row.aa => "—".to_owned(),
            Some(r) => ratio_cell(r, true),
            None => String::new(),
        });
        cells.push(
            median_of(row, seconds).map_or_else(String::new, |s| format!("{:.0} ms", s * 1e3)),
        );
        cells.push(peak_rss(row).map_or_else(String::new, |b| show_bytes(b as usize)));
        if over_time {
            cells.push(
                median_of(row, |r| {
                    r.rss_kib.last().map_or(0.0, |&k| k as f64 * 1024.0)
                })
                .map_or_else(String::new, |b| show_bytes(b as usize)),
            );
        }
        cells.push(verdict(o, row));
        t.row(cells);
    }
    t.render(markdown)
}

/// Met, or missed by how much, with the A/A noise as tolerance.
fn goal_cell(r: Option<Ratio>, target: f64, noise: f64) -> String {
    r.map_or_else(
        || "—".to_owned(),
        |r| format!("{:.2}× {}", r.median, r.verdict(target, noise)),
    )
}

/// The goals of issue 8, per workload and thread count: polyalloc's fastest
/// allocator there against the system allocator (at least as fast),
/// against mimalloc on one thread (within 1.1×), and its peak RSS against
/// mimalloc's (no higher).
fn goals_table(outcomes: &[HostOutcome], markdown: bool) -> String {
    let mut t = Table::new(&[
        "workload",
        "polyalloc's fastest",
        "vs system (goal ≤ 1.00)",
        "vs mimalloc (1 thread: goal ≤ 1.10)",
        "peak RSS vs mimalloc (goal ≤ 1.00)",
    ]);
    for o in outcomes {
        let noise = o.noise();
        let Some((best, vs_system)) = o.best_polyalloc() else {
            t.row(vec![o.title(), "—".to_owned()]);
            continue;
        };
        let vs_mi = o.ratio(best.key(), Kind::Mimalloc.key());
        let mi_goal = if o.threads == 1 {
            goal_cell(vs_mi, MIMALLOC_GOAL, noise)
        } else {
            vs_mi.map_or_else(|| "—".to_owned(), |r| format!("{:.2}× (no goal)", r.median))
        };
        let rss = rss_cell(Some(best), o.row(Kind::Mimalloc.key()));
        t.row(vec![
            o.title(),
            best.kind.name().to_owned(),
            goal_cell(Some(vs_system), 1.0, noise),
            mi_goal,
            rss,
        ]);
    }
    t.render(markdown)
}

/// Peak RSS of `a` over `b`'s, met when no higher.
fn rss_cell(a: Option<&Row>, b: Option<&Row>) -> String {
    match (a.and_then(peak_rss), b.and_then(peak_rss)) {
        (Some(a), Some(b)) => {
            let r = a / b;
            if r <= 1.0 {
                format!("{r:.2} met")
            } else {
                format!("{r:.2} missed by {:.0}%", (r - 1.0) * 100.0)
            }
        }
        _ => "—".to_owned(),
    }
}

/// The goals of issue 11 for the per-thread heaps (`ThreadAlloc`), on the
/// threaded workloads at every thread count: faster than the system
/// allocator, within 1.2× of mimalloc, peak RSS no higher than jemalloc's.
/// Empty when ThreadAlloc did not run on a threaded workload.
fn threads_goals_table(outcomes: &[HostOutcome], markdown: bool) -> String {
    let mut t = Table::new(&[
        "workload",
        "ThreadAlloc vs system (goal ≤ 1.00)",
        "vs mimalloc (goal ≤ 1.20)",
        "peak RSS vs jemalloc (goal ≤ 1.00)",
    ]);
    let mut any = false;
    for o in outcomes.iter().filter(|o| o.workload.threaded()) {
        let key = Kind::Threads.key();
        if o.row(key).is_none() {
            continue;
        }
        any = true;
        let noise = o.noise();
        t.row(vec![
            o.title(),
            goal_cell(o.ratio(key, Kind::System.key()), 1.0, noise),
            goal_cell(
                o.ratio(key, Kind::Mimalloc.key()),
                THREADS_MIMALLOC_GOAL,
                noise,
            ),
            rss_cell(o.row(key), jemalloc_row(o)),
        ]);
    }
    if any {
        t.render(markdown)
    } else {
        String::new()
    }
}

/// jemalloc's row, where it was built in.
fn jemalloc_row(o: &HostOutcome) -> Option<&Row> {
    #[cfg(feature = "jemalloc")]
    {
        o.row(Kind::Jemalloc.key())
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        let _ = o;
        None
    }
}

/// The host section.
pub fn section(
    out: &mut String,
    outcomes: &[HostOutcome],
    plan: &HostPlan,
    mode: &str,
    markdown: bool,
) {
    heading(
        out,
        "Host workloads: each allocator as the global allocator",
        markdown,
    );
    para(
        out,
        &format!(
            "Each run is a child process whose #[global_allocator] is the allocator of its row \
             (every row pays the same start-up dispatch); {mode}: work scale {}, {} runs per row, \
             interleaved. Time: the workload alone, median; ratios: median [interquartile range] \
             of the per-repetition ratios against the system allocator. Peak RSS: the child's \
             VmHWM (/proc/self/status), median.",
            plan.scale, plan.repeats
        ),
        markdown,
    );
    for o in outcomes {
        let title = format!("{} — {}", o.title(), describe(o.workload));
        if markdown {
            let _ = write!(out, "**{title}**\n\n");
        } else {
            let _ = writeln!(out, "{title}");
        }
        *out += &table(o, markdown);
        *out += "\n";
    }
    heading(out, "Goals (issue 8)", markdown);
    *out += &goals_table(outcomes, markdown);
    let threads = threads_goals_table(outcomes, markdown);
    if !threads.is_empty() {
        heading(out, "Goals of the per-thread heaps (issue 11)", markdown);
        *out += &threads;
    }
}

/// One line on what the workload does.
fn describe(w: HostWorkload) -> &'static str {
    match w {
        HostWorkload::Larson => "larson-style churn, 1 block in 8 freed by another thread",
        HostWorkload::Xmalloc => "producer/consumer ring: every block freed by the next thread",
        HostWorkload::CacheScratch => "false sharing: 8-byte objects written many times",
        HostWorkload::MallocFree => "tight malloc/free loop, 8..=512 B",
        HostWorkload::ReallocString => "four strings grown by exact reallocs",
        HostWorkload::RssOverTime => "fragmentation: phases of sizes, 1 in 10 kept",
    }
}

// ---------------------------------------------------------------------------
// Charts

/// A horizontal bar chart of every row's time against the system allocator
/// (median, with the interquartile range as a whisker), as SVG.
pub fn chart(o: &HostOutcome) -> String {
    let bars: Vec<(&str, Ratio)> = o
        .rows
        .iter()
        .filter_map(|r| {
            let name = if r.aa {
                "System, again (A/A)"
            } else {
                r.kind.name()
            };
            Some((name, o.ratio(r.key(), Kind::System.key())?))
        })
        .collect();
    let label_w = 330.0;
    let plot_w = 360.0;
    let row_h = 22.0;
    let top = 34.0;
    let height = top + row_h * bars.len() as f64 + 28.0;
    // A log scale centred on 1: as far right for 2× slower as left for
    // 2× faster.
    let lo = bars
        .iter()
        .map(|(_, r)| r.q1.min(r.median))
        .fold(0.5_f64, f64::min)
        .max(1.0 / 64.0);
    let hi = bars
        .iter()
        .map(|(_, r)| r.q3.max(r.median))
        .fold(2.0_f64, f64::max)
        .min(64.0);
    let x = |v: f64| label_w + plot_w * (v.clamp(lo, hi) / lo).ln() / (hi / lo).ln();
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12">"##,
        w = label_w + plot_w + 60.0
    );
    let _ = writeln!(
        s,
        r##"<text x="8" y="18" font-size="14" font-weight="bold">{}: time against the system allocator (log scale; left of 1 is faster)</text>"##,
        o.title()
    );
    for (i, (name, r)) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let colour = if name.starts_with("polyalloc") {
            "#2b7bb9"
        } else {
            "#9a9a9a"
        };
        let _ = writeln!(
            s,
            r##"<text x="{lx}" y="{ty}" text-anchor="end">{name}</text><rect x="{bx:.1}" y="{y}" width="{bw:.1}" height="{bh}" fill="{colour}"/><line x1="{q1:.1}" x2="{q3:.1}" y1="{my}" y2="{my}" stroke="black"/><text x="{tx:.1}" y="{ty}">{m:.2}</text>"##,
            lx = label_w - 6.0,
            ty = y + 14.0,
            bx = x(r.median).min(x(1.0)),
            bw = (x(r.median) - x(1.0)).abs(),
            bh = row_h - 6.0,
            q1 = x(r.q1),
            q3 = x(r.q3),
            my = y + (row_h - 6.0) / 2.0,
            tx = x(r.median.max(r.q3).max(1.0)) + 4.0,
            m = r.median,
        );
    }
    let one = x(1.0);
    let bottom = top + row_h * bars.len() as f64;
    let _ = writeln!(
        s,
        r##"<line x1="{one:.1}" x2="{one:.1}" y1="{top}" y2="{bottom}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="{one:.1}" y="{ly}" text-anchor="middle" fill="#c0392b">1.0 = system</text>"##,
        ly = bottom + 16.0
    );
    s += "</svg>\n";
    s
}

/// Writes one chart per workload and thread count into `dir`, named
/// `host-WORKLOAD-Nt.svg`; returns the file names.
pub fn write_charts(
    dir: &std::path::Path,
    outcomes: &[HostOutcome],
) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for o in outcomes {
        let name = format!("host-{}-{}t.svg", o.workload.key(), o.threads);
        std::fs::write(dir.join(&name), chart(o))?;
        names.push(name);
    }
    Ok(names)
}
