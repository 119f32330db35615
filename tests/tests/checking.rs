//! Checking-mode death tests (`cargo test -p polyalloc-conformance
//! --features checking --test checking`): every misuse is reported by name,
//! in a child process that must abort (see the suite's `misuse` module).
//!
//! This binary's own allocator is the system's, wrapped so that it aborts
//! with other words if anything allocates once a child is about to commit
//! its misuse: the report must not allocate.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use std::alloc::{GlobalAlloc, Layout, System};

use polyalloc_conformance::candidates::{Buddy, Bump, FreeList, Slab};
use polyalloc_conformance::misuse::forbid_allocation;

/// The system allocator, refusing to serve the fault path.
struct NoAllocInFaultPath;

/// What the guard writes before it aborts.
const GUARD: &[u8] = b"the fault path allocated\n";

// SAFETY: forwards to the system allocator, or aborts.
unsafe impl GlobalAlloc for NoAllocInFaultPath {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if forbid_allocation() {
            use std::io::Write;
            let _ = std::io::stderr().write_all(GUARD);
            std::process::abort();
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: NoAllocInFaultPath = NoAllocInFaultPath;

polyalloc_conformance::misuse_tests!(slab: Slab, "slab");
polyalloc_conformance::misuse_tests!(free_list: FreeList, "free list");
polyalloc_conformance::misuse_tests!(buddy: Buddy, "buddy");

// Bump keeps no block boundaries, so an interior pointer reads as a block
// (see `allocators/bump/src/heap/checking.rs`); the double free it names is
// of the most recent block, which a free rolled the top back over.
polyalloc_conformance::misuse_tests!(
    bump: Bump,
    "bump",
    [
        double_free: DoubleFree,
        not_owned: NotOwned,
        wrong_layout: WrongLayout,
        write_after_free: WriteAfterFree,
    ]
);
