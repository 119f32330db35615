//! Checking mode (the `checking` feature) for the buddy heap: every free is
//! verified against the arena table and the free lists before anything is
//! written, and free blocks are poisoned and verified when a block is
//! carved from them. A misuse ends the process with a report naming it
//! ([`polyalloc_core::checking`]).
//!
//! A live block keeps no header and the pair bitmap does not say which
//! blocks are live, so a free is judged from the layout's order `k` and
//! the free lists:
//!
//! - **a pointer the heap does not own**: in no arena, or in an arena's
//!   bitmap;
//! - **double free**: a free block (on its list) holds the pointer: the
//!   block was freed already, and may have merged since;
//! - **interior pointer**: the pointer is not on a [`MIN_BLOCK`] boundary,
//!   so no block can start there;
//! - **wrong size or alignment**: the pointer is not a multiple of `2^k`
//!   from the arena's base (no block of the layout's order starts there),
//!   or a free block lies inside the `2^k` bytes at the pointer (the layout
//!   is larger than the block). An interior pointer that falls on a block
//!   boundary is named this way too. A layout smaller than the block is not
//!   seen: its free gives back the first part of the block only (a leak,
//!   not a broken heap);
//! - **write after free**: every free block of at most
//!   [`POISON_CAP`](checking::POISON_CAP) bytes holds
//!   [`POISON`] past its links and arena tag (its first three words); the
//!   part a new block takes is verified when it is split off. Larger free
//!   blocks (a fresh arena's spine) are not poisoned, so checking mode never
//!   writes over memory the program has not used. Blocks of two words have
//!   no room for poison.
//!
//! Costs: a walk of the free lists on every free; a pass over every freed
//! block after its merges and over every block handed out, each at most
//! `POISON_CAP` bytes.
//!
//! [`POISON`]: polyalloc_core::checking::POISON

use core::alloc::Layout;
use core::ptr::NonNull;

use polyalloc_core::Recorder;
use polyalloc_core::checking::{self, Misuse};
use polyalloc_core::source::Source;

use super::{BuddyHeap, MIN_BLOCK, MIN_ORDER, WORD, meta_order, next_free, order_of};

/// The name reports give this strategy.
const NAME: &str = "buddy";

/// The words at the start of a free block the heap writes itself: the two
/// list links and the arena tag.
const KEPT: usize = 3 * WORD;

/// Reports `misuse` at `addr` and ends the process.
#[cold]
fn fail(misuse: Misuse, addr: usize) -> ! {
    checking::report(misuse, NAME, addr)
}

/// Poisons the free block of order `j` at `b` past its first three words
/// ([`checking::poison_free_block`], up to its cap).
///
/// # Safety
///
/// `b` is a free block of order `j` of a live arena.
pub(super) unsafe fn poison_free(b: *mut u8, j: u32) {
    // SAFETY: forwarded from the caller.
    unsafe { checking::poison_free_block(b, 1 << j, KEPT, 0) };
}

/// Poisons the half of order `j` at `b` just split off a block of order
/// `from`, if that block was too large to be poisoned (a poisoned block's
/// halves are poisoned already).
///
/// # Safety
///
/// As for [`poison_free`].
pub(super) unsafe fn poison_split(b: *mut u8, j: u32, from: u32) {
    if (1usize << from) > checking::POISON_CAP {
        // SAFETY: forwarded from the caller.
        unsafe { poison_free(b, j) };
    }
}

/// Verifies, before the free block `b` of order `j` is split down to a
/// handed-out block of order `k`, that the part handed out still holds its
/// poison.
///
/// # Safety
///
/// `b` is a free block of order `j` of a live arena, poisoned with
/// [`poison_free`] when made; `k <= j`.
pub(super) unsafe fn verify_free(b: *mut u8, j: u32, k: u32) {
    // SAFETY: from the caller.
    if !unsafe { checking::poisoned_within(b, 1 << j, KEPT, 1 << k) } {
        fail(Misuse::WriteAfterFree, b.addr());
    }
}

impl<S: Source, R: Recorder> BuddyHeap<S, R> {
    /// A free block (on its list) of an order from `lo` to `hi - 1` that
    /// overlaps `[start, start + len)`, if there is one: a walk of those
    /// lists.
    fn free_block_in(&self, start: usize, len: usize, lo: u32, hi: u32) -> Option<usize> {
        for j in lo..hi {
            if self.nonempty & (1 << j) == 0 {
                continue;
            }
            let mut b = self.heads[j as usize];
            while !b.is_null() {
                let (a, end) = (b.addr(), b.addr() + (1usize << j));
                if a < start + len && end > start {
                    return Some(a);
                }
                // SAFETY: a block on a list is free, its first word the
                // next.
                b = unsafe { next_free(b) };
            }
        }
        None
    }

    /// Verifies that `ptr` can be a live block of this heap freed with
    /// `layout` (module docs), and reports the misuse otherwise. Called by
    /// `deallocate` before it changes anything.
    pub(super) fn check_free(&self, ptr: NonNull<u8>, layout: Layout) {
        let Some(k) = order_of(layout) else {
            return;
        };
        let addr = ptr.as_ptr().addr();
        let Some(i) = self.arena_index(addr) else {
            fail(Misuse::NotOwned, addr);
        };
        let arena = self.arenas[i];
        let off = addr - arena.base.addr();
        if off < 1 << meta_order(arena.order) {
            fail(Misuse::NotOwned, addr);
        }
        // A free block holding the pointer, at any order: already freed.
        if self
            .free_block_in(addr, 1, MIN_ORDER, arena.order)
            .is_some()
        {
            fail(Misuse::DoubleFree, addr);
        }
        if off % MIN_BLOCK != 0 {
            fail(Misuse::Interior, addr);
        }
        if off % (1usize << k) != 0 || k >= arena.order {
            fail(Misuse::WrongLayout, addr);
        }
        // The layout's block must be live whole: no free block inside it.
        if self.free_block_in(addr, 1 << k, MIN_ORDER, k).is_some() {
            fail(Misuse::WrongLayout, addr);
        }
    }
}
