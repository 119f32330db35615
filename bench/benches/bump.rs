//! Criterion micro-benchmarks: the cost of one operation, per contestant.
//!
//! ```text
//! cargo bench -p polyalloc-bench --bench bump            # all, about a minute
//! cargo bench -p polyalloc-bench --bench bump -- alloc/64
//! ```
//!
//! - `alloc/8`, `alloc/64`, `alloc/512`: one allocation of that size
//!   (alignment 8), its first 8 bytes written;
//! - `alloc/mixed`: the same with sizes from the comparison run's 8..=128 B
//!   sequence;
//! - `realloc-grow`: the newest block grown by 8 bytes (8 B to 4 KiB), the
//!   new bytes written;
//! - `threaded/alloc/mixed`: `alloc/mixed` for the core and `BumpAlloc` after
//!   an idle second thread has started, so `BumpAlloc`'s lock takes its
//!   compare-exchange path. It runs last: the process stays multi-threaded.
//!
//! Every iteration batch starts from an empty allocator and ends with a reset
//! (or, for the system allocator, freeing each block); only the operations
//! themselves are inside the timed region, so memory does not grow without
//! bound and the figure is the operation alone.

use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use polyalloc_bench::contestants::{self, Contestant, CoreBump, GlobalBump, Visitor};
use polyalloc_bench::workloads::Input;

/// Allocations per timed batch.
const BATCH: usize = 1024;
/// Alignment of every block.
const ALIGN: usize = 8;

/// Which sizes an allocation benchmark asks for.
#[derive(Clone, Copy)]
enum Sizes {
    /// Always this many bytes.
    Fixed(usize),
    /// The comparison run's mixed 8..=128 B sequence.
    Mixed,
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, ALIGN).expect("benchmark sizes are valid layouts")
}

/// Times `iters` allocations on `c`, in batches of [`BATCH`] that each end
/// with a reset (or individual frees) outside the timed region.
fn alloc_iters<C: Contestant>(c: &mut C, sizes: Sizes, mixed: &[u8], iters: u64) -> Duration {
    let mut blocks = vec![NonNull::<u8>::dangling(); BATCH];
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH as u64) as usize;
        let fixed = black_box(match sizes {
            Sizes::Fixed(s) => s,
            Sizes::Mixed => 0,
        });
        let start = Instant::now();
        for (i, slot) in blocks[..n].iter_mut().enumerate() {
            let size = if fixed == 0 {
                usize::from(mixed[i])
            } else {
                fixed
            };
            let p = c.alloc(layout(size));
            // SAFETY: a fresh block of at least 8 bytes, aligned to 8.
            unsafe { p.cast::<u64>().write(i as u64) };
            *slot = black_box(p);
        }
        total += start.elapsed();
        if !C::RESETS {
            for (i, &p) in blocks[..n].iter().enumerate() {
                let size = if fixed == 0 {
                    usize::from(mixed[i])
                } else {
                    fixed
                };
                // SAFETY: allocated above with this layout, freed once.
                unsafe { c.dealloc(p, layout(size)) };
            }
        }
        // SAFETY: no block of the batch is used again.
        unsafe { c.reset() };
        left -= n as u64;
    }
    total
}

/// Times `iters` grows of the newest block by 8 bytes, restarting from an
/// 8-byte block every 511 grows (at 4 KiB).
fn grow_iters<C: Contestant>(c: &mut C, iters: u64) -> Duration {
    const GROWS: u64 = 511;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(GROWS);
        let mut old = layout(8);
        let mut p = c.alloc(old);
        // SAFETY: a fresh 8-byte block, aligned to 8.
        unsafe { p.cast::<u64>().write(0) };
        let start = Instant::now();
        for i in 0..n {
            let size = old.size() + 8;
            // SAFETY: `p` is live with `old`; the new size is larger and
            // valid for alignment 8.
            p = black_box(unsafe { c.grow(p, old, size) });
            // SAFETY: the grown block has `size` bytes; its last 8 are new.
            unsafe { p.add(old.size()).cast::<u64>().write(i) };
            old = layout(size);
        }
        total += start.elapsed();
        // SAFETY: `p` is live with `old`; nothing else is live.
        unsafe {
            c.dealloc(p, old);
            c.reset();
        }
        left -= n;
    }
    total
}

/// What a group measures for each contestant.
#[derive(Clone, Copy)]
enum Op {
    Alloc(Sizes),
    Grow,
}

/// Adds one benchmark per contestant to a group.
struct Each<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    op: Op,
    mixed: &'a [u8],
}

impl Visitor for Each<'_, '_> {
    fn visit<C: Contestant + 'static>(&mut self) {
        let mut c = C::new();
        let (op, mixed) = (self.op, self.mixed);
        self.group.bench_function(C::KEY, |b| {
            b.iter_custom(|iters| match op {
                Op::Alloc(sizes) => alloc_iters(&mut c, sizes, mixed, iters),
                Op::Grow => grow_iters(&mut c, iters),
            });
        });
    }
}

fn group(c: &mut Criterion, name: &str, op: Op, mixed: &[u8]) {
    let mut g = c.benchmark_group(name);
    contestants::for_each(&mut Each {
        group: &mut g,
        op,
        mixed,
    });
    g.finish();
}

fn alloc(c: &mut Criterion) {
    let input = Input::new();
    for (name, sizes) in [
        ("alloc/8", Sizes::Fixed(8)),
        ("alloc/64", Sizes::Fixed(64)),
        ("alloc/512", Sizes::Fixed(512)),
        ("alloc/mixed", Sizes::Mixed),
    ] {
        group(c, name, Op::Alloc(sizes), input.sizes());
    }
}

fn realloc_grow(c: &mut Criterion) {
    group(c, "realloc-grow", Op::Grow, &[]);
}

/// Last: after this the process is multi-threaded for good.
fn threaded(c: &mut Criterion) {
    let _idle = std::thread::spawn(std::thread::park);
    let input = Input::new();
    let mut g = c.benchmark_group("threaded/alloc/mixed");
    let mut each = Each {
        group: &mut g,
        op: Op::Alloc(Sizes::Mixed),
        mixed: input.sizes(),
    };
    each.visit::<CoreBump>();
    each.visit::<GlobalBump>();
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .nresamples(20_000)
}

fn main() {
    // What `criterion_group!` and `criterion_main!` expand to, written out so
    // the order is plain: the threaded group must run last.
    let mut c = config().configure_from_args();
    alloc(&mut c);
    realloc_grow(&mut c);
    threaded(&mut c);
    c.final_summary();
}
