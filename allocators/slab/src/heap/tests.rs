//! Unit tests of the slab core: the class table, slot layout and colouring,
//! list moves, the pool, the large-object path, runs over a region, and the
//! heap walk catching broken invariants.

extern crate std;

use core::alloc::Layout;
use std::vec;
use std::vec::Vec;

use polyalloc_core::source::{MmapSource, RegionSource};
use polyalloc_core::{Counting, Heap};

use super::*;
use crate::class::{
    HEADER_PLACES, HEADER_ROOM, MAX_ALIGN, MAX_SMALL, QUICK_MAX, class_of_size, class_size,
    quick_class,
};

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A region the heap can use, kept alive by the caller.
fn region(buf: &mut Vec<u128>) -> RegionSource {
    // SAFETY: `buf` outlives the heap built on the source in every test,
    // and is only used through it.
    unsafe { RegionSource::new(buf.as_mut_ptr().cast(), buf.len() * 16) }
}

/// A buffer of `kib` KiB for [`region`].
fn buffer(kib: usize) -> Vec<u128> {
    vec![0u128; kib * 1024 / 16]
}

#[test]
fn classes_cover_every_size_with_at_most_a_quarter_wasted() {
    let mut last = 0;
    for size in 1..=MAX_SMALL {
        let c = class_of_size(size).unwrap();
        let cs = class_size(c);
        assert!(cs >= size, "size {size} in class {c} of {cs}");
        assert!(c >= last, "class of {size} went down");
        // The class below is too small: the class is the tightest.
        if c > 0 {
            assert!(class_size(c - 1) < size, "size {size} fits class {}", c - 1);
        }
        // Waste at most a quarter of the class (or under 16 bytes).
        assert!(
            (cs - size) * 4 <= cs || cs - size < 16,
            "size {size}: class {cs}"
        );
        last = c;
    }
    assert_eq!(class_of_size(MAX_SMALL + 1), None);
    assert_eq!(class_size(CLASSES - 1), MAX_SMALL);
    for c in 1..CLASSES {
        assert!(class_size(c) > class_size(c - 1));
    }
}

#[test]
fn every_slab_layout_fits_its_slots_and_colours() {
    for (c, info) in INFO.iter().enumerate() {
        let (stride, cap) = (info.stride as usize, info.cap as usize);
        assert!(stride >= class_size(c) && cap >= 2);
        let last_colour = (info.colours as usize - 1) * LINE;
        // Wherever the header lies, the last colour's slots fit.
        assert!(
            HEADER_ROOM + last_colour + cap * stride <= SLAB,
            "class {c}"
        );
        assert!(info.align as usize <= MAX_ALIGN && stride % info.align as usize == 0);
    }
}

#[test]
fn a_header_lies_by_its_slab_number() {
    // Slab numbers that fit a 32-bit address space too.
    for slab in [0usize, 1, 2, 7, 8, 9, 1 << 14, (1 << 14) + 5, (1 << 16) - 1] {
        let base = slab * SLAB;
        let want = slab % HEADER_PLACES * LINE;
        for addr in [base, base + 1, base + 4095, base + (SLAB - 1)] {
            assert_eq!(header_offset(addr), want, "slab {slab}, byte {addr:#x}");
        }
    }
}

#[test]
fn the_quick_class_is_the_class_of_every_size_it_answers() {
    for align in [1, 2, 4, 8, 16] {
        for size in 0..=QUICK_MAX {
            let want = class_of(size.max(1), align).unwrap();
            let got = quick_class(l(size, align)).map(Class::index);
            assert_eq!(got, Some(want), "{size} bytes at {align}");
        }
        assert_eq!(quick_class(l(QUICK_MAX + 1, align)), None);
    }
    for align in [32, 64, 128] {
        assert_eq!(quick_class(l(16, align)), None);
    }
    // A slot of the quick class is freed with the layout it was asked with.
    let mut buf = buffer(1024);
    let mut heap = SlabHeap::<_, Counting>::with_recorder(region(&mut buf));
    let layout = l(200, 8);
    let p = heap
        .allocate_class(quick_class(layout).unwrap(), 200)
        .unwrap();
    assert_eq!(heap.stats().bytes_live, 200);
    heap.check().unwrap();
    // SAFETY: allocated just above, of a 200-byte class.
    unsafe { heap.deallocate(p, layout) };
    assert_eq!(heap.stats().bytes_live, 0);
    heap.check().unwrap();
}

