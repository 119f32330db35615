//! The general-purpose group's rounds: blocks freed in any order, reused,
//! grown, and a heap left with holes.
//!
//! Their inputs ([`Sequences`]) are drawn once from a seeded generator, so
//! every contestant sees the same sizes, slots and bursts. Every block
//! written gets its first and last 8 bytes written (both ends of the block,
//! without turning the round into a `memset`). Alignment is 8 throughout.

use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;

use allocator_api2::vec::Vec as ApiVec;

use crate::contestants::Contestant;

/// Live blocks of `small-churn`.
pub const SMALL_SLOTS: usize = 1_000;
/// Allocations of `small-churn` after the slots are filled.
pub const SMALL_OPS: usize = 20_000;
/// Smallest and largest block of `small-churn`.
pub const SMALL_SIZES: (usize, usize) = (8, 512);
/// Live blocks of `mixed-churn`.
pub const MIXED_SLOTS: usize = 200;
/// Allocations of `mixed-churn` after the slots are filled.
pub const MIXED_OPS: usize = 5_000;
/// log2 of the smallest and of the largest block of `mixed-churn`.
const MIXED_LOG2: (u32, u32) = (3, 16);
/// Vectors of `vec-growth`, all growing at once.
pub const GROW_VECS: usize = 32;
/// log2 of the shortest and longest final length of a `vec-growth` vector.
const GROW_LOG2: (u32, u32) = (4, 14);
/// Most elements pushed in one burst of `vec-growth`.
const GROW_BURST: u64 = 64;
/// Small blocks of `fragmentation`.
pub const FRAG_SMALL: usize = 8_192;
/// Smallest and largest small block of `fragmentation`.
pub const FRAG_SMALL_SIZES: (usize, usize) = (16, 64);
/// Large blocks of `fragmentation`: none fits a hole left by a small one.
pub const FRAG_LARGE: usize = 2_048;
/// Smallest and largest large block of `fragmentation`.
pub const FRAG_LARGE_SIZES: (usize, usize) = (256, 1_024);

/// The alignment of every block.
const ALIGN: usize = 8;

/// xorshift64: cheap, seeded, the same on every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `lo..=hi` (modulo bias is irrelevant here).
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// Log-uniform in `2^lo ..= 2^hi - 1`: a power of two picked uniformly,
    /// then a uniform size within it. Small and large blocks are then
    /// about as frequent as in programs (many small, few large).
    pub(crate) fn log_range(&mut self, lo: u32, hi: u32) -> usize {
        let e = self.range(lo as usize, hi as usize - 1);
        (1 << e) + self.range(0, (1 << e) - 1)
    }
}

/// A churn round's input: the sizes that fill the slots, then, for each
/// later allocation, the slot it replaces and its size.
pub struct Churn {
    pub(super) fill: Vec<u32>,
    pub(super) ops: Vec<(u32, u32)>,
}

impl Churn {
    pub(super) fn new(
        rng: &mut Rng,
        slots: usize,
        ops: usize,
        size: impl Fn(&mut Rng) -> usize,
    ) -> Self {
        Self {
            fill: (0..slots).map(|_| size(rng) as u32).collect(),
            ops: (0..ops)
                .map(|_| (rng.range(0, slots - 1) as u32, size(rng) as u32))
                .collect(),
        }
    }
}

/// Every input of the group's rounds, and room for the blocks of a round.
pub struct Sequences {
    small: Churn,
    mixed: Churn,
    /// `(vector, elements)` bursts of `vec-growth`, in order.
    bursts: Vec<(u8, u8)>,
    frag_small: Vec<u8>,
    frag_large: Vec<u16>,
    /// Live blocks and their sizes; its capacity is never exceeded, so a
    /// round does not allocate here.
    slots: Vec<(NonNull<u8>, usize)>,
}

impl Sequences {
    /// The fixed inputs.
    #[must_use]
    pub fn new() -> Self {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let small = Churn::new(&mut rng, SMALL_SLOTS, SMALL_OPS, |r| {
            r.range(SMALL_SIZES.0, SMALL_SIZES.1)
        });
        let mixed = Churn::new(&mut rng, MIXED_SLOTS, MIXED_OPS, |r| {
            r.log_range(MIXED_LOG2.0, MIXED_LOG2.1)
        });
        // Each vector's final length, then bursts that pick a vector still
        // short of it at random, so the vectors grow interleaved.
        let mut left: Vec<u64> = (0..GROW_VECS)
            .map(|_| rng.log_range(GROW_LOG2.0, GROW_LOG2.1) as u64)
            .collect();
        let mut bursts = Vec::new();
        loop {
            let open: Vec<usize> = (0..GROW_VECS).filter(|&i| left[i] > 0).collect();
            if open.is_empty() {
                break;
            }
            let v = open[rng.range(0, open.len() - 1)];
            let n = (rng.range(1, GROW_BURST as usize) as u64).min(left[v]);
            left[v] -= n;
            bursts.push((v as u8, n as u8));
        }
        let frag_small = (0..FRAG_SMALL)
            .map(|_| rng.range(FRAG_SMALL_SIZES.0, FRAG_SMALL_SIZES.1) as u8)
            .collect();
        let frag_large = (0..FRAG_LARGE)
            .map(|_| rng.range(FRAG_LARGE_SIZES.0, FRAG_LARGE_SIZES.1) as u16)
            .collect();
        Self {
            small,
            mixed,
            bursts,
            frag_small,
            frag_large,
            slots: Vec::with_capacity(SMALL_SLOTS.max(FRAG_SMALL + FRAG_LARGE)),
        }
    }

