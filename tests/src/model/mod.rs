//! The model test: random sequences of allocate, deallocate, grow, shrink
//! and reset, checked step by step against a shadow of the live blocks.
//!
//! After every step: each block is aligned and (for a region heap) inside
//! the region; no two live blocks overlap; every live block still holds the
//! pattern written into it (resizes keep the prefix); the heap walk
//! ([`LockedHeap::check`]) passes; the heap's counters agree with the
//! shadow; and [`LockedHeap::owns`] is true for the first and last byte of
//! every live block (and false for blocks a reset took back). Over the default source every request must succeed; over a small
//! region a request may fail, and must then change nothing.
//!
//! Runs are deterministic: a fixed seed unless `POLYALLOC_MODEL_SEED` says
//! otherwise, no failure files. `POLYALLOC_MODEL_CASES` and
//! `POLYALLOC_MODEL_OPS` set the number of cases and operations per case for
//! long runs. A failure shrinks to a short sequence, printed as `Op`s that
//! [`replay_default`] or [`replay_region`] turn into a regression test.

mod op;
mod shrink;

pub use op::{MAX_SIZE, Op};
pub use shrink::{Sequence, SequenceTree};

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use polyalloc_core::{Heap, LockedHeap, Stats};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};

use crate::candidate::Candidate;
use crate::checks::{consistent, consistent_structure, layout};
use crate::fixture::{RegionFixture, default_heap};
use crate::live::{Block, LiveSet, Outcome, counters_unchanged};

/// Cases per model test unless `POLYALLOC_MODEL_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 256;
/// Operations per case unless `POLYALLOC_MODEL_OPS` says otherwise.
pub const DEFAULT_OPS: usize = 1000;
/// The seed unless `POLYALLOC_MODEL_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 0x706f_6c79_616c_6c63;
/// The most blocks the model keeps live; an allocation beyond frees one.
pub const MAX_LIVE: usize = 64;
/// The size of the region in [`model_small_region`]: a few of the largest
/// blocks, so requests fail regularly.
pub const MODEL_REGION: usize = 512 * 1024;

/// How many cases, how long, and from which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// Successful cases needed.
    pub cases: u32,
    /// Operations per case.
    pub ops: usize,
    /// The RNG seed; `None` draws a random one.
    pub seed: Option<u64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            cases: DEFAULT_CASES,
            ops: DEFAULT_OPS,
            seed: Some(DEFAULT_SEED),
        }
    }
}

impl ModelConfig {
    /// The defaults, overridden by `POLYALLOC_MODEL_CASES`,
    /// `POLYALLOC_MODEL_OPS` and `POLYALLOC_MODEL_SEED` (a number, or
    /// `random`).
    ///
    /// # Panics
    ///
    /// If a variable is set to something that does not parse.
    #[must_use]
    pub fn from_env() -> Self {
        fn var<T: core::str::FromStr>(name: &str) -> Option<T> {
            let value = std::env::var(name).ok()?;
            Some(
                value
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid value")),
            )
        }
        let mut config = Self::default();
        if let Some(cases) = var("POLYALLOC_MODEL_CASES") {
            config.cases = cases;
        }
        if let Some(ops) = var("POLYALLOC_MODEL_OPS") {
            config.ops = ops;
        }
        if let Ok(seed) = std::env::var("POLYALLOC_MODEL_SEED") {
            config.seed = if seed.trim() == "random" {
                None
            } else {
                var("POLYALLOC_MODEL_SEED")
            };
        }
        config
    }

    /// The proptest configuration: no failure files, no forking, a cheap
    /// RNG, shrinking bounded to five minutes.
    #[must_use]
    pub fn proptest(&self) -> Config {
        Config {
            cases: self.cases,
            failure_persistence: None,
            source_file: None,
            fork: false,
            max_shrink_time: 300_000,
            rng_seed: self.seed.map_or(RngSeed::Random, RngSeed::Fixed),
            // ChaCha, the default, is most of a debug build's run time.
            rng_algorithm: RngAlgorithm::XorShift,
            ..Config::default()
        }
    }
}

/// The strategy for one case: exactly `ops` operations.
#[must_use]
pub fn ops(ops: usize) -> Sequence<Op> {
    Sequence::new(op::op().boxed(), ops)
}