#[test]
fn alignment_picks_an_aligned_class_or_the_large_path() {
    assert_eq!(class_of(48, 16), class_of_size(48));
    let c = class_of(48, 32).unwrap();
    assert_eq!(class_size(c), 64);
    assert_eq!(class_of(1, 64).map(class_size), Some(64));
    assert_eq!(class_of(160, 64).map(class_size), Some(192));
    assert_eq!(class_of(8, 128), None);
    assert_eq!(class_of(MAX_SMALL + 1, 8), None);
    let mut buf = buffer(1024);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    for align in [1, 2, 8, 16, 32, 64, 128, 4096] {
        for size in [1, 24, 48, 100, 1000, 4096, 20_000] {
            let p = heap.allocate(l(size, align)).unwrap();
            assert_eq!(p.as_ptr().addr() % align, 0, "{size} at {align}");
            heap.check().unwrap();
            // SAFETY: `p` is live with this layout.
            unsafe { heap.deallocate(p, l(size, align)) };
            heap.check().unwrap();
        }
    }
}

#[test]
fn slots_have_no_header_and_are_carved_in_order() {
    let mut buf = buffer(512);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    let a = heap.allocate(l(100, 8)).unwrap();
    let b = heap.allocate(l(100, 8)).unwrap();
    let c = class_of_size(100).unwrap();
    assert_eq!(b.as_ptr().addr() - a.as_ptr().addr(), class_size(c));
    // The slab header is at its place in the slab, one line before the
    // first slot of the first slab (colour 0).
    let base = a.as_ptr().addr() & !(SLAB - 1);
    assert_eq!(a.as_ptr().addr() - base, header_offset(base) + HEADER);
    assert_eq!(slab_of(a.as_ptr()).addr(), base + header_offset(base));
    // A freed slot comes back first.
    // SAFETY: `a` is live with this layout.
    unsafe { heap.deallocate(a, l(100, 8)) };
    assert_eq!(heap.allocate(l(97, 4)).unwrap(), a);
    heap.check().unwrap();
}

/// A counting heap over `buf` with `n` blocks of 1,000 bytes allocated,
/// their class and its slots per slab.
fn thousands(
    buf: &mut Vec<u128>,
    n: impl Fn(usize) -> usize,
) -> (
    SlabHeap<RegionSource, Counting>,
    usize,
    usize,
    Vec<NonNull<u8>>,
) {
    let mut heap = SlabHeap::counting(region(buf));
    let c = class_of_size(1000).unwrap();
    let cap = INFO[c].cap as usize;
    let blocks = (0..n(cap))
        .map(|_| heap.allocate(l(1000, 8)).unwrap())
        .collect();
    (heap, c, cap, blocks)
}

#[test]
fn partial_slabs_are_filled_before_new_ones_and_full_slabs_move() {
    let mut buf = buffer(1024);
    // Two slabs' worth and one more.
    let (mut heap, _, _, blocks) = thousands(&mut buf, |cap| 2 * cap + 1);
    heap.check().unwrap();
    assert_eq!(heap.counts().0, 3);
    // A slot freed in the first (full) slab: that slab is available again,
    // and once the third (hot) slab's allocation list is used up the slot
    // is filled, before the third slab carves another page.
    // SAFETY: `blocks[3]` is live with this layout.
    unsafe { heap.deallocate(blocks[3], l(1000, 8)) };
    heap.check().unwrap();
    let third = slab_of(blocks[blocks.len() - 1].as_ptr());
    let before = hot_until(&mut heap, blocks[3], third);
    heap.check().unwrap();
    for &b in blocks.iter().chain(&before) {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(1000, 8)) };
        heap.check().unwrap();
    }
    // One slab stays with its class; the other two went to the pool.
    assert_eq!(heap.counts().0, 1);
    assert_eq!(heap.pooled_bytes(), 2 * SLAB);
    assert_eq!(heap.stats().bytes_live, 0);
}

