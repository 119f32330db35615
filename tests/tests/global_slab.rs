//! The slab allocator as the test binary's global allocator.

use polyalloc_slab::SlabAlloc;

#[global_allocator]
static ALLOC: SlabAlloc = SlabAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
