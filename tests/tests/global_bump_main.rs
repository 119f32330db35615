//! The bump allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

#[cfg(not(polyalloc_selfhost))]
use polyalloc_bump::BumpAlloc;

#[cfg(not(polyalloc_selfhost))]
#[global_allocator]
static ALLOC: BumpAlloc = BumpAlloc::new();

#[cfg(not(polyalloc_selfhost))]
polyalloc_conformance::global_allocator_main!(ALLOC);

/// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#[cfg(polyalloc_selfhost)]
fn main() {}
