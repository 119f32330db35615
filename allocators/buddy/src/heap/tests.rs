//! Unit tests of the buddy core: splitting, merging, alignment, in-place
//! resizing, several arenas, release to `mmap`, reset.

extern crate std;

use core::alloc::Layout;
use std::alloc::{alloc_zeroed, dealloc};
use std::vec::Vec;

use polyalloc_core::source::{MmapSource, RegionSource};
use polyalloc_core::{Counting, Heap};

use super::*;

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A buffer aligned to its size (a power of two), freed on drop: declare it
/// before the heap over it, so the heap goes first.
struct Buf {
    ptr: *mut u8,
    layout: Layout,
}

impl Buf {
    fn new(len: usize) -> Self {
        let layout = l(len, len);
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Self { ptr, layout }
    }

    fn source(&self) -> RegionSource {
        // SAFETY: the buffer outlives the heap built on the source in every
        // test (it is declared first), and is only used through it.
        unsafe { RegionSource::new(self.ptr, self.layout.size()) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

/// Frees `p`, allocated with `layout`, and checks the heap.
fn free<S: Source, R: Recorder>(heap: &mut BuddyHeap<S, R>, p: NonNull<u8>, layout: Layout) {
    // SAFETY: every caller passes a live block with its layout.
    unsafe { heap.deallocate(p, layout) };
    heap.check().unwrap();
}

#[test]
fn orders_round_size_and_alignment_up() {
    assert_eq!(order_of(l(1, 1)), Some(MIN_ORDER));
    assert_eq!(order_of(l(MIN_BLOCK + 1, 1)), Some(MIN_ORDER + 1));
    assert_eq!(order_of(l(4096, 8)), Some(12));
    assert_eq!(order_of(l(4097, 8)), Some(13));
    assert_eq!(order_of(l(1, 1 << 20)), Some(20));
    assert_eq!(order_of(l(1 << MAX_BLOCK_ORDER, 1)), Some(MAX_BLOCK_ORDER));
    assert_eq!(order_of(l((1 << MAX_BLOCK_ORDER) + 1, 1)), None);
    assert_eq!(order_of(l(1, 1 << (usize::BITS - 2))), None);
    assert_eq!(order_of(l(0, 1)), None);
    assert_eq!(order_of(l(0, 4096)), None);
    // Pair bits are numbered as the tree's nodes: the arena's halves share
    // bit 1, and the smallest blocks' pairs fill the bitmap block up to its
    // last bit; bit 0 is unused.
    let k = 16;
    assert_eq!(bit_index(k, k - 1, 0), 1);
    assert_eq!(bit_index(k, k - 1, 1 << (k - 1)), 1);
    assert_eq!(bit_index(k, k - 2, 3 << (k - 2)), 3);
    assert_eq!(node(k, k - 2, 3 << (k - 2)), 7);
    assert_eq!(bit_index(k, MIN_ORDER, 0), 1 << (k - MIN_ORDER - 1));
    let last = bit_index(k, MIN_ORDER, (1 << k) - MIN_BLOCK);
    assert_eq!(last, (1 << (k - MIN_ORDER)) - 1);
    assert!(last / 8 < 1 << meta_order(k));
}

#[test]
fn blocks_split_and_merge_back() {
    let buf = Buf::new(1 << 16);
    let mut heap = BuddyHeap::counting(buf.source());
    let first = heap.allocate(l(1, 1)).unwrap();
    heap.check().unwrap();
    assert_eq!(heap.arena_count(), 1);
    let arena = heap.arenas()[0];
    assert_eq!(arena.order, 16);
    // The smallest block sits right after the bitmap.
    assert_eq!(
        first.as_ptr().addr() - arena.base.addr(),
        1 << meta_order(16)
    );
    let full = arena.size() - (1 << meta_order(16));
    assert_eq!(heap.free_bytes(), full - MIN_BLOCK);
    // Buddies come next to each other.
    let second = heap.allocate(l(MIN_BLOCK, 1)).unwrap();
    assert_eq!(second.as_ptr().addr(), first.as_ptr().addr() + MIN_BLOCK);
    let blocks: Vec<_> = (0..40)
        .map(|i| (heap.allocate(l(10 + i * 37, 8)).unwrap(), l(10 + i * 37, 8)))
        .collect();
    heap.check().unwrap();
    for (i, &(p, layout)) in blocks.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        assert!(heap.owns(p), "block {i}");
        free(&mut heap, p, layout);
    }
    for &(p, layout) in blocks.iter().skip(1).step_by(2) {
        free(&mut heap, p, layout);
    }
    free(&mut heap, first, l(1, 1));
    free(&mut heap, second, l(MIN_BLOCK, 1));
    // Everything merged back into the spine.
    assert_eq!(heap.free_bytes(), full);
    assert_eq!(heap.stats().bytes_live, 0);
    assert!(!heap.owns(first));
    // The largest block of the arena fits again.
    let half = heap.allocate(l(1 << 15, 8)).unwrap();
    assert_eq!(half.as_ptr().addr(), arena.base.addr() + (1 << 15));
    free(&mut heap, half, l(1 << 15, 8));
}

#[test]
fn alignment_up_to_the_block_costs_nothing() {
    let buf = Buf::new(1 << 20);
    let mut heap = BuddyHeap::counting(buf.source());
    let mut live = Vec::new();
    for align in [32, 256, 4096, 32768] {
        for size in [1, 24, 100, 5000] {
            let layout = l(size, align);
            let p = heap.allocate(layout).unwrap();
            assert_eq!(p.as_ptr().addr() % align, 0);
            heap.check().unwrap();
            live.push((p, layout));
        }
    }
    // A 4 KiB block aligned to 4 KiB takes 4 KiB: no padding.
    let before = heap.free_bytes();
    let p = heap.allocate(l(4096, 4096)).unwrap();
    assert_eq!(heap.free_bytes(), before - 4096);
    free(&mut heap, p, l(4096, 4096));
    for (p, layout) in live {
        free(&mut heap, p, layout);
    }
    assert_eq!(heap.stats().bytes_live, 0);
}

#[test]
#[cfg_attr(
    target_pointer_width = "32",
    ignore = "the addresses it checks follow 64-bit's layout (a 512-byte bitmap, 16-byte smallest blocks)"
)]
fn resizes_within_the_order_and_by_absorbing_the_buddy_stay_in_place() {
    let buf = Buf::new(1 << 16);
    let mut heap = BuddyHeap::counting(buf.source());
    // The spine block right after the bitmap (512 bytes) goes to a filler;
    // `p` is carved from the next one, the upper half of 2 KiB.
    let filler = heap.allocate(l(512, 8)).unwrap();
    let old = l(100, 8);
    let p = heap.allocate(old).unwrap();
    assert_eq!(p.as_ptr().addr() % 2048, 1024);
    // 100 bytes take a 128-byte block: up to 128 fits without a change.
    // SAFETY: `p` is live with `old`, and each resize below keeps it live
    // with the new layout when it succeeds.
    unsafe {
        assert!(heap.grow_in_place(p, old, l(128, 8)));
        assert!(heap.shrink_in_place(p, l(128, 8), l(65, 8)));
    }
    heap.check().unwrap();
    // Its buddies are free: grow by absorbing them, up the orders.
    let free_before = heap.free_bytes();
    // SAFETY: as above.
    assert!(unsafe { heap.grow_in_place(p, l(65, 8), l(1000, 8)) });
    heap.check().unwrap();
    assert_eq!(heap.free_bytes(), free_before - (1024 - 128));
    // An upper half grows no further: its buddy is below it.
    let q = heap.allocate(l(1024, 8)).unwrap();
    assert_eq!(q.as_ptr().addr(), p.as_ptr().addr() + 1024);
    // SAFETY: as above.
    assert!(!unsafe { heap.grow_in_place(p, l(1000, 8), l(2000, 8)) });
    heap.check().unwrap();
    // A shrink frees the upper halves, which merge with nothing.
    // SAFETY: as above.
    assert!(unsafe { heap.shrink_in_place(p, l(1000, 8), l(10, 8)) });
    heap.check().unwrap();
    assert_eq!(
        heap.free_bytes(),
        free_before - (1024 - 128) - 1024 + (1024 - MIN_BLOCK)
    );
    // `q`, a lower half, absorbs its free buddy.
    // SAFETY: `q` is live with this layout.
    assert!(unsafe { heap.grow_in_place(q, l(1024, 8), l(2048, 8)) });
    heap.check().unwrap();
    assert_eq!(heap.stats().reallocations, 5);
    free(&mut heap, p, l(10, 8));
    free(&mut heap, q, l(2048, 8));
    free(&mut heap, filler, l(512, 8));
    // A larger alignment with the same size is a larger order.
    let r = heap.allocate(l(16, 16)).unwrap();
    // SAFETY: `r` is live with this layout.
    let moved = unsafe { heap.grow(r, l(16, 16), l(16, 4096)) }.unwrap();
    assert_eq!(moved.as_ptr().addr() % 4096, 0);
    heap.check().unwrap();
    free(&mut heap, moved, l(16, 4096));
}

