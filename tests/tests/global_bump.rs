//! The bump allocator as the test binary's global allocator.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use polyalloc_bump::BumpAlloc;

#[global_allocator]
static ALLOC: BumpAlloc = BumpAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
