//! The thread-caching front end as the test binary's global allocator: the
//! global-allocator tests (collections on threads, the threaded stress
//! test), and the slab allocator's whole conformance suite run again with
//! every allocation of the harness and of the suite itself, on the harness's
//! many threads, going through `ThreadAlloc`.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use polyalloc_threads::ThreadAlloc;

#[global_allocator]
static ALLOC: ThreadAlloc = ThreadAlloc::new();

polyalloc_conformance::global_allocator_tests!(ALLOC);
polyalloc_conformance::conformance_tests!(mod slab_under_threads: polyalloc_conformance::candidates::Slab);