#[test]
fn several_arenas_from_one_region() {
    let buf = Buf::new(1 << 21);
    let mut heap = BuddyHeap::counting(buf.source());
    let mut live = Vec::new();
    for i in 0..60 {
        let layout = l(3000 + i * 100, 8);
        live.push((heap.allocate(layout).unwrap(), layout));
        heap.check().unwrap();
    }
    assert!(heap.arena_count() > 1, "{heap:?}");
    // A block larger than the first arena gets an arena of its own.
    let big = l(200_000, 8);
    let b = heap.allocate(big);
    assert!(b.is_some(), "{heap:?}");
    let b = b.unwrap();
    heap.check().unwrap();
    // The region runs out cleanly.
    assert!(heap.allocate(l(1 << 21, 8)).is_none());
    heap.check().unwrap();
    free(&mut heap, b, big);
    for (p, layout) in live.into_iter().rev() {
        free(&mut heap, p, layout);
    }
    let held: usize = heap.arenas().iter().map(|a| a.size()).sum();
    let bitmaps: usize = heap
        .arenas()
        .iter()
        .map(|a| 1usize << meta_order(a.order))
        .sum();
    assert_eq!(heap.free_bytes(), held - bitmaps);
    // Regions never take arenas back.
    assert_eq!(heap.trim(), 0);
}

