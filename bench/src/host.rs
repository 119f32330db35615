//! The host workloads: each allocator as the process's
//! `#[global_allocator]`, one child process per run, so that every
//! allocation of the program goes to it (the standard library's included)
//! and the peak resident memory the kernel reports is its own.
//!
//! The comparison run's binary is also the worker: `polyalloc-bench` starts
//! itself as `polyalloc-bench worker WORKLOAD THREADS SCALE` with
//! [`ALLOC_VAR`] naming the allocator, and reads back one [`Report`] line.
//! (One binary rather than two: `cargo run` builds only the binary it runs,
//! so a second binary could be missing, or older than the driver.)
//!
//! - [`dispatch`]: the global allocator that forwards to the one chosen at
//!   start-up;
//! - [`workloads`]: the six workloads, modelled on mimalloc-bench's.

pub mod dispatch;
pub mod workloads;

use std::fmt;

pub use dispatch::Kind;
pub use workloads::HostWorkload;

/// The environment variable that names the worker's allocator (a
/// [`Kind::key`]); unset, it is the system allocator.
pub const ALLOC_VAR: &str = "POLYALLOC_BENCH_ALLOC";

/// The line a worker prints for one run, and the driver parses:
///
/// ```text
/// host-result workload=larson threads=4 alloc=talc ops=400000 time_ns=81234567 maxrss_kib=5120 rss_kib=2048,3072
/// ```
///
/// `rss_kib` (resident memory sampled over the run, in KiB) is empty for
/// every workload but `rss-over-time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The workload's key.
    pub workload: String,
    /// Threads it ran on.
    pub threads: usize,
    /// The allocator's key.
    pub alloc: String,
    /// Operations done.
    pub ops: u64,
    /// Nanoseconds the workload took (the process's start and exit not
    /// included).
    pub time_ns: u64,
    /// The process's peak resident memory ([`peak_rss_kib`]), KiB.
    pub maxrss_kib: u64,
    /// Resident memory sampled during the run, KiB.
    pub rss_kib: Vec<u64>,
}

/// The first word of a [`Report`] line.
const TAG: &str = "host-result";

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TAG} workload={} threads={} alloc={} ops={} time_ns={} maxrss_kib={} rss_kib=",
            self.workload, self.threads, self.alloc, self.ops, self.time_ns, self.maxrss_kib
        )?;
        for (i, r) in self.rss_kib.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl Report {
    /// Parses the first [`Report`] line of a worker's output.
    ///
    /// # Errors
    ///
    /// If there is none, or a field is missing or not a number.
    pub fn parse(output: &str) -> Result<Self, String> {
        let line = output
            .lines()
            .find(|l| l.starts_with(TAG))
            .ok_or_else(|| format!("no `{TAG}` line in the worker's output"))?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no `{name}` in `{line}`"))
        };
        let number = |name: &str| {
            field(name)?
                .parse::<u64>()
                .map_err(|e| format!("`{name}` in `{line}`: {e}"))
        };
        let rss = field("rss_kib")?;
        Ok(Self {
            workload: field("workload")?.to_owned(),
            threads: number("threads")? as usize,
            alloc: field("alloc")?.to_owned(),
            ops: number("ops")?,
            time_ns: number("time_ns")?,
            maxrss_kib: number("maxrss_kib")?,
            rss_kib: rss
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|e| format!("`rss_kib` in `{line}`: {e}")))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The process's peak resident memory so far, in KiB: `VmHWM` of
/// `/proc/self/status`, which starts afresh with the address space at
/// `execve`. (`getrusage`'s `ru_maxrss` does not: Linux carries it over
/// from the parent across `fork` and `execve`, so a worker started by a
/// driver that had grown to 50 MiB reported 50 MiB whatever it did.) 0 where
/// it cannot be read.
#[must_use]
pub fn peak_rss_kib() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The process's resident memory now (the second field of
/// `/proc/self/statm`, in pages), in KiB; 0 where it cannot be read.
#[must_use]
pub fn rss_kib() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * crate::backing::page_size() as u64 / 1024
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn a_report_line_reads_back() {
        let r = Report {
            workload: "larson".into(),
            threads: 4,
            alloc: "talc".into(),
            ops: 10,
            time_ns: 20,
            maxrss_kib: 30,
            rss_kib: vec![1, 2],
        };
        let text = format!("noise\n{r}\n");
        assert_eq!(Report::parse(&text), Ok(r.clone()));
        let none = Report {
            rss_kib: Vec::new(),
            ..r
        };
        assert_eq!(Report::parse(&none.to_string()), Ok(none));
    }
}
