//! The wasm-size guest on polyalloc's slab allocator.

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_slab::SlabAlloc = polyalloc_slab::SlabAlloc::new();

include!("../../../guest.rs");
