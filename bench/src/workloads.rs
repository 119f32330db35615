//! What is measured: allocation-heavy, single-threaded rounds, written once
//! and generic over the [`Contestant`]. The bump group's rounds are here;
//! the general-purpose group's are in [`general`], the power-of-two group's
//! in [`buddy`], the small-object group's in [`slab`], the adaptive group's
//! (sequences of invocations) in [`adaptive`].
//!
//! Every round does a fixed amount of work (the same sizes, from one seeded
//! sequence, for every contestant), writes into every block it gets, and ends
//! with nothing live: arenas reset, the system allocator has freed each
//! block. The reset is part of the round, so its cost is in the figures.
//!
//! `std::hint::black_box` is applied to each block pointer as it is made (a
//! program keeps its blocks somewhere the compiler cannot see through) and to
//! each round's inputs and results, so no allocation can be folded away and no
//! layout becomes a compile-time constant. Layouts have a constant alignment
//! (8) and a runtime size, as in generic code (`Vec<T>`).
//!
//! Adding a workload: a variant in [`Workload`], its entry in each `match`,
//! and its round function below (or in [`general`], [`buddy`]).

pub mod adaptive;
pub mod buddy;
pub mod general;
pub mod slab;

use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box as ApiBox;
use allocator_api2::vec::Vec as ApiVec;

use crate::contestants::Contestant;
use crate::group::Group;

/// Allocations per round in the arena and LIFO workloads.
pub const SMALL_BLOCKS: usize = 4_096;
/// Vectors built per round in the `vec-push` workload.
const VECS: usize = 256;
/// Strings built per round in the `string-build` workload, and pieces
/// appended to each.
const STRINGS: usize = 64;
const PIECES: usize = 64;
/// Depth of the complete binary tree in the `tree` workload.
const TREE_DEPTH: u32 = 12;

// Every workload reads its sizes from the one sequence of `SMALL_BLOCKS`.
const _: () = assert!(VECS <= SMALL_BLOCKS && STRINGS * PIECES <= SMALL_BLOCKS);

/// The alignment of every block the small-block workloads ask for.
const ALIGN: usize = 8;

/// One kind of round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Many small blocks of mixed sizes, all dropped at once.
    Arena,
    /// Allocate, write, free, immediately: a stack of depth one.
    Lifo,
    /// `Vec<u64>`s grown by `push` (capacity doubling), kept, then dropped.
    VecPush,
    /// Byte strings grown by exact appends: every append is a `grow`.
    StringBuild,
    /// A binary tree of boxed nodes, built, walked, dropped.
    Tree,
    /// Small blocks of random sizes, freed and replaced at random.
    SmallChurn,
    /// Blocks from 8 B to 64 KiB, freed and replaced at random.
    MixedChurn,
    /// Many `Vec`s growing by `push` at once, interleaved.
    VecGrowth,
    /// Small blocks, every other freed, then larger blocks that fit no hole.
    Fragmentation,
    /// Power-of-two blocks from 64 B to 1 MiB, freed and replaced at random.
    Pow2,
    /// Blocks of sizes strictly between powers of two, 64 B to 1 MiB, freed
    /// and replaced at random.
    RandomSizes,
    /// Blocks grown by reallocation, by doubling and by a quarter.
    ReallocGrowth,
    /// Small blocks (8-256 B, uniform sizes), freed and replaced at random.
    SmallUniform,
    /// Small blocks (8-256 B, log-uniform: mostly the smallest), freed and
    /// replaced at random.
    SmallSkewed,
    /// Mostly small blocks, one in twenty above 16 KiB, freed and replaced
    /// at random.
    MixedLarge,
    /// Invocations of request-scoped blocks freed newest first (bump's).
    FaasLifo,
    /// Invocations of many same-size small objects freed at random (slab's).
    FaasObjects,
    /// Invocations of mixed sizes with random lifetimes (the free list's).
    FaasMixed,
    /// Invocations of large power-of-two buffers freed at random (buddy's).
    FaasBuffers,
    /// `FaasLifo` invocations, then `FaasMixed` ones: a function whose
    /// behaviour changes.
    FaasPhases,
}