#[test]
fn huge_and_impossible_requests_fail_cleanly() {
    let buf = Buf::new(1 << 16);
    let mut heap = BuddyHeap::counting(buf.source());
    let p = heap.allocate(l(64, 8)).unwrap();
    for layout in [
        l(isize::MAX as usize - 7, 8),
        l(1, 1 << (usize::BITS - 2)),
        l(1 << 16, 8),
    ] {
        assert!(heap.allocate(layout).is_none());
        // SAFETY: `p` is live with its layout.
        assert!(!unsafe { heap.grow_in_place(p, l(64, 8), layout) });
        heap.check().unwrap();
    }
    assert_eq!(heap.stats().allocations, 1);
    free(&mut heap, p, l(64, 8));
    // Zero-size requests are dangling, and freeing one does nothing.
    let z = heap.allocate(l(0, 64)).unwrap();
    assert_eq!(z.as_ptr().addr(), 64);
    free(&mut heap, z, l(0, 64));
}

#[test]
fn reset_frees_every_arena_and_owns_nothing() {
    let buf = Buf::new(1 << 18);
    let mut heap = BuddyHeap::counting(buf.source());
    let p = heap.allocate(l(300, 8)).unwrap();
    let _q = heap.allocate(l(40_000, 8)).unwrap();
    assert!(heap.owns(p));
    heap.reset();
    heap.check().unwrap();
    assert!(!heap.owns(p));
    assert_eq!(heap.stats().bytes_live, 0);
    assert_eq!(heap.stats().blocks_live(), 0);
    let again = heap.allocate(l(300, 8)).unwrap();
    assert_eq!(again, p, "the same memory serves the same requests");
    heap.check().unwrap();
}

