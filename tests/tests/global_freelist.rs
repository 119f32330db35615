//! The free-list allocator as the test binary's global allocator.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use polyalloc_freelist::FreeListAlloc;

#[global_allocator]
static ALLOC: FreeListAlloc = FreeListAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
