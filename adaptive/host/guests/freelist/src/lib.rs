//! The workload guest on `polyalloc_freelist::FreeListAlloc`.

#[global_allocator]
static ALLOC: polyalloc_freelist::FreeListAlloc = polyalloc_freelist::FreeListAlloc::new();

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!(ALLOC);
