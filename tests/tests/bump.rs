//! The conformance suite for the bump allocator.

use polyalloc_bump::BumpHeap;
use polyalloc_conformance::Candidate;
use polyalloc_core::source::RegionSource;

/// The bump strategy, as the suite builds it.
struct Bump;

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

polyalloc_conformance::conformance_tests!(Bump);
