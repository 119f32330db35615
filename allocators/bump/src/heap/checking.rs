//! Checking mode (the `checking` feature) for the bump heap: frees are
//! verified against the used chunks, and freed bytes that bump can reuse
//! are poisoned and verified when handed out again. A misuse ends the
//! process with a report naming it ([`polyalloc_core::checking`]).
//!
//! Bump keeps no record of its blocks, only of its chunks and its top, so
//! it checks what that allows:
//!
//! - **a pointer the heap does not own**: not in any used chunk, or at or
//!   above its chunk's top (never handed out);
//! - **double free**: a pointer in the *poisoned range*, the bytes a free
//!   rolled the top back over (the most recent block, freed already);
//! - **wrong size or alignment**: a pointer not aligned to the layout's
//!   alignment, or a block that would run past its chunk's top;
//! - **write after free**: the poisoned range is verified when the top
//!   moves over it again.
//!
//! An interior pointer is not named: without block boundaries it reads as a
//! block at that address (a free of it is a failed free, as any free below
//! the top is). Blocks ended by [`reset`](polyalloc_core::Heap::reset) or
//! [`rewind`](super::BumpHeap::rewind) are not poisoned: their chunks keep
//! being handed out from the start, and their old contents are the user's.
//!
//! Costs: a walk of the used chunks on every free, a pass over the freed
//! bytes on a roll-back, and over any poisoned bytes an allocation covers.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use polyalloc_core::Recorder;
use polyalloc_core::checking::{self, Misuse};
use polyalloc_core::source::Source;

use super::{BumpHeap, ChunkHeader, HEADER};

/// The name reports give this strategy.
const NAME: &str = "bump";

/// Reports `misuse` at `addr` and ends the process.
#[cold]
fn fail(misuse: Misuse, addr: usize) -> ! {
    checking::report(misuse, NAME, addr)
}

/// The bytes `[lo, hi)` of `chunk` hold [`checking::POISON`], unless a
/// bug wrote them after they were freed: what a roll-back gave back.
#[derive(Clone, Copy, Debug)]
pub(super) struct Poisoned {
    chunk: *mut ChunkHeader,
    lo: usize,
    hi: usize,
}

impl Poisoned {
    /// No poisoned range.
    pub(super) const NONE: Self = Self {
        chunk: ptr::null_mut(),
        lo: 0,
        hi: 0,
    };
}

impl<S: Source, R: Recorder> BumpHeap<S, R> {
    /// Verifies that `ptr` can be a live block of this heap with `layout`
    /// (module docs), and reports the misuse otherwise. Called by every free
    /// before it changes anything.
    pub(super) fn check_free(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            // A zero-size block may be dangling anywhere.
            return;
        }
        let addr = ptr.as_ptr().addr();
        let Some((chunk, top)) = self.used_chunks().find(|&(chunk, _)| {
            // SAFETY: used chunks' headers are live.
            let len = unsafe { (*chunk).len };
            addr >= chunk.addr() + HEADER && addr < chunk.addr() + len
        }) else {
            fail(Misuse::NotOwned, addr);
        };
        if addr >= top {
            let p = self.poisoned;
            if p.chunk == chunk && addr >= p.lo && addr < p.hi {
                fail(Misuse::DoubleFree, addr);
            }
            fail(Misuse::NotOwned, addr);
        }
        if addr % layout.align() != 0 || layout.size() > top - addr {
            fail(Misuse::WrongLayout, addr);
        }
    }

    /// The top of the current chunk has just moved down from `to` to
    /// `from` over freed bytes: poisons them and adds them to the poisoned
    /// range.
    pub(super) fn poison_freed(&mut self, from: usize, to: usize) {
        if from >= to || self.current.is_null() {
            return;
        }
        // SAFETY: `[from, to)` lies in the current chunk, above the top: no
        // live block holds it. `current` has provenance over the chunk.
        unsafe { checking::poison(self.current.cast::<u8>().with_addr(from), to - from) };
        let p = self.poisoned;
        self.poisoned = if p.chunk == self.current && p.lo <= to && p.hi >= to {
            Poisoned {
                chunk: p.chunk,
                lo: from,
                hi: p.hi,
            }
        } else {
            Poisoned {
                chunk: self.current,
                lo: from,
                hi: to,
            }
        };
    }

    /// The top is about to move up from its place to `new_top` to hand out
    /// a block: verifies the poisoned bytes it covers, and takes them out of
    /// the range. `verify` is false for an in-place grow of the top block,
    /// whose new bytes the caller may not have written yet either way.
    pub(super) fn take_poisoned(&mut self, new_top: usize, verify: bool) {
        let p = self.poisoned;
        if p.chunk != self.current || p.chunk.is_null() || new_top <= p.lo {
            return;
        }
        let (lo, hi) = (p.lo.max(self.top), p.hi.min(new_top));
        if verify && lo < hi {
            let at = self.current.cast::<u8>().with_addr(lo);
            // SAFETY: `[lo, hi)` lies in the poisoned range of the current
            // chunk (whose pointer has provenance over it), poisoned when
            // freed, so initialised.
            if !unsafe { checking::is_poisoned(at, hi - lo) } {
                fail(Misuse::WriteAfterFree, lo);
            }
        }
        self.poisoned.lo = new_top.min(p.hi);
        if self.poisoned.lo >= p.hi {
            self.poisoned = Poisoned::NONE;
        }
    }

    /// `chunk` is going back to the source: its bytes are no longer
    /// poisoned (fresh memory is zeros).
    pub(super) fn forget_poison_in(&mut self, chunk: *mut ChunkHeader) {
        if self.poisoned.chunk == chunk {
            self.poisoned = Poisoned::NONE;
        }
    }
}
