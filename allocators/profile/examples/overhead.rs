//! The profiler's overhead: the same fixed work through `FreeListAlloc`'s
//! `GlobalAlloc`, bare and wrapped by the profiler in tag mode and in
//! backtrace mode, measured side by side in one run.
//!
//! ```sh
//! # Nanoseconds per operation, the three interleaved, plain twice (A/A):
//! cargo run --release -p polyalloc-profile --features std --example overhead
//! # Instructions per operation (one configuration per run):
//! cargo build --release -p polyalloc-profile --features std --example overhead
//! for c in plain tags backtrace; do
//!   valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     --callgrind-out-file=/tmp/cg.$c target/release/examples/overhead $c
//! done
//! ```
//!
//! One operation is an allocation and its free (a block of 16 to 512 bytes,
//! freed in a scrambled order), or one `realloc` of a growing block.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::Instant;

use polyalloc_freelist::FreeListAlloc;
use polyalloc_profile::{Config, Profiled};

static PLAIN: FreeListAlloc = FreeListAlloc::new();
static TAGS: Profiled<FreeListAlloc> = Profiled::with_config(FreeListAlloc::new(), Config::tags());
static TRACES: Profiled<FreeListAlloc> =
    Profiled::with_config(FreeListAlloc::new(), Config::backtraces());

const BLOCKS: usize = 1000;
const GROWS: usize = 200;

/// One round: `BLOCKS` allocations freed in a scrambled order, then one
/// block grown `GROWS` times. Returns the operations done.
#[inline(never)]
fn round(a: &dyn GlobalAlloc) -> usize {
    let mut blocks = [(core::ptr::null_mut::<u8>(), 0usize); BLOCKS];
    for (i, b) in blocks.iter_mut().enumerate() {
        let size = 16 + (i * 97) % 497;
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: a non-zero size.
        *b = (unsafe { a.alloc(layout) }, size);
        assert!(!b.0.is_null());
    }
    for k in 0..BLOCKS {
        let (ptr, size) = blocks[(k * 389) % BLOCKS];
        // SAFETY: each block once (389 is prime to 1000), with its layout.
        unsafe { a.dealloc(ptr, Layout::from_size_align(size, 8).unwrap()) };
    }
    let mut size = 16;
    // SAFETY: a non-zero size.
    let mut p = unsafe { a.alloc(Layout::from_size_align(size, 8).unwrap()) };
    for _ in 0..GROWS {
        // SAFETY: `p` is live with this layout; the new size is larger.
        p = unsafe { a.realloc(p, Layout::from_size_align(size, 8).unwrap(), size + 24) };
        assert!(!p.is_null());
        size += 24;
    }
    // SAFETY: as above.
    unsafe { a.dealloc(p, Layout::from_size_align(size, 8).unwrap()) };
    BLOCKS + GROWS
}

/// What callgrind collects (`--toggle-collect='*measured*'`).
#[inline(never)]
fn measured(a: &dyn GlobalAlloc, rounds: usize) -> usize {
    (0..rounds).map(|_| round(black_box(a))).sum()
}

fn pick(name: &str) -> &'static dyn GlobalAlloc {
    match name {
        "plain" => &PLAIN,
        "tags" => &TAGS,
        "backtrace" => &TRACES,
        other => panic!("unknown configuration {other} (plain, tags, backtrace)"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(name) = args.first() {
        // One configuration, for callgrind: a warm-up round, then the
        // measured ones.
        let a = pick(name);
        let rounds = args.get(1).map_or(20, |r| r.parse().unwrap());
        round(a);
        let ops = measured(a, rounds);
        println!("ops {ops}");
        return;
    }
    // Side by side: each configuration in turn, several times; the best
    // round of each.
    let names = ["plain", "tags", "backtrace", "plain"];
    let mut best = [f64::MAX; 4];
    for name in names {
        round(pick(name));
    }
    for _ in 0..15 {
        for (i, name) in names.iter().enumerate() {
            let a = pick(name);
            let start = Instant::now();
            let ops = measured(a, if *name == "backtrace" { 2 } else { 40 });
            let ns = start.elapsed().as_nanos() as f64 / ops as f64;
            best[i] = best[i].min(ns);
        }
    }
    println!("| configuration | ns per operation | against plain |");
    println!("|---|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        let label = if i == 3 { "plain (again: A/A)" } else { name };
        println!("| {label} | {:.1} | {:.2} |", best[i], best[i] / best[0]);
    }
}
