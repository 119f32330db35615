//! The wasm-size guest on polyalloc's bump allocator (for reference: it never reuses memory but on LIFO frees).

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_bump::BumpAlloc = polyalloc_bump::BumpAlloc::new();

include!("../../../guest.rs");
