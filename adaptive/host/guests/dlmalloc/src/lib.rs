//! The workload guest on std's default allocator, dlmalloc on
//! wasm32-unknown-unknown: no `#[global_allocator]`.

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!();