/// Runs the model on fresh heaps over the candidate's default source; every
/// request must succeed.
///
/// # Panics
///
/// With the shrunk failing sequence, if any case fails.
pub fn model_default_source<C: Candidate>() {
    run::<C>("default source", |ops| {
        replay_default::<C>(ops).map_err(TestCaseError::fail)
    });
}

/// Runs the model on fresh heaps over a [`MODEL_REGION`]-byte region, where
/// requests may fail for want of memory but must then change nothing.
///
/// # Panics
///
/// With the shrunk failing sequence, if any case fails.
pub fn model_small_region<C: Candidate>() {
    run::<C>("small region", |ops| {
        replay_region::<C>(ops, MODEL_REGION).map_err(TestCaseError::fail)
    });
}

/// Runs `ops` on a fresh heap over the default source; for regression tests.
///
/// # Errors
///
/// The first check that fails, with the step that failed it.
pub fn replay_default<C: Candidate>(ops: &[Op]) -> Outcome {
    let heap = default_heap::<C>();
    Model::new(&heap, LiveSet::new(), false).run(ops)
}

/// Runs `ops` on a fresh heap over a region of `len` bytes; for regression
/// tests.
///
/// # Errors
///
/// The first check that fails, with the step that failed it.
pub fn replay_region<C: Candidate>(ops: &[Op], len: usize) -> Outcome {
    let fixture = RegionFixture::<C>::new(len);
    Model::new(fixture.heap(), LiveSet::within(fixture.range()), true).run(ops)
}

/// Runs `ops` on `heap` through the model (every check after every step,
/// then everything freed); `may_fail` allows requests to fail cleanly. For
/// tests that build the heap themselves (fault injection).
///
/// # Errors
///
/// The first check that fails, with the step that failed it.
pub fn run_on<H: Heap + Send>(heap: &LockedHeap<H>, ops: &[Op], may_fail: bool) -> Outcome {
    Model::new(heap, LiveSet::new(), may_fail).run(ops)
}

/// The size of the region a fuzz input runs over when its first byte is
/// even: small enough to run out of memory often.
pub const FUZZ_REGION: usize = 1 << 20;

/// Runs one fuzz input against candidate `C`: the first byte picks the heap
/// (even: a [`FUZZ_REGION`]-byte region; odd: the default source), the rest
/// is decoded into ops by [`Op::decode_all`] and replayed on the model. Every
/// fuzz target in `fuzz/` is this call for one candidate.
///
/// The model checks as for the proptest runs, with one difference in when:
/// after every step the heap walk and the counters, but a block's contents
/// and `owns` of its first and last byte only before the block leaves the
/// set (freed, resized, reset, or freed at the end of the input). Every
/// block is still checked before the model lets go of it, so a corruption
/// is found in the same input, only at a later step; an input that fails
/// replays with the per-step checks ([`replay_region`] or
/// [`replay_default`]) to name the step. Reading every live byte after
/// every step cost most of a long input's time, and asking `owns` of every
/// live block most of the rest for a heap whose `owns` walks its slabs.
///
/// # Panics
///
/// With the candidate's name, the failed check and the ops, if the model
/// finds a fault.
pub fn fuzz_one<C: Candidate>(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let ops = Op::decode_all(rest);
    if let Err(fault) = replay_fuzz::<C>(&ops, which & 1 == 0) {
        panic!("{} model failed: {fault}\nops: {ops:?}", C::NAME);
    }
}

/// Runs `ops` as [`fuzz_one`] does, on a fresh heap over a
/// [`FUZZ_REGION`]-byte region (`region`) or over the default source:
/// contents read only before a block leaves the set.
///
/// # Errors
///
/// The first check that fails, with the step that failed it.
pub fn replay_fuzz<C: Candidate>(ops: &[Op], region: bool) -> Outcome {
    if region {
        let fixture = RegionFixture::<C>::new(FUZZ_REGION);
        Model::new(fixture.heap(), LiveSet::within(fixture.range()), true)
            .contents_on_release()
            .run(ops)
    } else {
        let heap = default_heap::<C>();
        Model::new(&heap, LiveSet::new(), false)
            .contents_on_release()
            .run(ops)
    }
}

