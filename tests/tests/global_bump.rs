//! The bump allocator as the test binary's global allocator.

use polyalloc_bump::BumpAlloc;

#[global_allocator]
static ALLOC: BumpAlloc = BumpAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
