//! The allocator-api2 0.4 `Allocator` impl (core's `allocator-api2-04`
//! feature) on a bump arena. The 0.2 impl is covered by the conformance suite.

use allocator_api2_04::vec::Vec;
use polyalloc_bump::{BumpHeap, LockedHeap};
use polyalloc_core::source::MmapSource;

#[test]
fn vec_from_allocator_api2_0_4_grows_in_place_at_the_top() {
    let arena = LockedHeap::with_heap(BumpHeap::with_source(MmapSource::new()));
    let mut v: Vec<u64, _> = Vec::new_in(&arena);
    for i in 0..4_000u64 {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), 4_000 * 3_999 / 2);
    let stats = arena.stats();
    // The only block is always the top one and 32 KiB fits in the first
    // chunk, so every grow is in place.
    assert_eq!(stats.allocations, 1);
    assert!(stats.reallocations > 5);
    assert_eq!(stats.failed_deallocations, 0);
    drop(v);
    assert_eq!(arena.stats().bytes_live, 0);
}