/// Runs the proptest loop for `test` with the environment's configuration.
fn run<C: Candidate>(what: &str, test: impl Fn(&[Op]) -> Result<(), TestCaseError>) {
    let config = ModelConfig::from_env();
    let mut runner = TestRunner::new(config.proptest());
    let result = runner.run(&ops(config.ops), |ops| test(&ops));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => panic!(
            "{} model ({what}) failed: {reason}\n\
             seed: {} (POLYALLOC_MODEL_SEED)\n\
             minimal sequence ({} ops), to replay with `replay_{}`:\n&[\n{}]",
            C::NAME,
            config.seed.map_or("random".to_owned(), |s| s.to_string()),
            ops.len(),
            if what == "default source" {
                "default::<C>(ops)"
            } else {
                "region::<C>(ops, MODEL_REGION)"
            },
            ops.iter()
                .map(|op| format!("    Op::{op:?},\n"))
                .collect::<String>()
        ),
        Err(TestError::Abort(reason)) => {
            panic!("{} model ({what}) aborted: {reason}", C::NAME)
        }
    }
}

/// One model run over one heap.
struct Model<'h, H: Heap + Send> {
    heap: &'h LockedHeap<H>,
    live: LiveSet,
    /// Whether a request may fail for want of memory.
    may_fail: bool,
    /// `blocks_live()` of blocks the model does not track (0 for a fresh
    /// heap and after a reset; see [`LiveSet::check_stats`]).
    baseline: u64,
    /// Whether every block's contents and `owns` are checked after every
    /// step (the default), or only before the block leaves the set
    /// ([`contents_on_release`](Self::contents_on_release)).
    contents_every_step: bool,
}

impl<'h, H: Heap + Send> Model<'h, H> {
    fn new(heap: &'h LockedHeap<H>, live: LiveSet, may_fail: bool) -> Self {
        let baseline = heap.stats().blocks_live();
        Self {
            heap,
            live,
            may_fail,
            baseline,
            contents_every_step: true,
        }
    }

    /// Checks a block's contents and `owns` only before it leaves the set
    /// (freed, resized, reset), not after every step: see [`fuzz_one`].
    fn contents_on_release(mut self) -> Self {
        self.contents_every_step = false;
        self
    }

    /// Runs every step with the checks after each, then frees what is left.
    fn run(mut self, ops: &[Op]) -> Outcome {
        self.check()
            .map_err(|e| format!("before the first step: {e}"))?;
        for (n, op) in ops.iter().enumerate() {
            self.step(*op)
                .and_then(|()| self.check())
                .map_err(|e| format!("step {n} ({op:?}), {} blocks live: {e}", self.live.len()))?;
        }
        while !self.live.is_empty() {
            self.dealloc(self.live.len() - 1)
                .and_then(|()| self.check())
                .map_err(|e| format!("freeing the blocks left at the end: {e}"))?;
        }
        Ok(())
    }

    /// The checks after every step.
    fn check(&self) -> Outcome {
        if self.contents_every_step {
            consistent(self.heap, &self.live, self.baseline)
        } else {
            consistent_structure(self.heap, &self.live, self.baseline)
        }
    }

    /// Before block `i` is resized (which checks only the bytes it keeps):
    /// its whole contents and `owns`, when the steps do not check them
    /// every time.
    fn verify_before_resize(&self, i: usize) -> Outcome {
        if self.contents_every_step {
            Ok(())
        } else {
            self.live.verify(i)?;
            self.live.check_owned_block(i, |p| self.heap.owns(p))
        }
    }

    fn pick(&self, which: usize) -> usize {
        which % self.live.len()
    }

    /// A request that failed: a fault on the default source; over a region
    /// fine, if it changed none of the counters since `before`.
    fn refused(&self, what: &str, layout: Layout, before: &Stats) -> Outcome {
        if self.may_fail {
            counters_unchanged(
                &format!("a failed {what} {layout:?}"),
                before,
                &self.heap.stats(),
            )
        } else {
            Err(format!("{what} {layout:?} failed on the default source"))
        }
    }

