//! The thread-caching front end as the global allocator of a program that
//! starts single-threaded and then starts threads.

use polyalloc_threads::ThreadAlloc;

#[global_allocator]
static ALLOC: ThreadAlloc = ThreadAlloc::new();

polyalloc_conformance::global_allocator_main!(ALLOC);
