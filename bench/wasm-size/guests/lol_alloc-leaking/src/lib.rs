//! The wasm-size guest on lol_alloc's `LeakingAllocator`: a bump pointer
//! over `memory.grow` whose frees do nothing, the smallest allocator that
//! still serves every request (issue 7 measures bump against it).

#![no_std]

extern crate alloc;

// SAFETY: a wasm32-unknown-unknown module without the atomics feature has a
// single thread, which is what `AssumeSingleThreaded` assumes.
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::LeakingAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::LeakingAllocator::new()) };

include!("../../../guest.rs");
