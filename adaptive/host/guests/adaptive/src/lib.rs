//! The workload guest on `polyalloc_adaptive::AdaptiveAlloc`, exporting the
//! adaptive guest ABI.

#[global_allocator]
static ALLOC: polyalloc_adaptive::AdaptiveAlloc = polyalloc_adaptive::AdaptiveAlloc::new();

polyalloc_workloads::guest_exports!();
polyalloc_adaptive::guest_abi!(
    ALLOC,
    before_reset = polyalloc_workloads::guest::end_invocation
);