#[test]
fn a_slab_that_fills_moves_to_the_full_list_at_the_next_allocation() {
    let mut buf = buffer(1024);
    let (mut heap, c, _, blocks) = thousands(&mut buf, |cap| cap);
    let on_full = |heap: &SlabHeap<_, _>, s: *mut Slab| {
        let mut f = heap.full;
        while !f.is_null() {
            if f == s {
                return true;
            }
            // SAFETY: slabs on the full list are live.
            f = unsafe { (*f).next };
        }
        false
    };
    let first = slab_of(blocks[0].as_ptr());
    // The allocation that filled the slab left it at the head of its class.
    assert_eq!(heap.avail[c], first);
    assert!(heap.full.is_null());
    heap.check().unwrap();
    // A free and an allocation in the filled slab move it nowhere: this is
    // the steady state of a churn, which no longer passes the slab through
    // the full list on every turn.
    for _ in 0..3 {
        // SAFETY: `blocks[5]` is live with this layout (taken back below).
        unsafe { heap.deallocate(blocks[5], l(1000, 8)) };
        assert_eq!(heap.avail[c], first);
        assert!(heap.full.is_null());
        assert_eq!(heap.allocate(l(1000, 8)).unwrap(), blocks[5]);
        heap.check().unwrap();
    }
    // The next allocation finds it full: it moves to the full list, marked,
    // and a new slab serves.
    let next = heap.allocate(l(1000, 8)).unwrap();
    assert_ne!(slab_of(next.as_ptr()), first);
    assert!(on_full(&heap, first));
    heap.check().unwrap();
    // A free into it brings it back to the head of its class, and its slot
    // is the first handed out once the new hot slab's allocation list is
    // used up.
    // SAFETY: `blocks[7]` is live with this layout.
    unsafe { heap.deallocate(blocks[7], l(1000, 8)) };
    assert_eq!(heap.avail[c], first);
    assert!(!on_full(&heap, first));
    heap.check().unwrap();
    hot_until(&mut heap, blocks[7], slab_of(next.as_ptr()));
    heap.check().unwrap();
}

/// Allocates 1,000-byte blocks until `want` comes back, checking that
/// every block before it comes from `hot` (the hot slab's allocation list,
/// one page of slots at most); returns those blocks.
fn hot_until(
    heap: &mut SlabHeap<RegionSource, Counting>,
    want: NonNull<u8>,
    hot: *mut Slab,
) -> Vec<NonNull<u8>> {
    let mut before = Vec::new();
    loop {
        let p = heap.allocate(l(1000, 8)).unwrap();
        if p == want {
            return before;
        }
        assert_eq!(slab_of(p.as_ptr()), hot);
        before.push(p);
        assert!(before.len() * 1000 < super::CARVE_PAGE);
    }
}

#[test]
fn the_walk_catches_a_full_list_slab_not_marked() {
    let mut buf = buffer(1024);
    let (heap, _, _, blocks) = thousands(&mut buf, |cap| cap + 1);
    let first = slab_of(blocks[0].as_ptr());
    heap.check().unwrap();
    // SAFETY: `first` is a live slab on the full list; only its mark is
    // cleared, as a lost update would.
    unsafe { (*first).on_full = false };
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "3: the full list's slabs are marked on it");
    // SAFETY: as above: the mark is put back.
    unsafe { (*first).on_full = true };
    heap.check().unwrap();
}

#[test]
fn empty_slabs_serve_other_classes() {
    let mut buf = buffer(512);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    let c = class_of_size(64).unwrap();
    let cap = INFO[c].cap as usize;
    let blocks: Vec<_> = (0..2 * cap)
        .map(|_| heap.allocate(l(64, 8)).unwrap())
        .collect();
    let reserved = heap.stats().bytes_reserved;
    for &b in &blocks {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(64, 8)) };
    }
    assert_eq!(heap.pooled_bytes(), SLAB);
    // Another class takes the pooled slab: nothing more is reserved.
    let p = heap.allocate(l(3000, 8)).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    assert_eq!(heap.pooled_bytes(), 0);
    heap.check().unwrap();
    // SAFETY: `p` is live with this layout.
    unsafe { heap.deallocate(p, l(3000, 8)) };
}

#[test]
fn slabs_of_a_class_are_coloured() {
    let mut buf = buffer(4096);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    let c = class_of_size(4096).unwrap();
    let (cap, colours) = (INFO[c].cap as usize, INFO[c].colours as usize);
    assert!(colours > 8, "4 KiB slabs have room for colours");
    // The first block of each of eight slabs: each a line further in.
    let blocks: Vec<_> = (0..8 * cap)
        .map(|_| heap.allocate(l(4096, 8)).unwrap())
        .collect();
    let firsts: Vec<usize> = blocks
        .iter()
        .step_by(cap)
        .map(|b| b.as_ptr().addr() - slab_of(b.as_ptr()).addr())
        .collect();
    let expected: Vec<usize> = (0..8).map(|i| HEADER + i * LINE).collect();
    assert_eq!(firsts, expected);
    // And the headers of those eight slabs, one after another in memory,
    // lie at eight different lines: eight cache sets, not one.
    let mut places: Vec<usize> = blocks
        .iter()
        .step_by(cap)
        .map(|b| slab_of(b.as_ptr()).addr() % SLAB)
        .collect();
    places.sort_unstable();
    assert_eq!(places, (0..8).map(|i| i * LINE).collect::<Vec<_>>());
    // Within a slab, 4 KiB slots are a line more than 4 KiB apart.
    let gap = blocks[1].as_ptr().addr() - blocks[0].as_ptr().addr();
    assert_eq!(gap, 4096 + LINE);
    heap.check().unwrap();
    // SAFETY: the region outlives `heap`, which forgets the blocks.
    heap.reset();
    heap.check().unwrap();
}

