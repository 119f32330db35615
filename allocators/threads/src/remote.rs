//! The remote-free list: blocks freed by threads other than the one whose
//! heap owns them, waiting for the owner to take them back.
//!
//! # Invariants
//!
//! 1. **A stack of whole blocks.** `head` is null or the first of a chain of
//!    blocks, each block's first word pointing at the next and its second
//!    word holding its layout ([`encode`]). A block is on at most one list,
//!    once, and nothing else reads or writes it while it is there.
//! 2. **Many pushers, one taker.** Any thread pushes (a compare-exchange
//!    loop, `Release` on success, so the two words are written before the
//!    block is reachable); only the heap's current owner takes, and it takes
//!    the whole chain at once (a swap with null, `Acquire`). No block is ever
//!    popped alone, so the chain a taker sees cannot be changed under it:
//!    there is no ABA problem to guard against.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use crate::atomic::{AtomicPtr, Ordering};

/// The smallest block the list can hold: a link and a layout.
pub const MIN_BLOCK: usize = 2 * size_of::<usize>();

/// A layout in one word: the size shifted up a byte, the alignment's log
/// in the low byte.
#[inline(always)]
fn encode(layout: Layout) -> usize {
    layout.size() << 8 | layout.align().trailing_zeros() as usize
}

/// The layout [`encode`] wrote.
///
/// # Safety
///
/// `word` came from [`encode`].
#[inline(always)]
unsafe fn decode(word: usize) -> Layout {
    // SAFETY: `encode` kept the size and the log of a power-of-two
    // alignment of a valid layout.
    unsafe { Layout::from_size_align_unchecked(word >> 8, 1 << (word & 0xff)) }
}

/// Blocks freed from other threads (module docs).
#[derive(Debug)]
pub struct RemoteList {
    head: AtomicPtr<u8>,
}

impl RemoteList {
    /// An empty list.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An empty list (not `const` under loom, whose atomics are not).
    #[cfg(loom)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether nothing waits: one plain load, for the owner's fast path.
    #[inline(always)]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed).is_null()
    }

    /// Pushes `block`, freed with `layout`, for the owner to take.
    ///
    /// # Safety
    ///
    /// `block` must be a live block of the heap this list belongs to, at
    /// least [`MIN_BLOCK`] bytes long, aligned for a pointer, allocated with
    /// `layout` (whose size fits in `usize::BITS - 8` bits), and not used by
    /// the caller afterwards.
    pub unsafe fn push(&self, block: NonNull<u8>, layout: Layout) {
        let words = block.as_ptr().cast::<*mut u8>();
        // SAFETY: the block is the caller's to give and holds two words
        // (invariant 1 writes the layout in the second).
        unsafe { words.add(1).cast::<usize>().write(encode(layout)) };
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: as above; the block is not yet reachable from the list.
            unsafe { words.write(head) };
            match self.head.compare_exchange_weak(
                head,
                block.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Takes every block pushed so far and hands each to `free` with the
    /// layout it was freed with; returns how many. The heap's owner calls it
    /// (invariant 2); a second taker would only get a disjoint chain.
    pub fn take_all(&self, mut free: impl FnMut(NonNull<u8>, Layout)) -> usize {
        let mut next = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        let mut n = 0;
        while let Some(block) = NonNull::new(next) {
            let words = block.as_ptr().cast::<*mut u8>();
            // SAFETY: every block on the chain was written by `push` before
            // its release, which the swap's `Acquire` synchronises with, and
            // no one else touches it now (invariant 1).
            let (link, layout) =
                unsafe { (words.read(), decode(words.add(1).cast::<usize>().read())) };
            next = link;
            free(block, layout);
            n += 1;
        }
        n
    }
}

#[cfg(not(loom))]
impl Default for RemoteList {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    #[test]
    fn layouts_round_trip() {
        for (size, align) in [
            (16, 1),
            (16, 16),
            (24, 8),
            (16_384, 64),
            (1 << (usize::BITS - 9), 4096),
        ] {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: from `encode`.
            assert_eq!(unsafe { decode(encode(l)) }, l);
        }
    }

    #[test]
    fn every_pushed_block_is_taken_once_with_its_layout() {
        let list = RemoteList::new();
        let mut blocks: Vec<[usize; 4]> = (0..5).map(|_| [0; 4]).collect();
        for (i, b) in blocks.iter_mut().enumerate() {
            let l = Layout::from_size_align(16 + 8 * i, 8).unwrap();
            // SAFETY: a 32-byte buffer of ours, aligned for words.
            unsafe { list.push(NonNull::from(b).cast(), l) };
        }
        assert!(!list.is_empty());
        let mut seen = Vec::new();
        let n = list.take_all(|b, l| seen.push((b.as_ptr().addr(), l.size())));
        assert_eq!(n, 5);
        assert!(list.is_empty());
        seen.sort_unstable();
        let expect: Vec<(usize, usize)> = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.as_ptr().addr(), 16 + 8 * i))
            .collect();
        let mut expect = expect;
        expect.sort_unstable();
        assert_eq!(seen, expect);
    }
}
