//! The power-of-two group's rounds: what a buddy allocator is built for
//! (power-of-two sizes), what it is worst at (sizes just past a power of
//! two), and blocks grown by reallocation.
//!
//! The helpers are the general group's ([`general`](super::general)): the
//! same seeded generator, the same churn round over a pool of live slots,
//! both ends of every block written, alignment 8.

use core::hint::black_box;
use core::ptr::NonNull;

use super::general::{Churn, Rng, churn, fresh, layout, write_ends};
use crate::contestants::Contestant;

/// Live blocks of `pow2` and `random-sizes`.
pub const SLOTS: usize = 100;
/// Allocations of `pow2` and `random-sizes` after the slots are filled.
pub const OPS: usize = 2_000;
/// log2 of the smallest and of the largest block of `pow2` (64 B and
/// 1 MiB, both included) and the range `random-sizes` stays within.
pub const LOG2: (u32, u32) = (6, 20);
/// Blocks of `realloc-growth`, all growing at once: the even ones double,
/// the odd ones grow by a quarter.
pub const GROW_BLOCKS: usize = 32;
/// The size every `realloc-growth` block starts at.
pub const GROW_START: usize = 64;
/// log2 of the smallest and largest final size of a `realloc-growth` block
/// (4 KiB up to 1 MiB, log-uniform).
const GROW_LOG2: (u32, u32) = (12, 20);

/// Every input of the group's rounds, and room for the blocks of a round.
pub struct Sequences {
    pow2: Churn,
    random: Churn,
    /// `(block, new size)` of each grow of `realloc-growth`, in order.
    steps: Vec<(u8, u32)>,
    /// Live blocks and their sizes; its capacity is never exceeded, so a
    /// round does not allocate here.
    slots: Vec<(NonNull<u8>, usize)>,
}

impl Sequences {
    /// The fixed inputs.
    #[must_use]
    pub fn new() -> Self {
        let mut rng = Rng(0x853C_49E6_748F_EA9B);
        let pow2 = Churn::new(&mut rng, SLOTS, OPS, |r| {
            1 << r.range(LOG2.0 as usize, LOG2.1 as usize)
        });
        // Strictly between two powers of two: a buddy allocator rounds each
        // up, wasting from a byte to almost half the block.
        let random = Churn::new(&mut rng, SLOTS, OPS, |r| {
            let e = r.range(LOG2.0 as usize, LOG2.1 as usize - 1);
            (1 << e) + r.range(1, (1 << e) - 1)
        });
        // Each block's final size, then grows of a block still short of it,
        // picked at random, so the blocks grow interleaved.
        let last: Vec<usize> = (0..GROW_BLOCKS)
            .map(|_| rng.log_range(GROW_LOG2.0, GROW_LOG2.1))
            .collect();
        let mut now = [GROW_START; GROW_BLOCKS];
        let mut steps = Vec::new();
        loop {
            let open: Vec<usize> = (0..GROW_BLOCKS).filter(|&i| now[i] < last[i]).collect();
            if open.is_empty() {
                break;
            }
            let b = open[rng.range(0, open.len() - 1)];
            let next = if b % 2 == 0 {
                now[b] * 2
            } else {
                // A quarter more, kept a multiple of the alignment.
                (now[b] + now[b] / 4).next_multiple_of(8)
            };
            now[b] = next.min(last[b]);
            steps.push((b as u8, now[b] as u32));
        }
        Self {
            pow2,
            random,
            steps,
            slots: Vec::with_capacity(SLOTS.max(GROW_BLOCKS)),
        }
    }

    /// Operations of one `realloc-growth` round: the first allocation of
    /// each block, then every grow.
    #[must_use]
    pub fn growth_ops(&self) -> u64 {
        (GROW_BLOCKS + self.steps.len()) as u64
    }
}

impl Default for Sequences {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(never)]
pub(super) fn pow2<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.pow2, &mut seq.slots)
}

#[inline(never)]
pub(super) fn random_sizes<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.random, &mut seq.slots)
}

#[inline(never)]
pub(super) fn realloc_growth<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    let steps = black_box(&seq.steps[..]);
    let slots = &mut seq.slots;
    slots.clear();
    for i in 0..GROW_BLOCKS {
        slots.push((fresh(c, GROW_START, i), GROW_START));
    }
    for (i, &(block, size)) in steps.iter().enumerate() {
        let slot = &mut slots[usize::from(block)];
        let size = size as usize;
        // SAFETY: the slot holds a live block allocated (or last grown) with
        // this size; every step is larger than the last.
        let p = unsafe { c.grow(slot.0, layout(slot.1), size) };
        // SAFETY: a live block of `size >= 8` bytes, aligned to 8.
        unsafe { write_ends(p, size, i) };
        *slot = (black_box(p), size);
    }
    for &(p, size) in slots.iter() {
        // SAFETY: each slot holds a live block with this size, freed once.
        unsafe { c.dealloc(p, layout(size)) };
    }
    // SAFETY: every block was freed.
    unsafe { c.reset() };
    (GROW_BLOCKS + steps.len()) as u64
}
