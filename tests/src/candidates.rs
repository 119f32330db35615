//! The family's allocators as the suite builds them, one [`Candidate`] each,
//! shared by the integration tests (`tests/tests/<name>.rs`) and the fuzz
//! targets (`fuzz/`).

use polyalloc_bump::BumpHeap;
use polyalloc_core::source::RegionSource;
use polyalloc_core::{Counting, DefaultSource};

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
