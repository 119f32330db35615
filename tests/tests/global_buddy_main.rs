//! The buddy allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

#[cfg(not(polyalloc_selfhost))]
use polyalloc_buddy::BuddyAlloc;

#[cfg(not(polyalloc_selfhost))]
#[global_allocator]
static ALLOC: BuddyAlloc = BuddyAlloc::new();

#[cfg(not(polyalloc_selfhost))]
polyalloc_conformance::global_allocator_main!(ALLOC);

/// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#[cfg(polyalloc_selfhost)]
fn main() {}
