//! The workload guest on `polyalloc_buddy::BuddyAlloc`.

#[global_allocator]
static ALLOC: polyalloc_buddy::BuddyAlloc = polyalloc_buddy::BuddyAlloc::new();

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!(ALLOC);
