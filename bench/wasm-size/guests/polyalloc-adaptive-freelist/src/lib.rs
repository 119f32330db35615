//! The wasm-size guest on polyalloc's adaptive allocator built with no
//! default features: the free-list core only (init and run heaps), the
//! recorder and the policy; no guest ABI exports.

#![no_std]

extern crate alloc;

#[global_allocator]
static ALLOC: polyalloc_adaptive::AdaptiveAlloc = polyalloc_adaptive::AdaptiveAlloc::new();

include!("../../../guest.rs");
