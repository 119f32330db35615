//! The free-list allocator as the global allocator of a program that starts
//! single-threaded and then starts threads.

use polyalloc_freelist::FreeListAlloc;

#[global_allocator]
static ALLOC: FreeListAlloc = FreeListAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