#[test]
fn resizes_within_a_class_stay_and_others_move() {
    let mut buf = buffer(1024);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let p = heap.allocate(l(100, 8)).unwrap();
    // SAFETY: `p` is live with each old layout in turn.
    unsafe {
        assert!(heap.grow_in_place(p, l(100, 8), l(112, 8)));
        assert!(heap.shrink_in_place(p, l(112, 8), l(97, 8)));
        assert!(!heap.grow_in_place(p, l(97, 8), l(113, 8)));
        let q = heap.grow(p, l(97, 8), l(500, 8)).unwrap();
        assert_ne!(p, q);
        heap.check().unwrap();
        heap.deallocate(q, l(500, 8));
    }
    assert_eq!(heap.stats().reallocations, 2);
    assert_eq!(heap.stats().bytes_live, 0);
    heap.check().unwrap();
}

#[test]
fn large_blocks_take_spans_and_resize_within_them() {
    let mut buf = buffer(4096);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let big = l(100_000, 8);
    let p = heap.allocate(big).unwrap();
    assert_eq!(heap.counts().1, 1);
    assert!(heap.owns(p));
    // SAFETY: the block is `big.size()` bytes long.
    assert!(heap.owns(unsafe { p.add(big.size() - 1) }));
    heap.check().unwrap();
    // The span is whole slabs (with this source): room to grow to its end.
    // SAFETY: `p` is live with each old layout in turn.
    unsafe {
        assert!(heap.grow_in_place(p, big, l(2 * SLAB - HEADER, 8)));
        assert!(!heap.grow_in_place(p, l(2 * SLAB - HEADER, 8), l(2 * SLAB, 8)));
        assert!(heap.shrink_in_place(p, l(2 * SLAB - HEADER, 8), l(MAX_SMALL + 1, 16)));
        // To a small size: it moves into a slab.
        let q = heap.shrink(p, l(MAX_SMALL + 1, 16), l(100, 8)).unwrap();
        assert_ne!(p, q);
        assert_eq!(heap.counts().1, 0);
        heap.check().unwrap();
        heap.deallocate(q, l(100, 8));
    }
    heap.check().unwrap();
}

#[test]
fn runs_merge_and_serve_large_blocks_and_slabs() {
    let mut buf = buffer(2048);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    // Three large blocks of two slabs each, side by side.
    let ls: Vec<_> = (0..3)
        .map(|_| heap.allocate(l(SLAB + 100, 8)).unwrap())
        .collect();
    let reserved = heap.stats().bytes_reserved;
    for &p in &ls {
        // SAFETY: `p` is live with this layout.
        unsafe { heap.deallocate(p, l(SLAB + 100, 8)) };
        heap.check().unwrap();
    }
    // They merged: a block of five slabs fits without the source.
    let p = heap.allocate(l(5 * SLAB, 8)).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    heap.check().unwrap();
    // SAFETY: `p` is live with this layout.
    unsafe { heap.deallocate(p, l(5 * SLAB, 8)) };
    // Slabs are cut from the runs too.
    let q = heap.allocate(l(8, 8)).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    heap.check().unwrap();
    // Pooled slabs merge into runs when a large block needs them.
    // SAFETY: `q` is live with this layout.
    unsafe { heap.deallocate(q, l(8, 8)) };
    let r = heap.allocate(l(6 * SLAB - HEADER, 8)).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    heap.check().unwrap();
    // SAFETY: `r` is live with this layout.
    unsafe { heap.deallocate(r, l(6 * SLAB - HEADER, 8)) };
    heap.check().unwrap();
}

#[test]
fn running_out_changes_nothing() {
    let mut buf = buffer(256);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let mut blocks = Vec::new();
    while let Some(p) = heap.allocate(l(1024, 8)) {
        blocks.push(p);
    }
    heap.check().unwrap();
    assert!(!blocks.is_empty());
    let before = heap.stats();
    assert!(heap.allocate(l(1 << 20, 8)).is_none());
    assert!(heap.allocate(l(usize::MAX / 4, 8)).is_none());
    assert!(heap.allocate(l(8, 1 << (usize::BITS - 2))).is_none());
    assert_eq!(heap.stats(), before);
    heap.check().unwrap();
    for p in blocks {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(p, l(1024, 8)) };
    }
    heap.check().unwrap();
}

