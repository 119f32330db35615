//! The slab allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

use polyalloc_slab::SlabAlloc;

#[global_allocator]
static ALLOC: SlabAlloc = SlabAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
