//! The adaptive group's rounds: a FaaS function called again and again.
//!
//! A round is [`INVOCATIONS`] invocations of one function. Each invocation
//! ends as a host ends it: the contestants that reset
//! ([`Contestant::RESETS`]: the bump core, whose `reset` returns its offset
//! to the start, and the adaptive heap, whose reset is `end_invocation` of a
//! pure function) leave the invocation's live blocks to the reset; every
//! other contestant frees them one by one first. Within an invocation every
//! contestant does the same allocations and frees.
//!
//! Five functions, each written so that a different single strategy should
//! suit it best:
//!
//! - `faas-lifo` (bump): requests whose blocks are freed in reverse order,
//!   each leaving one block (its response) for the end of the invocation;
//! - `faas-objects` (slab): many objects of one small size, freed at random;
//! - `faas-mixed` (free list): sizes from 16 B to 64 KiB, freed at random;
//! - `faas-buffers` (buddy): power-of-two buffers of 4 KiB to 256 KiB, freed
//!   at random;
//! - `faas-phases`: the first half of each round's invocations are
//!   `faas-lifo`'s, the second half `faas-mixed`'s, so the function's
//!   behaviour changes every [`PHASE_INVOCATIONS`] invocations.
//!
//! The inputs come from the general group's seeded generator, and the
//! helpers are its own: both ends of every block written, alignment 8.

use core::hint::black_box;
use core::ptr::NonNull;

use super::general::{Churn, Rng, fill_and_replace, fresh, layout};
use crate::contestants::Contestant;

/// Invocations per round.
pub const INVOCATIONS: usize = 8;
/// Invocations of each phase in a `faas-phases` round: LIFO, then churn.
pub const PHASE_INVOCATIONS: usize = INVOCATIONS / 2;
/// Requests per `faas-lifo` invocation.
pub const REQUESTS: usize = 32;
/// Blocks allocated per request; the first is its response, kept to the end
/// of the invocation.
pub const REQUEST_BLOCKS: usize = 24;
/// Smallest and largest block of `faas-lifo`; sizes are multiples of 8, the
/// alignment, as the size of a Rust type is a multiple of its alignment (so
/// the block freed last is always right below the next one).
pub const REQUEST_SIZES: (usize, usize) = (16, 512);
/// The one object size of `faas-objects`.
pub const OBJECT_SIZE: usize = 48;
/// Live objects of `faas-objects`.
pub const OBJECT_SLOTS: usize = 2_000;
/// Objects replaced per `faas-objects` invocation.
pub const OBJECT_OPS: usize = 16_000;
/// Live blocks of `faas-mixed`.
pub const MIXED_SLOTS: usize = 200;
/// Blocks replaced per `faas-mixed` invocation.
pub const MIXED_OPS: usize = 2_000;
/// log2 of the smallest and largest block of `faas-mixed` (16 B up to
/// 64 KiB, log-uniform).
const MIXED_LOG2: (u32, u32) = (4, 16);
/// Live buffers of `faas-buffers`.
pub const BUFFER_SLOTS: usize = 16;
/// Buffers replaced per `faas-buffers` invocation.
pub const BUFFER_OPS: usize = 256;
/// log2 of the smallest and largest buffer of `faas-buffers` (4 KiB to
/// 256 KiB, each power of two equally often).
pub const BUFFER_LOG2: (u32, u32) = (12, 18);

/// Every input of the group's rounds, and room for the blocks of a round.
pub struct Sequences {
    /// Block sizes of one `faas-lifo` invocation, request by request.
    requests: Vec<u32>,
    objects: Churn,
    mixed: Churn,
    buffers: Churn,
    /// Live blocks and their sizes; its capacity is never exceeded, so a
    /// round does not allocate here.
    slots: Vec<(NonNull<u8>, usize)>,
}

