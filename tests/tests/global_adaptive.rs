//! The adaptive allocator as the test binary's global allocator.

use polyalloc_adaptive::AdaptiveAlloc;

#[global_allocator]
static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