impl Workload {
    /// Every workload, in table order: the bump group's, then the general
    /// group's, then the power-of-two group's.
    pub const ALL: [Self; 20] = [
        Self::Arena,
        Self::Lifo,
        Self::VecPush,
        Self::StringBuild,
        Self::Tree,
        Self::SmallChurn,
        Self::MixedChurn,
        Self::VecGrowth,
        Self::Fragmentation,
        Self::Pow2,
        Self::RandomSizes,
        Self::ReallocGrowth,
        Self::SmallUniform,
        Self::SmallSkewed,
        Self::MixedLarge,
        Self::FaasLifo,
        Self::FaasObjects,
        Self::FaasMixed,
        Self::FaasBuffers,
        Self::FaasPhases,
    ];

    /// The group whose contestants run this workload.
    #[must_use]
    pub const fn group(self) -> Group {
        match self {
            Self::Arena | Self::Lifo | Self::VecPush | Self::StringBuild | Self::Tree => {
                Group::Bump
            }
            Self::SmallChurn | Self::MixedChurn | Self::VecGrowth | Self::Fragmentation => {
                Group::General
            }
            Self::Pow2 | Self::RandomSizes | Self::ReallocGrowth => Group::Buddy,
            Self::SmallUniform | Self::SmallSkewed | Self::MixedLarge => Group::Slab,
            Self::FaasLifo
            | Self::FaasObjects
            | Self::FaasMixed
            | Self::FaasBuffers
            | Self::FaasPhases => Group::Adaptive,
        }
    }

