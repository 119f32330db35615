//! The buddy allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

use polyalloc_buddy::BuddyAlloc;

#[global_allocator]
static ALLOC: BuddyAlloc = BuddyAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
