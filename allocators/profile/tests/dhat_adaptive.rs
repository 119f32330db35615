//! dhat-rs watches this binary's global allocator: the adaptive heap's
//! recording (usage counters, histogram, policy decisions, strategy
//! switches, resets, records) over a caller-provided region allocates
//! nothing globally.
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
    check::adaptive_recording_allocates_nothing();
    println!("adaptive_recording_allocates_nothing ... ok");
}

#[cfg(not(polyalloc_selfhost))]
mod check {
    use allocator_api2::alloc::{Allocator, Layout};
    use polyalloc_adaptive::AdaptiveHeap;
    use polyalloc_core::HeapCell;
    use polyalloc_core::source::RegionSource;

    #[global_allocator]
    static ALLOC: dhat::Alloc = dhat::Alloc;

    pub(crate) fn adaptive_recording_allocates_nothing() {
        let _profiler = dhat::Profiler::builder().testing().build();
        let mut buf = vec![0u8; 8 << 20];
        let start = dhat::HeapStats::get();
        // dhat saw the region: it is counting.
        dhat::assert!(start.total_bytes >= 8 << 20);

        // SAFETY: `buf` outlives the heap and is used only through it.
        let source = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
        let mut heap = HeapCell::new(AdaptiveHeap::with_source(source));
        let mut switched = false;
        for invocation in 0..20usize {
            let h = &heap;
            // Out-of-order frees of many sizes: bump fails, the policy switches.
            let mut live = [None; 64];
            for i in 0..2000usize {
                let size = 8 + (i * 37 + invocation) % 900;
                let layout = Layout::from_size_align(size, 8).unwrap();
                let slot = (i * 7) % live.len();
                if let Some((ptr, old)) = live[slot].take() {
                    // SAFETY: `ptr` came from `h` with `old`.
                    unsafe { h.deallocate(ptr, old) };
                }
                let block = h.allocate(layout).unwrap();
                live[slot] = Some((block.cast::<u8>(), layout));
            }
            for (ptr, layout) in live.iter().flatten() {
                // SAFETY: as above.
                unsafe { h.deallocate(*ptr, *layout) };
            }
            // Every block of this invocation was freed above.
            let core = heap.get_mut();
            switched |= core.decision().strategy != polyalloc_adaptive::Strategy::Bump;
            core.end_invocation();
            let record = core.record().to_bytes();
            assert!(core.load_record(&record).is_ok());
        }
        assert!(switched, "the workload made the heap switch");

        let end = dhat::HeapStats::get();
        dhat::assert_eq!(end.total_blocks, start.total_blocks);
        dhat::assert_eq!(end.total_bytes, start.total_bytes);
    }
}
