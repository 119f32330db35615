//! The wasm-size guest on lol_alloc's free-list allocator.

#![no_std]

extern crate alloc;

// SAFETY: a wasm32-unknown-unknown module without the atomics feature has a
// single thread, which is what `AssumeSingleThreaded` assumes.
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

include!("../../../guest.rs");
