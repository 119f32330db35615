//! The family's allocators as the suite builds them, one [`Candidate`] each,
//! shared by the integration tests (`tests/tests/<name>.rs`) and the fuzz
//! targets (`fuzz/`).

use core::alloc::Layout;
use core::ptr::NonNull;

use polyalloc_adaptive::{AdaptiveHeap, Phase, Strategy};
use polyalloc_buddy::BuddyHeap;
use polyalloc_bump::BumpHeap;
use polyalloc_core::source::RegionSource;
use polyalloc_core::{CheckError, Counting, DefaultSource, Heap, Source, Stats};
use polyalloc_freelist::FreeListHeap;
use polyalloc_slab::SlabHeap;

use crate::Candidate;

/// The bump strategy (`polyalloc-bump`) as users get it by default: only the
/// bytes reserved are counted.
#[derive(Debug)]
pub struct Bump;

impl Candidate for Bump {
    const NAME: &'static str = "bump";
    // Only the most recent block is reused; the rest waits for a reset.
    const FREES_REUSE_MEMORY: bool = false;
    type RegionHeap = BumpHeap<RegionSource>;
    type DefaultHeap = BumpHeap;
    type Over<S: Source + Send + 'static> = BumpHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BumpHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BumpHeap::new()
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        BumpHeap::with_source(source)
    }
}

/// The bump strategy keeping every counter: the suite checks them against
/// the model.
#[derive(Debug)]
pub struct CountingBump;

impl Candidate for CountingBump {
    const NAME: &'static str = "bump (counting)";
    const FREES_REUSE_MEMORY: bool = false;
    type RegionHeap = BumpHeap<RegionSource, Counting>;
    type DefaultHeap = BumpHeap<DefaultSource, Counting>;
    type Over<S: Source + Send + 'static> = BumpHeap<S, Counting>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BumpHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BumpHeap::counting(DefaultSource::new())
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        BumpHeap::counting(source)
    }
}

/// The free-list strategy (`polyalloc-freelist`) as users get it by default.
#[derive(Debug)]
pub struct FreeList;

impl Candidate for FreeList {
    const NAME: &'static str = "free list";
    const FREES_REUSE_MEMORY: bool = true;
    type RegionHeap = FreeListHeap<RegionSource>;
    type DefaultHeap = FreeListHeap;
    type Over<S: Source + Send + 'static> = FreeListHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        FreeListHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        FreeListHeap::new()
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        FreeListHeap::with_source(source)
    }
}

/// The free-list strategy keeping every counter.
#[derive(Debug)]
pub struct CountingFreeList;

impl Candidate for CountingFreeList {
    const NAME: &'static str = "free list (counting)";
    const FREES_REUSE_MEMORY: bool = true;
    type RegionHeap = FreeListHeap<RegionSource, Counting>;
    type DefaultHeap = FreeListHeap<DefaultSource, Counting>;
    type Over<S: Source + Send + 'static> = FreeListHeap<S, Counting>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        FreeListHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        FreeListHeap::counting(DefaultSource::new())
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        FreeListHeap::counting(source)
    }
}

/// The buddy strategy (`polyalloc-buddy`) as users get it by default.
#[derive(Debug)]
pub struct Buddy;

impl Candidate for Buddy {
    const NAME: &'static str = "buddy";
    const FREES_REUSE_MEMORY: bool = true;
    type RegionHeap = BuddyHeap<RegionSource>;
    type DefaultHeap = BuddyHeap;
    type Over<S: Source + Send + 'static> = BuddyHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BuddyHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BuddyHeap::new()
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        BuddyHeap::with_source(source)
    }
}

/// The buddy strategy keeping every counter.
#[derive(Debug)]
pub struct CountingBuddy;

impl Candidate for CountingBuddy {
    const NAME: &'static str = "buddy (counting)";
    const FREES_REUSE_MEMORY: bool = true;
    type RegionHeap = BuddyHeap<RegionSource, Counting>;
    type DefaultHeap = BuddyHeap<DefaultSource, Counting>;
    type Over<S: Source + Send + 'static> = BuddyHeap<S, Counting>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BuddyHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BuddyHeap::counting(DefaultSource::new())
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        BuddyHeap::counting(source)
    }
}

/// The slab strategy (`polyalloc-slab`) as users get it by default.
#[derive(Debug)]
pub struct Slab;

/// The slab heap's small region: slabs are 64 KiB at 64 KiB alignment, and
/// the suite's regions are only page-aligned, so the first slab may cost up
/// to 60 KiB of padding; the mixed-size tests then want a slab per class.
const SLAB_SMALL_REGION: usize = 1024 * 1024;

impl Candidate for Slab {
    const NAME: &'static str = "slab";
    const FREES_REUSE_MEMORY: bool = true;
    const SMALL_REGION: usize = SLAB_SMALL_REGION;
    type RegionHeap = SlabHeap<RegionSource>;
    type DefaultHeap = SlabHeap;
    type Over<S: Source + Send + 'static> = SlabHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        SlabHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        SlabHeap::new()
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        SlabHeap::with_source(source)
    }
}

