//! Checking mode (the `checking` feature): every free is verified against
//! the heap's own lists before anything is written, and a freed slot is
//! poisoned and verified when it is handed out again. A misuse ends the
//! process with a report naming it ([`polyalloc_core::checking`]).
//!
//! What each check reads, so that a bad pointer is never dereferenced
//! before it is known to lie in memory the heap holds:
//!
//! - the large list (headers the heap wrote): a live large block's start,
//!   or a pointer inside a large span;
//! - the class lists and the full list: is the pointer's slab one of ours
//!   serving a class? The pool, the cache and the runs: memory the heap
//!   holds with nothing live in it (a block there was freed already);
//! - in the slab: the first slot (found from `fresh` and the class's
//!   colours, [`SlabHeap::first_slot`]), so an address that is not a slot
//!   boundary below `fresh` is named; then the slab's free list and, for
//!   its class's hot slab, the allocation list, so a slot already on one
//!   is a double free.
//!
//! Costs: a step per slab in use, per large block, per pooled or cached
//! span, and per free slot of the block's slab, on every free; a pass over
//! the slot on every free and reuse. For tests and debugging only.

use core::alloc::Layout;

use polyalloc_core::Recorder;
use polyalloc_core::checking::{self, Misuse};
use polyalloc_core::source::Source;

use super::{Run, SLAB, Slab, SlabHeap, base_of, large_offset, slab_of};
use crate::class::{INFO, class_of, class_size};

/// The name reports give this strategy.
const NAME: &str = "slab";

/// Reports `misuse` at `p` and ends the process.
#[cold]
fn fail(misuse: Misuse, p: *const u8) -> ! {
    checking::report(misuse, NAME, p.addr())
}

/// Whether `addr` lies in one of the spans on the list at `head` (the cache
/// or the runs: memory held with nothing live in it).
fn in_runs(mut r: *mut Run, addr: usize) -> bool {
    while !r.is_null() {
        // SAFETY: every span on the cache and run lists is live, its header
        // written by the heap.
        let (next, len) = unsafe { ((*r).next, (*r).len) };
        if addr >= r.addr() && addr < r.addr() + len {
            return true;
        }
        r = next;
    }
    false
}

impl<S: Source, R: Recorder> SlabHeap<S, R> {
    /// Verifies that `p` is a live block of this heap allocated with a
    /// layout like `layout` (same class, or the same large header), and
    /// reports the misuse otherwise. Called by `deallocate` before it
    /// changes anything.
    pub(super) fn check_free(&self, p: *mut u8, layout: Layout) {
        let addr = p.addr();
        let class = class_of(layout.size(), layout.align());
        let mut l = self.large;
        while !l.is_null() {
            // SAFETY: every header on the large list is live.
            let (next, span, len, offset) =
                unsafe { ((*l).next, (*l).span, (*l).span_len, (*l).offset) };
            let end = span.addr() + len;
            if addr == l.addr() + offset {
                let fits = layout.size() <= end - addr;
                if class.is_some() || large_offset(layout.align()) != offset || !fits {
                    fail(Misuse::WrongLayout, p);
                }
                return;
            }
            if addr >= span.addr() && addr < end {
                fail(Misuse::Interior, p);
            }
            l = next;
        }
        let base = slab_of(p);
        let mut found: *mut Slab = core::ptr::null_mut();
        self.for_each_slab(|s| {
            if s == base {
                found = s;
            }
        });
        if found.is_null() {
            let mut pooled = false;
            let mut s = self.pool;
            while !s.is_null() {
                pooled |= s == base;
                // SAFETY: pooled slabs are live.
                s = unsafe { (*s).next };
            }
            if pooled || in_runs(self.cached, addr) || in_runs(self.runs, addr) {
                fail(Misuse::DoubleFree, p);
            }
            fail(Misuse::NotOwned, p);
        }
        let s = found;
        // SAFETY: `s` is a live slab serving a class.
        let (slab_class, fresh) = unsafe { ((*s).class as usize, (*s).fresh.addr()) };
        let stride = INFO[slab_class].stride as usize;
        let Some(first) = Self::first_slot(s) else {
            // The walk in debug builds names this; a free cannot go on.
            fail(Misuse::NotOwned, p);
        };
        if addr < first || addr >= base_of(s).addr() + SLAB {
            fail(Misuse::NotOwned, p);
        }
        if (addr - first) % stride != 0 {
            fail(Misuse::Interior, p);
        }
        if addr >= fresh {
            fail(Misuse::NotOwned, p);
        }
        // SAFETY: `s` is live; its free list and, if it is its class's hot
        // slab, the allocation list hold its free slots (invariant 9).
        let own = unsafe { (*s).free };
        let lists = [own, self.hot_list_of(s, slab_class)];
        for mut f in lists {
            while !f.is_null() {
                if f == p {
                    fail(Misuse::DoubleFree, p);
                }
                // SAFETY: a free slot's first word is the next free slot.
                f = unsafe { f.cast::<*mut u8>().read() };
            }
        }
        if class != Some(slab_class) {
            fail(Misuse::WrongLayout, p);
        }
    }

    /// Poisons a slot of class `c` that has just gone on its slab's free
    /// list: everything after its link word.
    ///
    /// # Safety
    ///
    /// `p` is a slot of class `c` on a free list.
    pub(super) unsafe fn poison_slot(p: *mut u8, c: usize) {
        let word = size_of::<*mut u8>();
        // SAFETY: the slot is `class_size(c)` bytes, free, and ours; its
        // first word is the link.
        unsafe { checking::poison(p.add(word), class_size(c) - word) };
    }

    /// Verifies a slot of class `c` of the slab `s`, just taken off its free
    /// list with `next` read from its link word: the link must be null or a
    /// slot of the same slab below `fresh`, and the rest still poisoned.
    ///
    /// # Safety
    ///
    /// `p` was the head of `s`'s free list, poisoned when it was freed.
    pub(super) unsafe fn check_reuse(s: *mut Slab, p: *mut u8, next: *mut u8, c: usize) {
        if !next.is_null() {
            // SAFETY: `s` is live.
            let fresh = unsafe { (*s).fresh.addr() };
            let stride = INFO[c].stride as usize;
            let ok = slab_of(next) == s
                && Self::first_slot(s)
                    .is_some_and(|f| next.addr() >= f && (next.addr() - f) % stride == 0)
                && next.addr() < fresh;
            if !ok {
                fail(Misuse::WriteAfterFree, p);
            }
        }
        let word = size_of::<*mut u8>();
        // SAFETY: the slot was poisoned past its link when freed.
        if !unsafe { checking::is_poisoned(p.add(word), class_size(c) - word) } {
            fail(Misuse::WriteAfterFree, p);
        }
    }
}
