//! The buddy allocator as the test binary's global allocator.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use polyalloc_buddy::BuddyAlloc;

#[global_allocator]
static ALLOC: BuddyAlloc = BuddyAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