#[test]
fn reset_empties_every_slab_and_frees_large_blocks() {
    let mut buf = buffer(2048);
    let mut heap = SlabHeap::counting(region(&mut buf));
    for size in [8, 100, 1000, 5000, 40_000, 100_000] {
        let p = heap.allocate(l(size, 8)).unwrap();
        assert!(heap.owns(p));
    }
    heap.check().unwrap();
    let reserved = heap.stats().bytes_reserved;
    heap.reset();
    heap.check().unwrap();
    assert_eq!(heap.counts(), (0, 0));
    assert_eq!(heap.stats().bytes_live, 0);
    assert_eq!(heap.stats().bytes_reserved, reserved);
    // Everything is reused.
    for size in [8, 100, 1000, 5000, 40_000, 100_000] {
        heap.allocate(l(size, 8)).unwrap();
    }
    assert_eq!(heap.stats().bytes_reserved, reserved);
    heap.check().unwrap();
}

#[test]
fn mmap_slabs_are_pooled_up_to_the_recent_peak_and_trimmed() {
    let mut heap = SlabHeap::with_source(MmapSource::new());
    let c = class_of_size(16_000).unwrap();
    let cap = INFO[c].cap as usize;
    let slabs = 2 * polyalloc_core::Retention::FLOOR / SLAB;
    let blocks: Vec<_> = (0..slabs * cap)
        .map(|_| heap.allocate(l(16_000, 8)).unwrap())
        .collect();
    heap.check().unwrap();
    for &b in &blocks {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(16_000, 8)) };
    }
    heap.check().unwrap();
    // Everything was in use a moment ago: the pool keeps it all, so a
    // round that allocates the same again takes nothing new...
    let reserved = heap.stats().bytes_reserved;
    assert!(heap.pooled_bytes() >= reserved - 2 * SLAB);
    let again: Vec<_> = (0..slabs * cap)
        .map(|_| heap.allocate(l(16_000, 8)).unwrap())
        .collect();
    assert_eq!(
        heap.stats().bytes_reserved,
        reserved,
        "the pooled slabs are reused"
    );
    for &b in &again {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(16_000, 8)) };
    }
    // ... and `trim` gives it all back.
    let released = heap.trim();
    assert!(released > 0);
    assert_eq!(heap.stats().bytes_reserved, 0);
    heap.check().unwrap();
    // Large blocks' spans are cached for the next large block, then
    // trimmed.
    let p = heap.allocate(l(1 << 20, 4096)).unwrap();
    assert_eq!(p.as_ptr().addr() % 4096, 0);
    // SAFETY: `p` is live with this layout.
    unsafe { heap.deallocate(p, l(1 << 20, 4096)) };
    let reserved = heap.stats().bytes_reserved;
    assert!(reserved > 1 << 20);
    let q = heap.allocate(l(900_000, 8)).unwrap();
    assert_eq!(heap.stats().bytes_reserved, reserved);
    heap.check().unwrap();
    // SAFETY: `q` is live with this layout.
    unsafe { heap.deallocate(q, l(900_000, 8)) };
    heap.trim();
    assert_eq!(heap.stats().bytes_reserved, 0);
    heap.check().unwrap();
}

#[test]
fn zero_size_frees_of_foreign_pointers_do_nothing() {
    let mut heap = SlabHeap::with_source(MmapSource::new());
    let p = heap.allocate(l(0, 64)).unwrap();
    assert_eq!(p.as_ptr().addr(), 64);
    // SAFETY: a zero-size free of any aligned pointer is a no-op.
    unsafe { heap.deallocate(NonNull::dangling(), l(0, 8)) };
    assert!(!heap.owns(NonNull::dangling()));
    heap.check().unwrap();
}

/// A heap with blocks in a few classes and a large one, for the tests that
/// break an invariant on purpose.
fn busy(buf: &mut Vec<u128>) -> (SlabHeap<RegionSource>, Vec<NonNull<u8>>) {
    let mut heap = SlabHeap::with_source(region(buf));
    let blocks: Vec<_> = [16, 16, 16, 100, 100, 3000, 50_000]
        .iter()
        .map(|&s| heap.allocate(l(s, 8)).unwrap())
        .collect();
    // A free slot in the 16-byte slab.
    // SAFETY: `blocks[1]` is live with this layout.
    unsafe { heap.deallocate(blocks[1], l(16, 8)) };
    heap.check().unwrap();
    (heap, blocks)
}

