//! The wasm-size guest on dlmalloc (`GlobalDlmalloc`, std's allocator on wasm32-unknown-unknown).

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

include!("../../../guest.rs");
