//! The workload guest on `polyalloc_slab::SlabAlloc`.

#[global_allocator]
static ALLOC: polyalloc_slab::SlabAlloc = polyalloc_slab::SlabAlloc::new();

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!(ALLOC);