#[test]
fn the_walk_catches_a_wrong_used_count() {
    let mut buf = buffer(1024);
    let (heap, blocks) = busy(&mut buf);
    let s = slab_of(blocks[0].as_ptr());
    // SAFETY: `s` is the live slab of `blocks[0]`.
    unsafe { (*s).used += 1 };
    let err = heap.check().unwrap_err();
    assert!(err.invariant.starts_with("2:"), "{err}");
    // SAFETY: as above; the count is put back.
    unsafe { (*s).used -= 1 };
    heap.check().unwrap();
}

#[test]
fn the_walk_catches_a_slot_freed_twice() {
    let mut buf = buffer(1024);
    let (heap, blocks) = busy(&mut buf);
    let s = slab_of(blocks[0].as_ptr());
    // SAFETY: `s` is the live slab of `blocks[0]`; its free list holds
    // `blocks[1]`, which is made to point at itself.
    unsafe {
        blocks[1]
            .as_ptr()
            .cast::<*mut u8>()
            .write(blocks[1].as_ptr());
        (*s).used -= 1;
    }
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "2: a slot is on the free list at most once");
}

#[test]
fn the_walk_catches_a_slab_on_the_wrong_list() {
    let mut buf = buffer(1024);
    let (mut heap, blocks) = busy(&mut buf);
    let s = slab_of(blocks[3].as_ptr());
    let c = class_of_size(100).unwrap();
    // SAFETY: `s` is on class `c`'s list; it is moved to the full list.
    unsafe {
        SlabHeap::<RegionSource>::unlink(&mut heap.avail[c], s);
        SlabHeap::<RegionSource>::push(&mut heap.full, s);
    }
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "3: the full list holds full slabs");
}

#[test]
fn the_walk_catches_lost_bytes() {
    let mut buf = buffer(1024);
    let (mut heap, _blocks) = busy(&mut buf);
    heap.stranded += 1;
    let err = heap.check().unwrap_err();
    assert!(err.invariant.starts_with("7:"), "{err}");
}

#[test]
fn small_entry_points_serve_and_free_like_the_heap_trait() {
    let mut buf = buffer(512);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let layouts = [
        l(1, 1),
        l(16, 16),
        l(100, 8),
        l(1024, 64),
        l(MAX_SMALL, MAX_ALIGN),
    ];
    let mut blocks = Vec::new();
    for &layout in &layouts {
        let p = heap.allocate_small(layout).unwrap();
        assert_eq!(p.as_ptr().addr() % layout.align(), 0);
        // SAFETY: a fresh block of `layout.size()` bytes.
        unsafe { p.as_ptr().write_bytes(0xA5, layout.size()) };
        blocks.push((p, layout));
    }
    assert_eq!(heap.stats().blocks_live(), layouts.len() as u64);
    heap.check().unwrap();
    // A block from `allocate_small` goes back through either entry point,
    // and one from `allocate` through `deallocate_small`.
    let (p, layout) = blocks.pop().unwrap();
    // SAFETY: live, from this heap, with `layout`.
    unsafe { heap.deallocate(p, layout) };
    let q = heap.allocate(l(48, 8)).unwrap();
    // SAFETY: as above.
    unsafe { heap.deallocate_small(q, l(48, 8)) };
    for (p, layout) in blocks {
        // SAFETY: as above; every layout here is small.
        unsafe { heap.deallocate_small(p, layout) };
    }
    assert_eq!(heap.stats().blocks_live(), 0);
    heap.check().unwrap();
    // Outside the slabs' layouts it answers as `allocate`: a zero size is
    // dangling, a large or over-aligned block takes its own span.
    let zero = heap.allocate_small(l(0, 8)).unwrap();
    assert_eq!(zero.as_ptr().addr(), 8);
    let big = heap.allocate_small(l(MAX_SMALL + 1, 8)).unwrap();
    assert_eq!(heap.counts().1, 1);
    // SAFETY: live, with its layout.
    unsafe { heap.deallocate(big, l(MAX_SMALL + 1, 8)) };
    heap.check().unwrap();
}