impl Sequences {
    /// The fixed inputs.
    #[must_use]
    pub fn new() -> Self {
        let mut rng = Rng(0x6A09_E667_F3BC_C909);
        let requests = (0..REQUESTS * REQUEST_BLOCKS)
            .map(|_| (rng.range(REQUEST_SIZES.0 / 8, REQUEST_SIZES.1 / 8) * 8) as u32)
            .collect();
        let objects = Churn::new(&mut rng, OBJECT_SLOTS, OBJECT_OPS, |_| OBJECT_SIZE);
        let mixed = Churn::new(&mut rng, MIXED_SLOTS, MIXED_OPS, |r| {
            r.log_range(MIXED_LOG2.0, MIXED_LOG2.1 + 1)
        });
        let buffers = Churn::new(&mut rng, BUFFER_SLOTS, BUFFER_OPS, |r| {
            1 << r.range(BUFFER_LOG2.0 as usize, BUFFER_LOG2.1 as usize)
        });
        Self {
            requests,
            objects,
            mixed,
            buffers,
            slots: Vec::with_capacity(
                OBJECT_SLOTS
                    .max(MIXED_SLOTS)
                    .max(BUFFER_SLOTS)
                    .max(REQUESTS + REQUEST_BLOCKS),
            ),
        }
    }
}

impl Default for Sequences {
    fn default() -> Self {
        Self::new()
    }
}

/// One `faas-lifo` invocation: each request allocates its blocks (the first
/// is its response) and frees all but the response newest first; the
/// responses go at the end of the invocation. Returns the allocations.
fn lifo_invocation<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    let requests = black_box(&seq.requests[..]);
    let slots = &mut seq.slots;
    slots.clear();
    for (r, sizes) in requests.chunks_exact(REQUEST_BLOCKS).enumerate() {
        let response = sizes[0] as usize;
        slots.push((fresh(c, response, r), response));
        let scratch = slots.len();
        for (i, &size) in sizes[1..].iter().enumerate() {
            let size = size as usize;
            slots.push((fresh(c, size, i), size));
        }
        while slots.len() > scratch {
            if let Some((p, size)) = slots.pop() {
                // SAFETY: a live block of this request, allocated with this
                // size, freed once, newest first.
                unsafe { c.dealloc(p, layout(size)) };
            }
        }
    }
    end_invocation(c, slots);
    requests.len() as u64
}

/// One churn invocation over `input`: fill the slots, replace a random
/// slot's block per operation, end the invocation. Returns the
/// allocations.
fn churn_invocation<C: Contestant>(
    c: &mut C,
    input: &Churn,
    slots: &mut Vec<(NonNull<u8>, usize)>,
) -> u64 {
    fill_and_replace(c, input, slots);
    end_invocation(c, slots);
    (input.fill.len() + input.ops.len()) as u64
}

/// Ends an invocation whose live blocks are `slots`: a contestant that
/// resets forgets them at once; any other frees them, newest first.
fn end_invocation<C: Contestant>(c: &mut C, slots: &mut Vec<(NonNull<u8>, usize)>) {
    if !C::RESETS {
        for &(p, size) in slots.iter().rev() {
            // SAFETY: each slot holds a live block with this size, freed
            // once.
            unsafe { c.dealloc(p, layout(size)) };
        }
    }
    slots.clear();
    black_box(slots);
    // SAFETY: no block of the invocation is used again (freed above, or
    // left to the reset of a contestant whose reset frees every block).
    unsafe { c.reset() };
}

#[inline(never)]
pub(super) fn faas_lifo<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    (0..INVOCATIONS).map(|_| lifo_invocation(c, seq)).sum()
}

#[inline(never)]
pub(super) fn faas_objects<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    (0..INVOCATIONS)
        .map(|_| churn_invocation(c, &seq.objects, &mut seq.slots))
        .sum()
}

#[inline(never)]
pub(super) fn faas_mixed<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    (0..INVOCATIONS)
        .map(|_| churn_invocation(c, &seq.mixed, &mut seq.slots))
        .sum()
}

#[inline(never)]
pub(super) fn faas_buffers<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    (0..INVOCATIONS)
        .map(|_| churn_invocation(c, &seq.buffers, &mut seq.slots))
        .sum()
}

#[inline(never)]
pub(super) fn faas_phases<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    let mut ops = 0;
    for _ in 0..PHASE_INVOCATIONS {
        ops += lifo_invocation(c, seq);
    }
    for _ in PHASE_INVOCATIONS..INVOCATIONS {
        ops += churn_invocation(c, &seq.mixed, &mut seq.slots);
    }
    ops
}
