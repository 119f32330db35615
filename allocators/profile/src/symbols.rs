//! Naming backtrace frames when a profile is written (`std` feature).
//!
//! Each return address becomes one entry per function it is in (inlined
//! functions included), written as DHAT writes a frame:
//! `0x55d0c3a1b2c4: crate::module::function (src/file.rs:12:9)`, the path cut
//! to its last three components. Frames up to and including the last one
//! that belongs to the allocator machinery (the profiler, the global
//! allocator shims, `alloc::alloc`, the backtrace library) are trimmed off
//! the top; then [`Config::depth`](crate::Config::depth) entries are kept.
//!
//! This runs with the thread inside the profiler, so what it allocates
//! (names, paths, the backtrace library's caches) is passed through to the
//! inner allocator unrecorded.

use std::fmt::Write as _;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

use crate::json::Frames;
use crate::private::PrivateVec;

/// Names that mark a frame as the allocator's or the profiler's own.
const OWN: &[&str] = &[
    "backtrace::",
    "polyalloc_profile::",
    "<polyalloc_profile::",
    "<&polyalloc_profile::",
    "alloc::alloc::",
    "<alloc::alloc::",
    "std::alloc::",
    "__rg_",
    "__rustc::",
    "__rust_alloc",
    "__rust_dealloc",
    "__rust_realloc",
    "__rust_alloc_zeroed",
];

/// Whether the function named `name` is allocator machinery.
fn is_own(name: &str) -> bool {
    OWN.iter().any(|p| name.starts_with(p))
}

/// Appends to `fs` the frame indices of the point captured as `ips`.
pub(crate) fn name_frames(
    ips: &[usize],
    depth: usize,
    frames: &mut Frames,
    fs: &mut PrivateVec<u32>,
) {
    // (name of the function, the frame as written)
    let mut entries: Vec<(bool, String)> = Vec::new();
    for &ip in ips {
        let before = entries.len();
        backtrace::resolve(ip as *mut core::ffi::c_void, |symbol| {
            let name = symbol
                .name()
                .map(|n| format!("{n:#}"))
                .unwrap_or_else(|| String::from("???"));
            let mut line = format!("{ip:#x}: {name}");
            if let Some(file) = symbol.filename() {
                let _ = write!(
                    line,
                    " ({}:{}:{})",
                    trim_path(file).display(),
                    symbol.lineno().unwrap_or(0),
                    symbol.colno().unwrap_or(0)
                );
            }
            entries.push((is_own(&name), line));
        });
        if entries.len() == before {
            entries.push((false, format!("{ip:#x}: ???")));
        }
    }
    let first = entries
        .iter()
        .rposition(|(own, _)| *own)
        .map_or(0, |i| i + 1);
    for (_, line) in entries.iter().skip(first).take(depth) {
        fs.push(frames.intern(line));
    }
}

/// The last three components of `path`.
fn trim_path(path: &Path) -> &Path {
    let n = path.components().count();
    if n <= 3 {
        return path;
    }
    let mut components = path.components();
    for _ in 0..n - 3 {
        components.next();
    }
    components.as_path()
}