#[test]
fn owner_tags_are_read_back_from_any_small_block() {
    let mut buf_a = buffer(512);
    let mut buf_b = buffer(512);
    let mut a = SlabHeap::with_source(region(&mut buf_a));
    let mut b = SlabHeap::with_source(region(&mut buf_b));
    let (tag_a, tag_b) = (&raw mut buf_a as *mut (), &raw mut buf_b as *mut ());
    a.set_owner(tag_a);
    b.set_owner(tag_b);
    for layout in [l(8, 8), l(200, 16), l(4096, 64), l(MAX_SMALL, 8)] {
        let pa = a.allocate_small(layout).unwrap();
        let pb = b.allocate_small(layout).unwrap();
        // SAFETY: live small blocks of slab heaps.
        unsafe {
            assert_eq!(SlabHeap::<RegionSource>::owner_of(pa), tag_a);
            assert_eq!(SlabHeap::<RegionSource>::owner_of(pb), tag_b);
            a.deallocate_small(pa, layout);
            b.deallocate_small(pb, layout);
        }
    }
}

#[test]
fn a_refill_links_the_fresh_slots_to_the_page_end() {
    let mut buf = buffer(256);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let c = class_of_size(48).unwrap();
    let stride = INFO[c].stride as usize;
    let a = heap.allocate(l(48, 8)).unwrap();
    let s = slab_of(a.as_ptr());
    assert_eq!(heap.hot[c].slab, s);
    // Every slot starting before the end of `a`'s page is on the
    // allocation list, in address order, and counted in `used`.
    let page_end = (a.as_ptr().addr() | (CARVE_PAGE - 1)) + 1;
    let want = (page_end - a.as_ptr().addr()).div_ceil(stride);
    let mut n = 1;
    let mut p = heap.hot[c].free;
    while !p.is_null() {
        assert_eq!(p.addr(), a.as_ptr().addr() + n * stride);
        n += 1;
        // SAFETY: a slot on the allocation list links the next.
        p = unsafe { p.cast::<*mut u8>().read() };
    }
    assert_eq!(n, want);
    // SAFETY: `s` is a live slab.
    unsafe {
        assert_eq!((*s).used as usize, want);
        assert_eq!((*s).fresh.addr(), a.as_ptr().addr() + want * stride);
    }
    heap.check().unwrap();
    // The list serves the next allocations, in order.
    for i in 1..want {
        let b = heap.allocate(l(48, 8)).unwrap();
        assert_eq!(b.as_ptr().addr(), a.as_ptr().addr() + i * stride);
    }
    assert!(heap.hot[c].free.is_null());
    heap.check().unwrap();
}

#[test]
fn frees_and_allocations_in_the_hot_slab_leave_its_header_alone() {
    let mut buf = buffer(256);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let c = class_of_size(100).unwrap();
    let blocks: Vec<_> = (0..5).map(|_| heap.allocate(l(100, 8)).unwrap()).collect();
    let s = slab_of(blocks[0].as_ptr());
    // SAFETY: `s` is a live slab.
    let header = || unsafe { ((*s).used, (*s).free, (*s).fresh, (*s).next, (*s).prev) };
    let before = header();
    for &b in blocks.iter().rev() {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(100, 8)) };
        assert_eq!(heap.hot[c].free, b.as_ptr());
        heap.check().unwrap();
    }
    for &b in &blocks {
        assert_eq!(heap.allocate(l(100, 8)).unwrap(), b);
    }
    assert_eq!(header(), before);
    assert_eq!(heap.stats().bytes_live, 500);
    heap.check().unwrap();
}

#[test]
fn a_hot_slab_whose_slots_are_all_free_serves_another_class_when_memory_runs_out() {
    // Room for two slabs and nothing more.
    let mut buf = buffer(3 * SLAB / 1024);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let a = heap.allocate(l(100, 8)).unwrap();
    // SAFETY: `a` is live with this layout.
    unsafe { heap.deallocate(a, l(100, 8)) };
    // The 100-byte slab stays hot, every slot free; 2,000-byte blocks take
    // the other slab, then that one.
    let c = class_of_size(2000).unwrap();
    let cap = INFO[c].cap as usize;
    let big: Vec<_> = (0..2 * cap)
        .map(|_| heap.allocate(l(2000, 8)).unwrap())
        .collect();
    assert_eq!(slab_of(big[2 * cap - 1].as_ptr()), slab_of(a.as_ptr()));
    assert!(heap.allocate(l(2000, 8)).is_none());
    heap.check().unwrap();
    for &b in &big {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(2000, 8)) };
    }
    heap.check().unwrap();
}

