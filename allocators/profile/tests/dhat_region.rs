//! dhat-rs watches this binary's global allocator: a polyalloc heap over a
//! region the caller provides, used through allocator-api2 (a free list and
//! a slab under `hashbrown` and `allocator_api2::vec::Vec`), makes no global
//! allocation at all.
//!
//! Run without libtest's harness (`harness = false` in Cargo.toml): dhat
//! counts the allocations of every thread, and the harness's main thread
//! allocates while a test starts (its record of the running test), which on
//! a loaded machine fell inside the measured window (3 or 4 blocks, in 7
//! runs of 40 beside two busy loops).

// The self-hosted run (tests/selfhost.sh) sets the global allocator itself:
// there this binary does nothing.
#[cfg(polyalloc_selfhost)]
fn main() {}

#[cfg(not(polyalloc_selfhost))]
fn main() {
    check::region_heaps_make_no_global_allocations();
    println!("region_heaps_make_no_global_allocations ... ok");
}

#[cfg(not(polyalloc_selfhost))]
mod check {
    use allocator_api2::vec::Vec;
    use polyalloc_core::LockedHeap;
    use polyalloc_core::source::RegionSource;
    use polyalloc_freelist::FreeListHeap;
    use polyalloc_slab::SlabHeap;

    #[global_allocator]
    static ALLOC: dhat::Alloc = dhat::Alloc;

    pub(crate) fn region_heaps_make_no_global_allocations() {
        let _profiler = dhat::Profiler::builder().testing().build();
        // The regions are made before counting starts.
        let mut buf_a = vec![0u8; 1 << 20];
        let mut buf_b = vec![0u8; 1 << 20];
        let start = dhat::HeapStats::get();
        // dhat saw the two regions: it is counting.
        dhat::assert!(start.total_blocks >= 2 && start.total_bytes >= 2 << 20);

        // SAFETY: `buf_a` outlives the heap and is used only through it.
        let source = unsafe { RegionSource::new(buf_a.as_mut_ptr(), buf_a.len()) };
        let freelist = LockedHeap::with_heap(FreeListHeap::with_source(source));
        // SAFETY: as above, for `buf_b`.
        let source = unsafe { RegionSource::new(buf_b.as_mut_ptr(), buf_b.len()) };
        let slab = LockedHeap::with_heap(SlabHeap::with_source(source));

        let mut total = 0u64;
        for round in 0..50u64 {
            let mut map = hashbrown::HashMap::new_in(&freelist);
            let mut v = Vec::new_in(&slab);
            for i in 0..200u64 {
                map.insert(i, i * round);
                v.push(i);
            }
            map.retain(|k, _| k % 3 == 0);
            total += map.values().sum::<u64>() + v.iter().sum::<u64>();
        }
        assert!(total > 0);
        assert!(freelist.stats().bytes_reserved > 0 && slab.stats().bytes_reserved > 0);

        let end = dhat::HeapStats::get();
        dhat::assert_eq!(end.total_blocks, start.total_blocks);
        dhat::assert_eq!(end.total_bytes, start.total_bytes);
    }
}
