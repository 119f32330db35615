//! Checking mode (the `checking` feature) for the free list: every free is
//! verified by walking the pointer's span block by block before anything
//! is written, and free memory is poisoned and verified when a block is
//! handed out of it. A misuse ends the process with a report naming it
//! ([`polyalloc_core::checking`]).
//!
//! - **a pointer the heap does not own**: in no span (the span list says
//!   where the heap's memory is; nothing else is read first);
//! - **double free**: a pointer inside a free block (a freed block may have
//!   merged with its neighbours since);
//! - **interior pointer**: inside a used block, past its payload's start;
//! - **wrong size or alignment**: the block is smaller than the layout
//!   needs, or so much larger that the heap would have split it (the layout
//!   is not one the block was allocated or resized with), or the pointer
//!   is not aligned to the layout;
//! - **write after free**: every free block of at most
//!   [`POISON_CAP`](checking::POISON_CAP) bytes holds
//!   [`POISON`] past its header and two list links and before its footer;
//!   the part of it a new block takes is verified in `take`. The links and
//!   the footer are the heap's own words: a write there is not seen by the
//!   poison (the debug heap walk reports the broken list or footer
//!   instead). Larger free blocks (a fresh span, a heap freed whole) are
//!   not poisoned, so that checking mode never writes over memory the
//!   program has not used (a span of gigabytes for a huge alignment).
//!
//! Poison is written wherever a free block of at most `POISON_CAP` bytes
//! is made:
//! a freed block after its merges, a new or cleared span's one free block,
//! a span extended in place, and the part split off a larger, unpoisoned
//! free block. Costs: a walk of the spans and of the blocks before the
//! pointer in its span on every free; a pass over every freed block after
//! its merges and over every block handed out, each at most `POISON_CAP`
//! bytes.
//!
//! [`POISON`]: polyalloc_core::checking::POISON

use core::alloc::Layout;
use core::ptr::NonNull;

use polyalloc_core::Recorder;
use polyalloc_core::checking::{self, Misuse};
use polyalloc_core::source::Source;

use super::{FLAGS, FreeListHeap, GRAN, MIN_BLOCK, SPAN_HEADER, USED, WORD, block_size, header};

/// The name reports give this strategy.
const NAME: &str = "free list";

/// Reports `misuse` at `addr` and ends the process.
#[cold]
fn fail(misuse: Misuse, addr: usize) -> ! {
    checking::report(misuse, NAME, addr)
}

/// The words at the start of a free block the heap writes itself: the
/// header and the two list links; poison starts after them. The footer,
/// its last word, is kept too.
const KEPT: usize = 3 * WORD;

/// Poisons the free block of `size` bytes at `b` between its kept words
/// ([`checking::poison_free_block`], up to its cap).
///
/// # Safety
///
/// `b` is a free block of `size` bytes of a live span, on no list or on
/// one (its links are not touched).
pub(super) unsafe fn poison_free(b: *mut u8, size: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { checking::poison_free_block(b, size, KEPT, WORD) };
}

/// Poisons the free block `r` of `rest` bytes just split off a free block
/// of `size` bytes, if that one was too large to be poisoned (a poisoned
/// block's parts are poisoned already).
///
/// # Safety
///
/// As for [`poison_free`], for `r` and `rest`.
pub(super) unsafe fn poison_split(r: *mut u8, rest: usize, size: usize) {
    if size > checking::POISON_CAP {
        // SAFETY: forwarded from the caller.
        unsafe { poison_free(r, rest) };
    }
}

/// Verifies, before the free block `b` of `size` bytes becomes a used block
/// of `need` bytes, that the part of its poison the new block covers is
/// intact.
///
/// # Safety
///
/// `b` is a free block of `size` bytes of a live span, poisoned with
/// [`poison_free`] when made.
pub(super) unsafe fn verify_free(b: *mut u8, size: usize, need: usize) {
    // SAFETY: from the caller; the range ends before the footer.
    if !unsafe { checking::poisoned_within(b, size, KEPT, need.min(size - WORD)) } {
        fail(Misuse::WriteAfterFree, b.addr() + WORD);
    }
}

impl<S: Source, R: Recorder> FreeListHeap<S, R> {
    /// Verifies that `ptr` is the payload of a used block of this heap that
    /// `layout` can name (module docs), and reports the misuse otherwise.
    /// Called by `deallocate` before it changes anything.
    pub(super) fn check_free(&self, ptr: NonNull<u8>, layout: Layout) {
        let addr = ptr.as_ptr().addr();
        let Some(span) = self.span_iter().find(|&s| {
            // SAFETY: every span on the list is live.
            let len = unsafe { (*s).len };
            addr >= s.addr() + SPAN_HEADER && addr < s.addr() + len - WORD
        }) else {
            fail(Misuse::NotOwned, addr);
        };
        // Walk the span's blocks up to the one holding `addr`.
        let mut b = span.cast::<u8>().wrapping_add(SPAN_HEADER);
        loop {
            // SAFETY: `b` is a block of the live span (blocks tile it,
            // invariant 1; `addr` lies before the fence).
            let h = unsafe { header(b) };
            let size = h & !FLAGS;
            if size == 0 || size % GRAN != 0 {
                // A header the walk cannot follow: the heap is broken
                // (a write over it); the debug walk names the invariant.
                fail(Misuse::WriteAfterFree, b.addr());
            }
            if addr < b.addr() + size {
                if h & USED == 0 {
                    fail(Misuse::DoubleFree, addr);
                }
                if addr != b.addr() + WORD {
                    fail(Misuse::Interior, addr);
                }
                // A used block is split whenever what it does not need could
                // stand as a block, so it is less than `MIN_BLOCK` larger
                // than any layout it was allocated or resized with.
                let fits = block_size(layout.size())
                    .is_some_and(|need| need <= size && size - need < MIN_BLOCK);
                if !fits || addr % layout.align() != 0 {
                    fail(Misuse::WrongLayout, addr);
                }
                return;
            }
            b = b.wrapping_add(size);
        }
    }
}
