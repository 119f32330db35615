//! Bump-specific behaviour through allocator-api2: in-place growth at the
//! top, through 0.2 and through 0.4 (core's `allocator-api2-04` feature).
//! The generic contract is the conformance suite's.

use allocator_api2_04::vec::Vec;
use polyalloc_bump::{BumpHeap, LockedHeap};
use polyalloc_core::Heap;
use polyalloc_core::source::MmapSource;

#[test]
fn vec_from_allocator_api2_0_4_grows_in_place_at_the_top() {
    let arena = LockedHeap::with_heap(BumpHeap::counting(MmapSource::new()));
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

#[test]
fn grow_zeroed_of_the_top_block_stays_in_place() {
    use allocator_api2::alloc::{Allocator, Layout};

    let arena = LockedHeap::with_heap(BumpHeap::counting(MmapSource::new()));
    let old = Layout::from_size_align(16, 8).unwrap();
    let new = Layout::from_size_align(4096, 8).unwrap();
    let block = arena.allocate(old).unwrap().cast::<u8>();
    // SAFETY: the block is valid for 16 bytes, then grown with its layout.
    let grown = unsafe {
        block.as_ptr().write_bytes(0xEE, 16);
        arena.grow_zeroed(block, old, new).unwrap().cast::<u8>()
    };
    assert_eq!(grown, block, "the top block grows where it is");
    assert_eq!(arena.stats().reallocations, 1);
    // SAFETY: the grown block is valid for 4096 bytes.
    let bytes = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 4096) };
    assert!(bytes[..16].iter().all(|&b| b == 0xEE));
    assert!(bytes[16..].iter().all(|&b| b == 0));
}

#[test]
fn a_heap_cell_is_a_lock_free_allocator_on_one_thread() {
    use polyalloc_core::HeapCell;

    let arena = HeapCell::new(BumpHeap::counting(MmapSource::new()));
    let mut words: allocator_api2::vec::Vec<allocator_api2::vec::Vec<u8, _>, _> =
        allocator_api2::vec::Vec::new_in(&arena);
    for i in 0..100u8 {
        let mut w = allocator_api2::vec::Vec::new_in(&arena);
        w.extend_from_slice(&[i; 10]);
        words.push(w);
    }
    assert!(
        words
            .iter()
            .enumerate()
            .all(|(i, w)| w.len() == 10 && w[0] == i as u8)
    );
    assert!(arena.stats().allocations >= 101);
    arena.check().unwrap();
    drop(words);
    let mut arena = arena;
    arena.get_mut().reset();
    assert_eq!(arena.stats().blocks_live(), 0);
}
