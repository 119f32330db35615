//! `&ThreadAlloc` as an allocator-api2 `Allocator`: grows and shrinks from
//! and to zero-size blocks, with a change of alignment, and across the
//! boundary between the thread heaps (small sizes) and the shared heap
//! (large ones), each keeping the block's bytes.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use polyalloc_core::Counting;
use polyalloc_threads::ThreadAlloc;

/// Counting, so that a free shows in the thread heap's live blocks.
static A: ThreadAlloc<Counting> = ThreadAlloc::new();

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Writes `len` bytes of a pattern seeded by `seed` at `p`.
///
/// # Safety
/// `p` is valid for `len` bytes of writes.
unsafe fn fill(p: NonNull<u8>, len: usize, seed: u8) {
    for i in 0..len {
        // SAFETY: from the caller.
        unsafe { p.as_ptr().add(i).write(seed.wrapping_add(i as u8)) };
    }
}

/// Whether the first `len` bytes at `p` hold the pattern of `fill`.
///
/// # Safety
/// `p` is valid for `len` bytes of reads.
unsafe fn holds(p: NonNull<u8>, len: usize, seed: u8) -> bool {
    // SAFETY: from the caller.
    (0..len).all(|i| unsafe { p.as_ptr().add(i).read() } == seed.wrapping_add(i as u8))
}

#[test]
fn zero_size_blocks_grow_and_shrink_to_and_from_zero() {
    let zero = layout(0, 16);
    let p = (&A).allocate(zero).unwrap();
    assert_eq!(p.len(), 0);
    assert_eq!(
        p.cast::<u8>().as_ptr().addr(),
        16,
        "a zero-size block is dangling"
    );

    // From zero: a fresh block.
    let small = layout(40, 16);
    // SAFETY: `p` is a live block of `A` with `zero`; `small` is not smaller.
    let q = unsafe { (&A).grow(p.cast(), zero, small) }.unwrap();
    assert!(q.len() >= 40);
    let q = q.cast::<u8>();
    assert_eq!(q.as_ptr().addr() % 16, 0);
    assert!(A.owns(q), "a block grown from zero size is the heap's");
    // SAFETY: 40 fresh bytes.
    unsafe { fill(q, 40, 3) };

    // To zero: the block is freed and a dangling pointer comes back.
    let before = A
        .thread_stats()
        .expect("this thread has a heap")
        .blocks_live();
    let to_zero = layout(0, 8);
    // SAFETY: `q` is live with `small`.
    let r = unsafe { (&A).shrink(q, small, to_zero) }.unwrap();
    assert_eq!(r.len(), 0);
    assert_eq!(r.cast::<u8>().as_ptr().addr(), 8);
    let after = A
        .thread_stats()
        .expect("this thread has a heap")
        .blocks_live();
    assert_eq!(after + 1, before, "shrinking to zero frees the block");

    // Zero to zero: nothing reaches a heap.
    // SAFETY: `r` is a dangling zero-size block of `A`.
    let s = unsafe { (&A).grow(r.cast(), to_zero, layout(0, 32)) }.unwrap();
    assert_eq!(s.cast::<u8>().as_ptr().addr(), 32);
}

#[test]
fn grows_keep_the_bytes_across_alignments_and_heaps() {
    let first = layout(24, 8);
    let p = (&A).allocate(first).unwrap().cast::<u8>();
    // SAFETY: 24 fresh bytes.
    unsafe { fill(p, 24, 7) };

    // A larger alignment: the block moves to one that has it.
    let aligned = layout(200, 256);
    // SAFETY: `p` is live with `first`.
    let q = unsafe { (&A).grow(p, first, aligned) }
        .unwrap()
        .cast::<u8>();
    assert_eq!(q.as_ptr().addr() % 256, 0, "grown to a 256-byte alignment");
    // SAFETY: the grown block has 200 bytes, the first 24 kept.
    assert!(unsafe { holds(q, 24, 7) }, "the bytes survive the move");
    // SAFETY: as above.
    unsafe { fill(q, 200, 11) };

    // Past the thread heaps' sizes: the shared heap serves.
    let large = layout(256 * 1024, 8);
    // SAFETY: `q` is live with `aligned`.
    let r = unsafe { (&A).grow(q, aligned, large) }
        .unwrap()
        .cast::<u8>();
    // SAFETY: 200 bytes kept of 256 KiB.
    assert!(unsafe { holds(r, 200, 11) });
    // SAFETY: as above.
    unsafe { fill(r, 256 * 1024, 13) };

    // Back to a small, less aligned block.
    let back = layout(100, 8);
    // SAFETY: `r` is live with `large`.
    let s = unsafe { (&A).shrink(r, large, back) }.unwrap().cast::<u8>();
    // SAFETY: 100 bytes kept.
    assert!(unsafe { holds(s, 100, 13) });
    // SAFETY: `s` is live with `back`.
    unsafe { (&A).deallocate(s, back) };
    A.check().expect("the heaps' invariants hold");
}

#[test]
fn grow_zeroed_keeps_the_bytes_zeroes_the_rest_and_stays_in_place_when_it_can() {
    // Within one slab class: the block grows in place (the trait's default
    // would always move it).
    let (a, b) = (layout(20, 8), layout(24, 8));
    let p = (&A).allocate(a).unwrap().cast::<u8>();
    // SAFETY: 20 fresh bytes.
    unsafe { fill(p, 20, 21) };
    // SAFETY: `p` is live with `a`; `b` is not smaller.
    let q = unsafe { (&A).grow_zeroed(p, a, b) }.unwrap();
    assert_eq!(q.len(), 24);
    let q = q.cast::<u8>();
    assert_eq!(q, p, "a grow inside the block's slot stays in place");
    // SAFETY: 24 bytes, the first 20 kept.
    assert!(unsafe { holds(q, 20, 21) });
    // SAFETY: as above.
    assert!((20..24).all(|i| unsafe { q.as_ptr().add(i).read() } == 0));

    // Past the slot, and then past the thread heaps' sizes: moved, the
    // bytes kept, the rest zero.
    let mut block = (q, b);
    for size in [1000, 300 * 1024] {
        let (ptr, old) = block;
        // SAFETY: as above, the whole old block written.
        unsafe { fill(ptr, old.size(), 5) };
        let new = layout(size, 8);
        // SAFETY: `ptr` is live with `old`.
        let grown = unsafe { (&A).grow_zeroed(ptr, old, new) }
            .unwrap()
            .cast::<u8>();
        // SAFETY: `size` bytes, the first `old.size()` kept.
        assert!(unsafe { holds(grown, old.size(), 5) });
        // SAFETY: as above.
        assert!((old.size()..size).all(|i| unsafe { grown.as_ptr().add(i).read() } == 0));
        block = (grown, new);
    }
    // SAFETY: live with its layout.
    unsafe { (&A).deallocate(block.0, block.1) };
}
