//! The workload guest on talc.

#[global_allocator]
// SAFETY: talc's wasm constructor: sound in a single-threaded wasm guest,
// whose memory only this allocator grows.
static ALLOC: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!();