    /// Short name, for command lines and tables.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::Arena => "arena",
            Self::Lifo => "lifo",
            Self::VecPush => "vec-push",
            Self::StringBuild => "string-build",
            Self::Tree => "tree",
            Self::SmallChurn => "small-churn",
            Self::MixedChurn => "mixed-churn",
            Self::VecGrowth => "vec-growth",
            Self::Fragmentation => "fragmentation",
            Self::Pow2 => "pow2",
            Self::RandomSizes => "random-sizes",
            Self::ReallocGrowth => "realloc-growth",
            Self::SmallUniform => "small-uniform",
            Self::SmallSkewed => "small-skewed",
            Self::MixedLarge => "mixed-large",
            Self::FaasLifo => "faas-lifo",
            Self::FaasObjects => "faas-objects",
            Self::FaasMixed => "faas-mixed",
            Self::FaasBuffers => "faas-buffers",
            Self::FaasPhases => "faas-phases",
        }
    }

    /// The workload whose key is `key`.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.key() == key)
    }

    /// What one round does, in a sentence.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Arena => {
                "4,096 allocations of 8..=128 B (mixed sizes), the first 8 bytes of each written, \
                 then all dropped at once (arenas reset; System frees each block)"
            }
            Self::Lifo => {
                "4,096 alloc/write/free pairs of 8..=128 B: each block is freed before the next \
                 is allocated"
            }
            Self::VecPush => {
                "256 allocator-api2 `Vec<u64>`s built with `Vec::new_in` and `push` (16..=256 \
                 elements, capacity doubling: a few grows each), kept, then all dropped"
            }
            Self::StringBuild => {
                "64 byte strings built from 64 pieces of 1..=16 B each with `reserve_exact` + \
                 `extend_from_slice` (every append grows the newest block), kept, then all dropped"
            }
            Self::Tree => {
                "a complete binary tree of 4,095 allocator-api2 `Box` nodes (40 B), built, summed, \
                 dropped"
            }
            Self::SmallChurn => {
                "1,000 live blocks of 8..=512 B (uniform); 20,000 times a random one is freed and \
                 replaced by a new random size; then all freed. Both ends of every block written"
            }
            Self::MixedChurn => {
                "200 live blocks of 8 B..64 KiB (log-uniform: as many 8–15 B blocks as 32–64 KiB \
                 ones); 5,000 times a random one is freed and replaced; then all freed"
            }
            Self::VecGrowth => {
                "32 allocator-api2 `Vec<u64>`s growing at once by `push` in random bursts of \
                 1..=64 to 16..16,383 elements each (log-uniform; capacity doubling through the \
                 allocator's grow), then all dropped"
            }
            Self::Fragmentation => {
                "8,192 blocks of 16..=64 B, every other one freed (holes between live blocks), \
                 then 2,048 blocks of 256..=1,024 B that fit no hole; then all freed"
            }
            Self::Pow2 => {
                "100 live blocks of a power of two from 64 B to 1 MiB (log-uniform: each of the 15 \
                 sizes equally often); 2,000 times a random one is freed and replaced; then all \
                 freed. Both ends of every block written"
            }
            Self::RandomSizes => {
                "as pow2, with sizes strictly between two powers of two (a power of two from \
                 64 B to 512 KiB picked uniformly, then a size uniform above it and below the \
                 next): what a buddy allocator rounds up most"
            }
            Self::ReallocGrowth => {
                "32 blocks of 64 B grown at once by reallocation in random order to 4 KiB..1 MiB \
                 each (log-uniform): 16 doubling (Vec-style), 16 by a quarter each step; both \
                 ends written after every grow; then all freed"
            }
            Self::SmallUniform => {
                "2,000 live blocks of 8..=256 B (uniform), then 40,000 times: free a random one, \
                 allocate a new one; both ends of every block written; then all freed"
            }
            Self::SmallSkewed => {
                "as small-uniform with log-uniform sizes in 8..=256 B (as many of 8-15 B as of \
                 128-255 B)"
            }
            Self::MixedLarge => {
                "500 live blocks, 10,000 replaced at random: 19 in 20 of 8..=256 B (log-uniform), \
                 1 in 20 of 16 KiB + 1 ..= 128 KiB (above a slab allocator's largest class)"
            }
            Self::FaasLifo => {
                "8 invocations, each of 32 requests that allocate 24 blocks of 16..=512 B (multiples of 8) and free \
                 all but the first (the response) newest first; responses live to the end of the \
                 invocation"
            }
            Self::FaasObjects => {
                "8 invocations, each filling 2,000 objects of 48 B and replacing 16,000 at random"
            }
            Self::FaasMixed => {
                "8 invocations, each filling 200 blocks of 16 B..64 KiB (log-uniform) and \
                 replacing 2,000 at random"
            }
            Self::FaasBuffers => {
                "8 invocations, each filling 16 buffers of a power of two from 4 KiB to 256 KiB \
                 and replacing 256 at random"
            }
            Self::FaasPhases => {
                "4 invocations of faas-lifo, then 4 of faas-mixed: the function changes \
                 behaviour every 4 invocations"
            }
        }
    }

    /// What one operation is, for the "ns/op" columns.
    #[must_use]
    pub const fn op(self) -> &'static str {
        match self {
            Self::Arena => "allocation",
            Self::Lifo => "alloc+free pair",
            Self::VecPush => "push",
            Self::StringBuild => "append (grow)",
            Self::Tree => "node",
            Self::SmallChurn | Self::MixedChurn | Self::Fragmentation => "allocation",
            Self::VecGrowth => "push",
            Self::Pow2 | Self::RandomSizes => "allocation",
            Self::SmallUniform | Self::SmallSkewed | Self::MixedLarge => "allocation",
            Self::ReallocGrowth => "alloc or grow",
            Self::FaasLifo
            | Self::FaasObjects
            | Self::FaasMixed
            | Self::FaasBuffers
            | Self::FaasPhases => "allocation",
        }
    }

    /// Runs one round on `c` and returns the number of operations done. The
    /// round ends with nothing live in `c`.
    pub fn run<C: Contestant>(self, c: &mut C, input: &mut Input) -> u64 {
        match self {
            Self::Arena => arena(c, input),
            Self::Lifo => lifo(c, input),
            Self::VecPush => vec_push(c, input),
            Self::StringBuild => string_build(c, input),
            Self::Tree => tree(c),
            Self::SmallChurn => general::small_churn(c, &mut input.general),
            Self::MixedChurn => general::mixed_churn(c, &mut input.general),
            Self::VecGrowth => general::vec_growth(c, &mut input.general),
            Self::Fragmentation => general::fragmentation(c, &mut input.general),
            Self::Pow2 => buddy::pow2(c, &mut input.buddy),
            Self::RandomSizes => buddy::random_sizes(c, &mut input.buddy),
            Self::ReallocGrowth => buddy::realloc_growth(c, &mut input.buddy),
            Self::SmallUniform => slab::small_uniform(c, &mut input.slab),
            Self::SmallSkewed => slab::small_skewed(c, &mut input.slab),
            Self::MixedLarge => slab::mixed_large(c, &mut input.slab),
            Self::FaasLifo => adaptive::faas_lifo(c, &mut input.adaptive),
            Self::FaasObjects => adaptive::faas_objects(c, &mut input.adaptive),
            Self::FaasMixed => adaptive::faas_mixed(c, &mut input.adaptive),
            Self::FaasBuffers => adaptive::faas_buffers(c, &mut input.adaptive),
            Self::FaasPhases => adaptive::faas_phases(c, &mut input.adaptive),
        }
    }
}

