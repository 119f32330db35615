//! The workload guest on lol_alloc's free-list allocator.

#[global_allocator]
// SAFETY: a wasm guest has one thread, which `AssumeSingleThreaded` needs.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

polyalloc_workloads::guest_exports!();
polyalloc_workloads::plain_reset_exports!();
