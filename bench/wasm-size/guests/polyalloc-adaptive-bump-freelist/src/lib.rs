//! The wasm-size guest on polyalloc's adaptive allocator built with the
//! `bump` feature only: the bump and free-list cores (functions start on
//! bump and leave it for the free list), the recorder and the policy; no
//! guest ABI exports.

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_adaptive::AdaptiveAlloc = polyalloc_adaptive::AdaptiveAlloc::new();

include!("../../../guest.rs");