    /// Elements pushed in one `vec-growth` round.
    #[must_use]
    pub fn pushes(&self) -> u64 {
        self.bursts.iter().map(|&(_, n)| u64::from(n)).sum()
    }
}

impl Default for Sequences {
    fn default() -> Self {
        Self::new()
    }
}

/// The layout of a block of `size` bytes.
#[inline(always)]
pub(super) fn layout(size: usize) -> Layout {
    // SAFETY: `ALIGN` is a power of two and every size in the sequences is
    // far below `isize::MAX - ALIGN`.
    unsafe { Layout::from_size_align_unchecked(size, ALIGN) }
}

/// Allocates a block of `size` bytes and writes its first and last 8 bytes.
#[inline(always)]
pub(super) fn fresh<C: Contestant>(c: &mut C, size: usize, value: usize) -> NonNull<u8> {
    let p = c.alloc(layout(size));
    // SAFETY: a fresh block of `size >= 8` bytes aligned to 8.
    unsafe { write_ends(p, size, value) };
    black_box(p)
}

/// Writes the first and last 8 bytes of a block.
///
/// # Safety
///
/// `p` is a live block of `size >= 8` bytes, aligned to 8: both words lie
/// inside it (the last one maybe unaligned, hence the unaligned write).
#[inline(always)]
pub(super) unsafe fn write_ends(p: NonNull<u8>, size: usize, value: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        p.cast::<u64>().write(value as u64);
        p.add(size - 8).cast::<u64>().write_unaligned(!value as u64);
    }
}

/// Fills the slots with `input.fill`'s blocks, then replaces a random
/// slot's block per operation; the blocks in `slots` are left live. Shared
/// with the adaptive group's invocations.
pub(super) fn fill_and_replace<C: Contestant>(
    c: &mut C,
    input: &Churn,
    slots: &mut Vec<(NonNull<u8>, usize)>,
) {
    let input = black_box(input);
    slots.clear();
    for (i, &size) in input.fill.iter().enumerate() {
        let size = size as usize;
        slots.push((fresh(c, size, i), size));
    }
    for (i, &(slot, size)) in input.ops.iter().enumerate() {
        let slot = &mut slots[slot as usize];
        // SAFETY: the slot holds a live block allocated with this size.
        unsafe { c.dealloc(slot.0, layout(slot.1)) };
        let size = size as usize;
        *slot = (fresh(c, size, i), size);
    }
}

/// Fills the slots, replaces a random slot's block per operation, then
/// frees them all.
pub(super) fn churn<C: Contestant>(
    c: &mut C,
    input: &Churn,
    slots: &mut Vec<(NonNull<u8>, usize)>,
) -> u64 {
    fill_and_replace(c, input, slots);
    for &(p, size) in slots.iter() {
        // SAFETY: each slot holds a live block allocated with this size,
        // freed once.
        unsafe { c.dealloc(p, layout(size)) };
    }
    // SAFETY: every block was freed.
    unsafe { c.reset() };
    (input.fill.len() + input.ops.len()) as u64
}

#[inline(never)]
pub(super) fn small_churn<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.small, &mut seq.slots)
}

#[inline(never)]
pub(super) fn mixed_churn<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    churn(c, &seq.mixed, &mut seq.slots)
}

#[inline(never)]
pub(super) fn vec_growth<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    let bursts = black_box(&seq.bursts[..]);
    let api = c.api();
    let mut vecs: [ApiVec<u64, C::Api<'_>>; GROW_VECS] =
        core::array::from_fn(|_| ApiVec::new_in(api));
    let mut pushes = 0;
    for &(v, n) in bursts {
        let v = &mut vecs[usize::from(v)];
        for j in 0..u64::from(n) {
            v.push(j);
        }
        pushes += u64::from(n);
    }
    drop(black_box(vecs));
    // SAFETY: every vector was dropped.
    unsafe { c.reset() };
    pushes
}

#[inline(never)]
pub(super) fn fragmentation<C: Contestant>(c: &mut C, seq: &mut Sequences) -> u64 {
    let small = black_box(&seq.frag_small[..]);
    let large = black_box(&seq.frag_large[..]);
    let slots = &mut seq.slots;
    slots.clear();
    for (i, &size) in small.iter().enumerate() {
        let size = usize::from(size);
        slots.push((fresh(c, size, i), size));
    }
    // Every other small block goes: holes no larger than a small block,
    // each between two live ones, so none merge.
    for &(p, size) in slots.iter().skip(1).step_by(2) {
        // SAFETY: a live block with this size, freed once (the odd slots).
        unsafe { c.dealloc(p, layout(size)) };
    }
    for (i, &size) in large.iter().enumerate() {
        let size = usize::from(size);
        slots.push((fresh(c, size, i), size));
    }
    let (small_slots, large_slots) = slots.split_at(small.len());
    for &(p, size) in small_slots.iter().step_by(2).chain(large_slots) {
        // SAFETY: the even small blocks and every large one are live with
        // these sizes; each is freed once.
        unsafe { c.dealloc(p, layout(size)) };
    }
    // SAFETY: every block was freed.
    unsafe { c.reset() };
    (small.len() + large.len()) as u64
}
