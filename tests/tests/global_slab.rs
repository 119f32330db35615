//! The slab allocator as the test binary's global allocator.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use polyalloc_slab::SlabAlloc;

#[global_allocator]
static ALLOC: SlabAlloc = SlabAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
