//! The adaptive allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

use polyalloc_adaptive::AdaptiveAlloc;

#[global_allocator]
static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
