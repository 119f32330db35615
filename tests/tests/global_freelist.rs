//! The free-list allocator as the test binary's global allocator.

use polyalloc_freelist::FreeListAlloc;

#[global_allocator]
static ALLOC: FreeListAlloc = FreeListAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