// Miri cannot unmap part of a mapping (how `mmap` meets alignments above a
// page); under Miri the heap asks for page-aligned spans of several arenas,
// which are never released before the heap is dropped.
#[cfg(not(miri))]
#[test]
fn empty_arenas_are_kept_up_to_the_recent_peak_then_go_back() {
    let mut heap = BuddyHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let big = l(3 << 20, 8);
    let a = heap.allocate(big).unwrap();
    let b = heap.allocate(big).unwrap();
    assert_eq!(heap.arena_count(), 2);
    let reserved = heap.stats().bytes_reserved;
    // Freeing everything keeps both arenas (8 MiB each, above the 4 MiB
    // floor): the heap's recent peak in use needs them...
    free(&mut heap, a, big);
    free(&mut heap, b, big);
    assert_eq!(heap.arena_count(), 2);
    // ... so allocating the same again takes nothing new from the source.
    let a = heap.allocate(big).unwrap();
    let b = heap.allocate(big).unwrap();
    assert_eq!(
        heap.stats().bytes_reserved,
        reserved,
        "the kept arenas are reused"
    );
    free(&mut heap, a, big);
    free(&mut heap, b, big);
    // The program now lives small, in one of the arenas: after two epochs
    // of emptyings the old peak is forgotten and the other arena goes back.
    let small = l(1000, 8);
    for _ in 0..2 * Retention::EPOCH + 1 {
        let p = heap.allocate(small).unwrap();
        free(&mut heap, p, small);
    }
    assert_eq!(heap.arena_count(), 1, "{heap:?}");
    assert_eq!(heap.stats().bytes_reserved, reserved / 2);
    // `trim` gives back the rest.
    let left = heap.stats().bytes_reserved;
    assert_eq!(heap.trim(), left);
    assert_eq!(heap.arena_count(), 0);
    assert_eq!(heap.stats().bytes_reserved, 0);
    heap.check().unwrap();
}

#[test]
fn the_default_source_serves_and_drops() {
    let mut heap = BuddyHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let layouts = [l(8, 8), l(5000, 64), l(70_000, 4096)];
    let blocks: Vec<_> = layouts.iter().map(|&x| heap.allocate(x).unwrap()).collect();
    heap.check().unwrap();
    for (&p, &x) in blocks.iter().zip(&layouts) {
        assert_eq!(p.as_ptr().addr() % x.align(), 0);
        // SAFETY: the block is valid for its layout's size.
        unsafe { p.as_ptr().write_bytes(0xA5, x.size()) };
        free(&mut heap, p, x);
    }
}

#[test]
fn a_new_heap_is_all_zero_bytes() {
    let heap = BuddyHeap::<MmapSource>::new();
    // SAFETY: the heap is plain data; reading its bytes is sound.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            (&raw const heap).cast::<u8>(),
            core::mem::size_of_val(&heap),
        )
    };
    assert!(bytes.iter().all(|&b| b == 0));
}

/// Invariant 7: a reset clears only the pair bits of the orders split to
/// since the last one. Blocks split down to a low order by an allocation or
/// by shrinking in place, then forgotten by a reset while their bits are
/// set, must leave no stale bit for the next cycle (the heap check counts
/// the bits against the free blocks).
#[test]
fn a_reset_clears_the_bits_of_every_order_split_to_since_the_last() {
    // Room for the doubled asks the heap makes under Miri (`acquire`).
    let buf = Buf::new(1 << 22);
    let mut h = BuddyHeap::with_source(buf.source());
    for cycle in 0..4 {
        // Large blocks only: the floor stays high.
        let big: Vec<_> = (0..6)
            .map(|_| h.allocate(l(16 << 10, 8)).unwrap())
            .collect();
        free(&mut h, big[1], l(16 << 10, 8));
        h.reset();
        h.check().unwrap();
        // A large block shrunk in place to the smallest order, and small
        // blocks with a free among them: bits set at low orders.
        let p = h.allocate(l(8 << 10, 8)).unwrap();
        // SAFETY: `p` is live with the old layout.
        assert!(unsafe { h.shrink_in_place(p, l(8 << 10, 8), l(16, 8)) });
        h.check().unwrap();
        let small: Vec<_> = (0..7)
            .map(|_| h.allocate(l(24 + cycle, 8)).unwrap())
            .collect();
        free(&mut h, small[3], l(24 + cycle, 8));
        h.reset();
        h.check().unwrap();
        // The next cycle starts from a clean heap: a large block serves
        // from the arenas the reset laid out afresh.
        let large = h.allocate(l(1 << 17, 8)).unwrap();
        free(&mut h, large, l(1 << 17, 8));
    }
    assert_eq!(h.floor, usize::MAX, "no split since the last reset");
    let _ = h.allocate(l(MIN_BLOCK, 8)).unwrap();
    assert_eq!(h.floor, MIN_ORDER as usize);
}