#[test]
fn trim_gives_back_a_hot_slab_whose_slots_are_all_free() {
    let mut heap = SlabHeap::counting(MmapSource::new());
    let blocks: Vec<_> = (0..10).map(|_| heap.allocate(l(48, 8)).unwrap()).collect();
    for &b in &blocks {
        // SAFETY: every block is live with this layout.
        unsafe { heap.deallocate(b, l(48, 8)) };
    }
    // The slab is hot, its slots on the allocation list and counted as
    // used: only a flush of the list shows it empty.
    assert!(heap.stats().bytes_reserved >= SLAB);
    assert!(heap.trim() >= SLAB);
    assert_eq!(heap.stats().bytes_reserved, 0);
    heap.check().unwrap();
    // The class serves again from a new slab.
    let p = heap.allocate(l(48, 8)).unwrap();
    // SAFETY: `p` is live with this layout.
    unsafe { heap.deallocate(p, l(48, 8)) };
    heap.check().unwrap();
}

#[test]
fn the_walk_catches_a_hot_slab_with_its_own_free_list() {
    let mut buf = buffer(256);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    let a = heap.allocate(l(16, 8)).unwrap();
    let b = heap.allocate(l(16, 8)).unwrap();
    let s = slab_of(a.as_ptr());
    heap.check().unwrap();
    // SAFETY: `s` is the live hot slab of `a` and `b`; `b` is put on its
    // own free list, as a free that missed the allocation list would, and
    // left handed out.
    unsafe {
        b.as_ptr().cast::<*mut u8>().write(ptr::null_mut());
        (*s).free = b.as_ptr();
    }
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "9: a hot slab's own free list is empty");
    // SAFETY: as above; the list is emptied again.
    unsafe { (*s).free = ptr::null_mut() };
    heap.check().unwrap();
}

#[test]
fn the_walk_catches_a_hot_slab_on_the_full_list() {
    let mut buf = buffer(512);
    let mut heap = SlabHeap::with_source(region(&mut buf));
    let c = class_of_size(1000).unwrap();
    let cap = INFO[c].cap as usize;
    let blocks: Vec<_> = (0..cap)
        .map(|_| heap.allocate(l(1000, 8)).unwrap())
        .collect();
    let s = slab_of(blocks[0].as_ptr());
    // Every slot handed out, the allocation list empty: still hot, still on
    // its class's list until the next allocation's refill moves it.
    assert_eq!(heap.hot[c].slab, s);
    assert_eq!(heap.avail[c], s);
    heap.check().unwrap();
    // SAFETY: a deliberate corruption: the full, hot slab moved to the full
    // list and marked so, as a refill that kept it hot would leave it.
    unsafe {
        SlabHeap::<RegionSource>::unlink(&mut heap.avail[c], s);
        SlabHeap::<RegionSource>::push(&mut heap.full, s);
        (*s).on_full = true;
    }
    let err = heap.check().unwrap_err();
    assert_eq!(err.invariant, "9: a hot slab is not on the full list");
}

#[test]
fn small_frees_in_and_out_of_the_hot_slab_keep_every_count() {
    // Three slabs' worth of 1,000-byte blocks, freed through
    // `deallocate_small` in an order that mixes the hot slab's slots with
    // full slabs' (which move back to their class) and slabs that empty
    // (which go to the pool), the walk after every free.
    let mut buf = buffer(1024);
    let mut heap = SlabHeap::counting(region(&mut buf));
    let c = class_of_size(1000).unwrap();
    let cap = INFO[c].cap as usize;
    let layout = l(1000, 8);
    let mut blocks: Vec<_> = (0..3 * cap)
        .map(|_| heap.allocate_small(layout).unwrap())
        .collect();
    heap.check().unwrap();
    // Every seventh block first (all three slabs), then the rest from the
    // newest (the hot slab) down.
    let mut order: Vec<usize> = (0..blocks.len()).step_by(7).collect();
    order.extend((0..blocks.len()).rev().filter(|i| i % 7 != 0));
    for (n, &i) in order.iter().enumerate() {
        // SAFETY: each block is live with `layout`, freed once.
        unsafe { heap.deallocate_small(blocks[i], layout) };
        assert_eq!(heap.stats().blocks_live(), (blocks.len() - n - 1) as u64);
        heap.check().unwrap();
    }
    // All free: the same number of blocks fits again, none twice.
    let again: Vec<_> = (0..3 * cap)
        .map(|_| heap.allocate_small(layout).unwrap())
        .collect();
    let mut addrs: Vec<usize> = again.iter().map(|p| p.as_ptr().addr()).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len(), again.len());
    heap.check().unwrap();
    blocks.clear();
}