/// The slab strategy keeping every counter.
#[derive(Debug)]
pub struct CountingSlab;

impl Candidate for CountingSlab {
    const NAME: &'static str = "slab (counting)";
    const FREES_REUSE_MEMORY: bool = true;
    const SMALL_REGION: usize = SLAB_SMALL_REGION;
    type RegionHeap = SlabHeap<RegionSource, Counting>;
    type DefaultHeap = SlabHeap<DefaultSource, Counting>;
    type Over<S: Source + Send + 'static> = SlabHeap<S, Counting>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        SlabHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        SlabHeap::counting(DefaultSource::new())
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        SlabHeap::counting(source)
    }
}

/// The adaptive meta-allocator (`polyalloc-adaptive`) as users get it: it
/// starts on bump and switches when the suite's frees make bump waste too
/// much.
#[derive(Debug)]
pub struct Adaptive;

impl Candidate for Adaptive {
    const NAME: &'static str = "adaptive";
    // Before its first switch the adaptive heap is a bump heap: out-of-order
    // frees are reused only once the policy has moved it off bump.
    const FREES_REUSE_MEMORY: bool = false;
    // Room for a bump chunk and a free-list span side by side.
    const SMALL_REGION: usize = 256 * 1024;
    type RegionHeap = AdaptiveHeap<RegionSource>;
    type DefaultHeap = AdaptiveHeap;
    type Over<S: Source + Send + 'static> = AdaptiveHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        AdaptiveHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        AdaptiveHeap::new()
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        AdaptiveHeap::with_source(source)
    }
}

/// The adaptive heap with its strategy forced at pseudo-random allocations
/// (and its phase flipped between init and run now and then), so every
/// test runs across switches: blocks of every strategy live side by side
/// and must each go back to the core that owns them.
#[derive(Debug)]
pub struct AdaptiveSwitching;

impl Candidate for AdaptiveSwitching {
    const NAME: &'static str = "adaptive (forced switches)";
    // A switch can land on bump at any time.
    const FREES_REUSE_MEMORY: bool = false;
    const SMALL_REGION: usize = 512 * 1024;
    type RegionHeap = SwitchingHeap<RegionSource>;
    type DefaultHeap = SwitchingHeap<DefaultSource>;
    type Over<S: Source + Send + 'static> = SwitchingHeap<S>;

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        SwitchingHeap::new(AdaptiveHeap::with_source(source))
    }

    fn over_default() -> Self::DefaultHeap {
        SwitchingHeap::new(AdaptiveHeap::new())
    }

    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
        SwitchingHeap::new(AdaptiveHeap::with_source(source))
    }
}

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// An [`AdaptiveHeap`] that forces a strategy switch at pseudo-random
/// allocations (about one in eight) and flips the phase at about one in
/// thirty-two; otherwise it passes every call straight on.
#[derive(Debug)]
pub struct SwitchingHeap<S: Source> {
    heap: AdaptiveHeap<S>,
    rng: u64,
}

impl<S: Source> SwitchingHeap<S> {
    /// Wraps `heap`.
    pub fn new(heap: AdaptiveHeap<S>) -> Self {
        Self { heap, rng: SEED }
    }

    /// The wrapped heap.
    pub fn inner(&self) -> &AdaptiveHeap<S> {
        &self.heap
    }

    fn maybe_switch(&mut self) {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if self.rng % 8 == 0 {
            let to = Strategy::ALL[(self.rng >> 8) as usize % Strategy::ALL.len()];
            self.heap.force(to);
        }
        if (self.rng >> 16) % 32 == 0 {
            match self.heap.phase() {
                Phase::Init => self.heap.end_init(),
                Phase::Run => self.heap.begin_init(),
            }
        }
    }
}

// SAFETY: every call goes to the wrapped heap, which upholds the contract;
// forcing a strategy or flipping the phase only changes where new blocks
// come from (every block stays valid: that is what this candidate tests).
unsafe impl<S: Source> Heap for SwitchingHeap<S> {
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.maybe_switch();
        self.heap.allocate(layout)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.deallocate(ptr, layout) }
    }

    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.grow_in_place(ptr, old, new) }
    }

    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.shrink_in_place(ptr, old, new) }
    }

    fn owns(&self, ptr: NonNull<u8>) -> bool {
        self.heap.owns(ptr)
    }

    fn reset(&mut self) {
        // Back to the state of a fresh heap, switches included, so a test
        // that compares a run after the reset with the first one compares
        // like with like.
        self.heap.reset();
        self.heap.end_init();
        self.heap.force(Strategy::Bump);
        self.rng = SEED;
    }

    fn stats(&self) -> Stats {
        self.heap.stats()
    }

    fn check(&self) -> Result<(), CheckError> {
        self.heap.check()
    }
}