#[test]
#[cfg_attr(miri, ignore = "the walk skips the lookup cache under Miri")]
fn the_walk_finds_a_tag_of_no_arena_in_the_lookup_cache() {
    let mut heap = BuddyHeap::<MmapSource, Counting>::counting(MmapSource::new());
    let p = heap.allocate(l(64, 8)).unwrap();
    heap.check().unwrap();
    // The walk passes over runs of 64 empty entries with one test each:
    // a tag in such a run must still be looked at.
    let slot = (0..LOOKUP)
        .rev()
        .find(|&i| heap.lookup[i].is_null())
        .unwrap();
    heap.lookup[slot] = ptr::without_provenance_mut(0x1234_5000);
    let err = heap.check().unwrap_err();
    assert_eq!(
        err.invariant,
        "1: every tag in the lookup cache is an arena's of the table"
    );
    assert_eq!(err.at, 0x1234_5000);
    heap.lookup[slot] = ptr::null_mut();
    heap.check().unwrap();
    // SAFETY: `p` is live with this layout.
    unsafe { heap.deallocate(p, l(64, 8)) };
    heap.check().unwrap();
}

/// A heap over 64 KiB with one 32-byte block at the start of its arena: the
/// spine's free blocks are its buddy (order 5) and one block of each order
/// from 6 up, each the only block on its list.
fn one_block_heap(buf: &Buf) -> (BuddyHeap<RegionSource, Counting>, NonNull<u8>, Arena) {
    let mut heap = BuddyHeap::counting(buf.source());
    let first = heap.allocate(l(32, 8)).unwrap();
    let arena = heap.arenas()[0];
    assert_eq!(
        first.as_ptr().addr(),
        arena.base.addr() + (1 << meta_order(16))
    );
    heap.check().unwrap();
    (heap, first, arena)
}

#[test]
fn the_walk_catches_a_free_block_inside_a_free_ancestor() {
    let buf = Buf::new(1 << 16);
    let (mut heap, first, arena) = one_block_heap(&buf);
    // The 128-byte block at `first` holds `first` (allocated) and the free
    // blocks of orders 5 and 6 after it: listing it as free makes it
    // overlap them. Its pair bit is set already (its buddy is free).
    // SAFETY: a deliberate corruption: `first` is live, so the list now
    // lies; the heap is only checked and dropped afterwards.
    unsafe { heap.push(first.as_ptr(), 7, arena.tag()) };
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "3: no two free blocks overlap");
    // Found from the lowest free block inside it, the order-5 buddy.
    assert_eq!(err.at, first.as_ptr().addr() + 32);
}

#[test]
fn the_walk_catches_a_block_free_beside_its_free_buddy() {
    let buf = Buf::new(1 << 16);
    let (mut heap, first, arena) = one_block_heap(&buf);
    // `first` listed at its own order, ahead of its free buddy: found
    // through the buddy's `prev` link, not the list's head.
    // SAFETY: a deliberate corruption, as above.
    unsafe { heap.push(first.as_ptr(), 5, arena.tag()) };
    let err = heap.check().unwrap_err();
    assert_eq!(
        err.invariant,
        "4: no free block's buddy is free at the same order"
    );
    assert_eq!(err.at, first.as_ptr().addr());
}

#[test]
fn the_walk_catches_one_block_on_two_lists() {
    let buf = Buf::new(1 << 16);
    let (mut heap, first, arena) = one_block_heap(&buf);
    // The free 64-byte block after `first`, made the order-5 list's only
    // block too, with the pair bit that listing needs: every list and bit
    // reads as consistent, but the block is free twice over.
    let twice = first.as_ptr().wrapping_add(64);
    assert_eq!(heap.heads[6], twice);
    heap.heads[5] = twice;
    let off = twice.addr() - arena.base.addr();
    // SAFETY: order 5 is below the arena's and `off` inside it.
    assert!(unsafe { arena.toggle(bit_index(arena.order, 5, off)) });
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "3: no two free blocks overlap");
    assert_eq!(err.at, twice.addr());
}
