//! The bump allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

use polyalloc_bump::BumpAlloc;

#[global_allocator]
static ALLOC: BumpAlloc = BumpAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