    fn step(&mut self, op: Op) -> Outcome {
        let before = self.heap.stats();
        match op {
            Op::Alloc { size, align } => {
                if self.live.len() >= MAX_LIVE {
                    return self.dealloc(self.pick(size));
                }
                let layout = layout(size, align)?;
                match self.heap.allocate(layout) {
                    // SAFETY: a block the heap just returned for `layout`.
                    Ok(block) => unsafe { self.live.admit(block, layout) }.map(drop),
                    Err(_) => self.refused("allocate", layout, &before),
                }
            }
            Op::Dealloc { which } if !self.live.is_empty() => self.dealloc(self.pick(which.into())),
            Op::Grow {
                which,
                extra,
                align,
            } if !self.live.is_empty() => {
                let i = self.pick(which.into());
                self.verify_before_resize(i)?;
                let old = self.live.get(i);
                let size = (old.layout.size() + extra).min(MAX_SIZE);
                let new = layout(size.max(old.layout.size()), align)?;
                // SAFETY: `old` is live with its layout, and the new size is
                // at least the old one.
                match unsafe { self.heap.grow(old.ptr, old.layout, new) } {
                    // SAFETY: the block the grow of block `i` returned.
                    Ok(moved) => unsafe { self.live.resized(i, moved, new) },
                    Err(_) => self.refused("grow to", new, &before),
                }
            }
            Op::Shrink { which, keep, align } if !self.live.is_empty() => {
                let i = self.pick(which.into());
                self.verify_before_resize(i)?;
                let old = self.live.get(i);
                let size = old.layout.size() * usize::from(keep) / usize::from(u16::MAX);
                let new = layout(size, align)?;
                // SAFETY: `old` is live with its layout, and the new size is
                // at most the old one.
                match unsafe { self.heap.shrink(old.ptr, old.layout, new) } {
                    // SAFETY: the block the shrink of block `i` returned.
                    Ok(moved) => unsafe { self.live.resized(i, moved, new) },
                    Err(_) => self.refused("shrink to", new, &before),
                }
            }
            Op::Realloc { which, size } if !self.live.is_empty() => {
                let i = self.pick(which.into());
                self.verify_before_resize(i)?;
                let old = self.live.get(i);
                if old.layout.size() == 0 {
                    return Ok(());
                }
                let new = layout(size.clamp(1, MAX_SIZE), old.layout.align())?;
                // SAFETY: `old` is live with its (non-zero) layout, and the
                // new size is non-zero and far below `isize::MAX`.
                let raw = unsafe {
                    GlobalAlloc::realloc(self.heap, old.ptr.as_ptr(), old.layout, new.size())
                };
                match NonNull::new(raw) {
                    // SAFETY: the block the realloc of block `i` returned,
                    // `new.size()` bytes long.
                    Some(moved) => unsafe {
                        self.live
                            .resized(i, NonNull::slice_from_raw_parts(moved, new.size()), new)
                    },
                    None => self.refused("realloc to", new, &before),
                }
            }
            Op::Reset => {
                if !self.contents_every_step {
                    self.live.verify_all()?;
                    self.live.check_owned(|p| self.heap.owns(p))?;
                }
                let gone: Vec<Block> = (0..self.live.len()).map(|i| self.live.get(i)).collect();
                self.live.clear();
                // SAFETY: the model holds no block any more, and nothing else
                // allocates from this heap.
                unsafe { self.heap.reset() };
                // After a reset nothing is live, by either count.
                let after = self.heap.stats();
                if after.counting && (after.blocks_live() != 0 || after.bytes_live != 0) {
                    return Err(format!(
                        "after reset: blocks_live() = {}, bytes_live = {} (both must be 0)",
                        after.blocks_live(),
                        after.bytes_live
                    ));
                }
                self.baseline = 0;
                // `Heap::owns`: a block taken back by a reset is not owned.
                match gone
                    .iter()
                    .find(|b| b.layout.size() != 0 && self.heap.owns(b.ptr))
                {
                    None => Ok(()),
                    Some(b) => Err(format!(
                        "owns({:#x}) is still true after a reset took the block back",
                        b.addr()
                    )),
                }
            }
            Op::Dealloc { .. } | Op::Grow { .. } | Op::Shrink { .. } | Op::Realloc { .. } => Ok(()),
        }
    }

    fn dealloc(&mut self, i: usize) -> Outcome {
        if !self.contents_every_step {
            self.live.check_owned_block(i, |p| self.heap.owns(p))?;
        }
        let block = self.live.release(i)?;
        // SAFETY: the block was live with this layout, and the model has
        // just forgotten it.
        unsafe { self.heap.deallocate(block.ptr, block.layout) };
        Ok(())
    }
}
