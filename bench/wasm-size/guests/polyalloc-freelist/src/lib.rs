//! The wasm-size guest on polyalloc's free-list allocator.

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_freelist::FreeListAlloc = polyalloc_freelist::FreeListAlloc::new();

include!("../../../guest.rs");