/// The data a round reads, made once per contestant so every contestant
/// sees the same sizes: a seeded sequence of sizes in `8..=128`, the general
/// and power-of-two groups' sequences, and room to keep the blocks of a
/// round.
pub struct Input {
    sizes: Vec<u8>,
    blocks: Vec<NonNull<u8>>,
    text: [u8; 16],
    general: general::Sequences,
    buddy: buddy::Sequences,
    slab: slab::Sequences,
    adaptive: adaptive::Sequences,
}

impl Input {
    /// The fixed input every workload reads.
    #[must_use]
    pub fn new() -> Self {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let sizes = (0..SMALL_BLOCKS)
            .map(|_| {
                // xorshift64: cheap, seeded, the same on every run.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                8 + (state % 121) as u8
            })
            .collect();
        Self {
            sizes,
            blocks: vec![NonNull::dangling(); SMALL_BLOCKS],
            text: *b"polyalloc bench!",
            general: general::Sequences::new(),
            buddy: buddy::Sequences::new(),
            slab: slab::Sequences::new(),
            adaptive: adaptive::Sequences::new(),
        }
    }

    /// The sizes, in `8..=128`.
    #[must_use]
    pub fn sizes(&self) -> &[u8] {
        &self.sizes
    }
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

/// The layout of a small block of `size` bytes.
#[inline(always)]
fn small(size: u8) -> Layout {
    // SAFETY: `ALIGN` is a power of two and `size` is far below
    // `isize::MAX - ALIGN`.
    unsafe { Layout::from_size_align_unchecked(usize::from(size), ALIGN) }
}

/// Writes `value` into the first 8 bytes of a fresh small block.
///
/// # Safety
///
/// `p` is a live block of at least 8 bytes, aligned to 8.
#[inline(always)]
unsafe fn touch(p: NonNull<u8>, value: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { p.cast::<u64>().write(value as u64) }
}

#[inline(never)]
fn arena<C: Contestant>(c: &mut C, input: &mut Input) -> u64 {
    let sizes = black_box(&input.sizes[..]);
    let blocks = &mut input.blocks[..sizes.len()];
    for (i, (&size, slot)) in sizes.iter().zip(blocks.iter_mut()).enumerate() {
        let p = c.alloc(small(size));
        // SAFETY: a fresh block of `size >= 8` bytes, aligned to 8.
        unsafe { touch(p, i) };
        *slot = black_box(p);
    }
    if !C::RESETS {
        for (&size, &p) in sizes.iter().zip(blocks.iter()) {
            // SAFETY: each block was allocated above with this layout and is
            // freed once.
            unsafe { c.dealloc(p, small(size)) };
        }
    }
    black_box(blocks);
    // SAFETY: no block of this round is used again.
    unsafe { c.reset() };
    sizes.len() as u64
}

#[inline(never)]
fn lifo<C: Contestant>(c: &mut C, input: &mut Input) -> u64 {
    let sizes = black_box(&input.sizes[..]);
    for (i, &size) in sizes.iter().enumerate() {
        let layout = small(size);
        let p = c.alloc(layout);
        // SAFETY: a fresh block of `size >= 8` bytes, aligned to 8.
        unsafe { touch(p, i) };
        // SAFETY: the block was just allocated with `layout`.
        unsafe { c.dealloc(black_box(p), layout) };
    }
    // SAFETY: every block was freed.
    unsafe { c.reset() };
    sizes.len() as u64
}

#[inline(never)]
fn vec_push<C: Contestant>(c: &mut C, input: &mut Input) -> u64 {
    let sizes = black_box(&input.sizes[..VECS]);
    let api = c.api();
    let mut kept = Vec::with_capacity(VECS);
    let mut ops = 0;
    for &size in sizes {
        let len = u64::from(size) * 2;
        let mut v = ApiVec::new_in(api);
        for j in 0..len {
            v.push(j);
        }
        ops += len;
        kept.push(black_box(v));
    }
    drop(black_box(kept));
    // SAFETY: every vector was dropped.
    unsafe { c.reset() };
    ops
}

#[inline(never)]
fn string_build<C: Contestant>(c: &mut C, input: &mut Input) -> u64 {
    let sizes = black_box(&input.sizes[..STRINGS * PIECES]);
    let text = black_box(&input.text);
    let api = c.api();
    let mut kept = Vec::with_capacity(STRINGS);
    for pieces in sizes.chunks_exact(PIECES) {
        let mut s = ApiVec::<u8, _>::new_in(api);
        for &size in pieces {
            let piece = &text[..usize::from(size % 16) + 1];
            s.reserve_exact(piece.len());
            s.extend_from_slice(piece);
        }
        kept.push(black_box(s));
    }
    drop(black_box(kept));
    // SAFETY: every string was dropped.
    unsafe { c.reset() };
    (STRINGS * PIECES) as u64
}

/// A node of the `tree` workload: two boxed children and a value, 40 bytes
/// with a one-pointer allocator handle.
struct Node<A: Allocator> {
    left: Option<ApiBox<Node<A>, A>>,
    right: Option<ApiBox<Node<A>, A>>,
    value: u64,
}

/// Builds a complete tree of `depth` levels, children before parents.
fn build<A: Allocator + Copy>(depth: u32, next: &mut u64, api: A) -> Option<ApiBox<Node<A>, A>> {
    if depth == 0 {
        return None;
    }
    let left = build(depth - 1, next, api);
    let right = build(depth - 1, next, api);
    *next += 1;
    Some(ApiBox::new_in(
        Node {
            left,
            right,
            value: *next,
        },
        api,
    ))
}

fn sum<A: Allocator>(node: &Option<ApiBox<Node<A>, A>>) -> u64 {
    match node {
        Some(n) => n.value + sum(&n.left) + sum(&n.right),
        None => 0,
    }
}

#[inline(never)]
fn tree<C: Contestant>(c: &mut C) -> u64 {
    let api = c.api();
    let mut nodes = 0;
    let root = build(black_box(TREE_DEPTH), &mut nodes, api);
    black_box(sum(&root));
    drop(black_box(root));
    // SAFETY: the tree was dropped.
    unsafe { c.reset() };
    nodes
}
