//! The family's allocators as the suite builds them, one [`Candidate`] each,
//! shared by the integration tests (`tests/tests/<name>.rs`) and the fuzz
//! targets (`fuzz/`).

use polyalloc_bump::BumpHeap;
use polyalloc_core::source::RegionSource;

use crate::Candidate;

/// The bump strategy (`polyalloc-bump`).
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
