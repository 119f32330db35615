//! The small-object group's rounds: what a slab allocator is built for
//! (small blocks of a few sizes, freed at random) and a mix where some
//! requests exceed its largest class.
//!
//! The helpers are the general group's ([`general`](super::general)): the
//! same seeded generator, the same churn round over a pool of live slots
//! (each operation frees a random live block and allocates a new one, so
//! lifetimes are random), both ends of every block written, alignment 8.

use core::ptr::NonNull;

use super::general::{Churn, Rng, churn};
use crate::contestants::Contestant;

/// Live blocks of `small-uniform` and `small-skewed`.
pub const SLOTS: usize = 2_000;
/// Allocations of `small-uniform` and `small-skewed` after the slots are
/// filled.
pub const OPS: usize = 40_000;
/// Smallest and largest block of the small workloads.
pub const SMALL_SIZES: (usize, usize) = (8, 256);
/// Live blocks of `mixed-large`.
pub const MIXED_SLOTS: usize = 500;
/// Allocations of `mixed-large` after the slots are filled.
pub const MIXED_OPS: usize = 10_000;
/// One block in this many of `mixed-large` is large.
const LARGE_EVERY: u64 = 20;
/// Smallest and largest large block of `mixed-large`: above a slab
/// allocator's largest class (16 KiB), up to 128 KiB.
pub const LARGE_SIZES: (usize, usize) = (16 * 1024 + 1, 128 * 1024);

/// Every input of the group's rounds, and room for the blocks of a round.
pub struct Sequences {
    uniform: Churn,
    skewed: Churn,
    mixed: Churn,
    /// Live blocks and their sizes; its capacity is never exceeded, so a
    /// round does not allocate here.
    slots: Vec<(NonNull<u8>, usize)>,
}

impl Sequences {
    /// The fixed inputs.
    #[must_use]
    pub fn new() -> Self {
        let mut rng = Rng(0xDA3E_39CB_94B9_5BDB);
        let uniform = Churn::new(&mut rng, SLOTS, OPS, |r| {
            r.range(SMALL_SIZES.0, SMALL_SIZES.1)
        });
        // Log-uniform: as many blocks of 8-15 bytes as of 128-255, so most
        // blocks are small, as in programs.
        let skewed = Churn::new(&mut rng, SLOTS, OPS, |r| r.log_range(3, 9).min(256));
        let mixed = Churn::new(&mut rng, MIXED_SLOTS, MIXED_OPS, |r| {
            if r.next() % LARGE_EVERY == 0 {
                r.range(LARGE_SIZES.0, LARGE_SIZES.1)
            } else {
                r.log_range(3, 9).min(256)
            }
        });
        Self {
            uniform,
            skewed,
            mixed,
            slots: Vec::with_capacity(SLOTS.max(MIXED_SLOTS)),
        }
    }
}

impl Default for Sequences {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(never)]
pub(super) fn small_uniform<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.uniform, &mut seq.slots)
}

#[inline(never)]
pub(super) fn small_skewed<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.skewed, &mut seq.slots)
}

#[inline(never)]
pub(super) fn mixed_large<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.mixed, &mut seq.slots)
}
