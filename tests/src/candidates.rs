//! The family's allocators as the suite builds them, one [`Candidate`] each,
//! shared by the integration tests (`tests/tests/<name>.rs`) and the fuzz
//! targets (`fuzz/`).

use polyalloc_buddy::BuddyHeap;
use polyalloc_bump::BumpHeap;
use polyalloc_core::source::RegionSource;
use polyalloc_core::{Counting, DefaultSource};
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BumpHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BumpHeap::new()
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BumpHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BumpHeap::counting(DefaultSource::new())
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        FreeListHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        FreeListHeap::new()
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        FreeListHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        FreeListHeap::counting(DefaultSource::new())
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BuddyHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BuddyHeap::new()
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        BuddyHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        BuddyHeap::counting(DefaultSource::new())
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        SlabHeap::with_source(source)
    }

    fn over_default() -> Self::DefaultHeap {
        SlabHeap::new()
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

    fn over_region(source: RegionSource) -> Self::RegionHeap {
        SlabHeap::counting(source)
    }

    fn over_default() -> Self::DefaultHeap {
        SlabHeap::counting(DefaultSource::new())
    }
}
