//! The workload guest on `polyalloc_bump::BumpAlloc`.

#[global_allocator]
static ALLOC: polyalloc_bump::BumpAlloc = polyalloc_bump::BumpAlloc::new();

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!(ALLOC);
