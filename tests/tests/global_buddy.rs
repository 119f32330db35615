//! The buddy allocator as the test binary's global allocator.

use polyalloc_buddy::BuddyAlloc;

#[global_allocator]
static ALLOC: BuddyAlloc = BuddyAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
