//! The wasm-size guest on talc, as its docs recommend for wasm (`TalckWasm::new_global`).

#![no_std]

extern crate alloc;

// SAFETY: a wasm32-unknown-unknown module without the atomics feature has a
// single thread, which is `new_global`'s contract.
#[global_allocator]
static ALLOC: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

include!("../../../guest.rs");
