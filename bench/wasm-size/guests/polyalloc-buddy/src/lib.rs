//! The wasm-size guest on polyalloc's buddy allocator.

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_buddy::BuddyAlloc = polyalloc_buddy::BuddyAlloc::new();

include!("../../../guest.rs");
