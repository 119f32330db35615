//! dhat-rs watches this binary's global allocator: the profiler's own
//! bookkeeping lives in its private heap, so profiling a heap over a
//! caller-provided region makes no global allocation, whether it records
//! tags (and writes the profile) or captures backtraces.
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
    check::the_profiler_makes_no_global_allocations();
    println!("the_profiler_makes_no_global_allocations ... ok");
}

#[cfg(not(polyalloc_selfhost))]
mod check {
    use allocator_api2::vec::Vec;
    use polyalloc_core::LockedHeap;
    use polyalloc_core::source::RegionSource;
    use polyalloc_freelist::FreeListHeap;
    use polyalloc_profile::{Config, Profiled, tagged};

    type Region = LockedHeap<FreeListHeap<RegionSource>>;

    #[global_allocator]
    static ALLOC: dhat::Alloc = dhat::Alloc;

    fn workload(heap: &Profiled<Region>) -> usize {
        let mut total = 0;
        for round in 0..100usize {
            let mut v = Vec::new_in(heap);
            for i in 0..(round % 40) {
                v.push(i);
            }
            let mut map = hashbrown::HashMap::new_in(heap);
            map.insert(round, v.len());
            total += map.values().sum::<usize>();
        }
        total
    }

    pub(crate) fn the_profiler_makes_no_global_allocations() {
        let _profiler = dhat::Profiler::builder().testing().build();
        let mut buf_a = vec![0u8; 1 << 20];
        let mut buf_b = vec![0u8; 1 << 20];
        // SAFETY: `buf_a` outlives the heap and is used only through it.
        let source = unsafe { RegionSource::new(buf_a.as_mut_ptr(), buf_a.len()) };
        let tags: Profiled<Region> = Profiled::with_config(
            LockedHeap::with_heap(FreeListHeap::with_source(source)),
            Config::tags(),
        );
        // SAFETY: as above, for `buf_b`.
        let source = unsafe { RegionSource::new(buf_b.as_mut_ptr(), buf_b.len()) };
        let traces: Profiled<Region> = Profiled::with_config(
            LockedHeap::with_heap(FreeListHeap::with_source(source)),
            Config::backtraces(),
        );
        // The backtrace library may set itself up on first use.
        workload(&traces);
        let start = dhat::HeapStats::get();
        dhat::assert!(start.total_bytes >= 2 << 20);

        // Tags: recording.
        let total = tagged("work", || workload(&tags));
        dhat::assert!(tags.summary().total_blocks > 100);
        // Backtraces: recording.
        dhat::assert_eq!(workload(&traces), total);
        dhat::assert!(traces.summary().total_blocks > 200);

        let end = dhat::HeapStats::get();
        dhat::assert_eq!(end.total_blocks, start.total_blocks);
        dhat::assert_eq!(end.total_bytes, start.total_bytes);

        // Writing a profile on a std host reads the command line (`cmd`), which
        // std hands out in global memory, briefly; the tables and the JSON stay
        // in the private heap: with the profile alive, nothing more is live in
        // global memory than before.
        let profile = tags.profile();
        dhat::assert!(profile.as_str().contains("\"work\""));
        let written = dhat::HeapStats::get();
        dhat::assert_eq!(written.curr_blocks, end.curr_blocks);
        dhat::assert_eq!(written.curr_bytes, end.curr_bytes);
        drop(profile);
    }
}
