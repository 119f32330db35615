//! The slab strategy core: size classes served from size-aligned slabs.
//!
//! Memory for small blocks comes in *slabs* of [`SLAB`] bytes aligned to
//! [`SLAB`]. A slab's [`Slab`] header (one cache line) lies a few lines into
//! it, by its address ([`header_offset`]: headers all at multiples of
//! [`SLAB`] would share one set of each cache); the slab's *slots*, all of
//! one size class, follow it, the first of them `HEADER + colour × LINE`
//! bytes after the header. Free slots are on intrusive lists (a free slot's
//! first word points to the next): the slab's own free list, or, for one
//! slab per class, the *hot* slab, the class's *allocation list*, which the
//! heap holds. An allocation pops the allocation list and touches nothing
//! else: not the slab's header, which lies in memory the program's own
//! traffic evicts. When the list is empty, a *refill* makes the first slab
//! of the class with a free slot the hot slab and moves its whole free list
//! over or, when it has none, links its never-used slots from its *fresh*
//! pointer to the end of that page (slots are carved in address order, so a
//! new slab touches only the pages it hands out). A free into the hot slab
//! goes onto the allocation list, also without touching the header (the
//! layout names the class); a free into any other slab onto that slab's
//! list. A front end that has read the header anyway (for the owner tag)
//! frees through `deallocate_small`, which takes the class from the header
//! and picks the list without a branch. A block's slab is its address rounded down to a multiple of
//! [`SLAB`], and its header is found from there: blocks carry no header.
//!
//! Each slab is on exactly one list: its class's *available* list (some slot
//! free, or full since its last allocation), the *full* list (every slot
//! handed out), or the *pool* of empty slabs shared by every class. An
//! allocation takes a slot from the first slab of its class's list, so
//! partly used slabs are filled before an empty one is taken from the pool,
//! and the pool before the source. A slab that an allocation fills stays
//! where it is; the next allocation that finds it full at the head moves it
//! to the full list (off the fast path), and a free into a slab on the full
//! list moves it back.
//!
//! Larger requests (above [`MAX_SMALL`](crate::MAX_SMALL)) and alignments
//! above [`MAX_ALIGN`](crate::MAX_ALIGN) take the *large-object* path: a
//! span of their own, with a [`Large`] header at its start and the block
//! `max(align, HEADER)` bytes after it, so freeing finds the header from the
//! pointer and the layout. Live large spans are on one list.
//!
//! Whether a layout is small or large, and its class, depends on the layout
//! alone ([`class_of`]): a block freed or resized with the layout the
//! `Heap` contract requires is found where it was allocated.
//!
//! # Invariants
//!
//! 1. **Slabs.** Every slab is [`SLAB`] bytes at a multiple of [`SLAB`],
//!    inside a span this heap holds; its header is [`header_offset`]`(base)`
//!    bytes in (a slab is named by its header's address), and its `class`
//!    is the class it serves, or [`POOLED`] for a slab in the pool.
//! 2. **Slots.** In a slab of class `c` (stride `s`, `cap` slots, first slot
//!    `first`): `first` is `HEADER + i × LINE` bytes after the header, with
//!    `i` below the class's colour count; `fresh` is `first + n × s` with
//!    `n <= cap`, and `carved` is `n`; every slot below `fresh` is handed
//!    out, or on the slab's free list or its class's allocation list
//!    exactly once (invariant 9); no slot at or above `fresh` is on a list;
//!    `used` is the number handed out or on the allocation list: `used +
//!    slots on the slab's own free list + (cap - n) == cap`.
//! 3. **Lists.** A slab with `0 < used < cap` is on its class's available
//!    list; one with `used == cap` on the full list (`on_full` set) or on
//!    its class's list (`on_full` clear: it filled there, and the next
//!    allocation that finds it at the head moves it); `on_full` is set
//!    exactly on the full list's slabs; an empty slab is in
//!    the pool, or on its class's list, which then holds no other empty
//!    slab (a slab that empties while it is its class's only available slab
//!    stays, so a class that frees and allocates one block over and over
//!    does not pass its slab through the pool). `prev` links mirror `next`
//!    links; list heads have a null `prev`.
//! 4. **Pool.** Every pooled slab is empty; `pool_bytes` is their total
//!    span length. With a source that takes memory back, a slab that
//!    empties while the pool and the cache already hold what the core's
//!    [`Retention`] policy keeps (the heap's recent peak in use less what is
//!    in use now, at least 4 MiB) goes back to the source instead.
//! 5. **Large blocks.** Every live large block has a [`Large`] header
//!    `max(align, HEADER)` bytes before it, on the large list, whose span
//!    holds the header and the block.
//! 6. **Runs.** With a source that cannot take memory back, free memory
//!    beyond the pool is kept in *runs*: spans of whole slabs at multiples
//!    of [`SLAB`], sorted by address, none adjacent to the next (adjacent
//!    runs are merged). Slabs and large spans are cut from their fronts.
//! 7. **Accounting.** `stats.bytes_reserved` is the sum of the span
//!    lengths of every slab, large span, run and cached span, plus
//!    `stranded` (bytes a source handed out that no slab or run can use).
//! 8. **Cache.** With a source that takes memory back, the spans of freed
//!    large blocks are kept whole on the `cached` list (`cached_bytes`), for
//!    large requests that fit them without wasting more than half, while
//!    the pool and the cache hold less than the retention policy keeps
//!    (invariant 4); beyond that they go back at once.
//! 9. **Hot slabs.** Each class's `hot` entry names no slab, with an
//!    empty allocation list, or a *hot* slab of that class on its class's
//!    list, never the full list. Every slot on the allocation list is a
//!    free, carved slot of the hot slab, counted in its `used`; the hot
//!    slab's own free list is empty. So a hot slab never empties while it
//!    is hot: a free into it does not lower `used`, which stays at least 1.
//!    It stops being hot when a refill picks another slab (its allocation
//!    list is then empty; the refill may have moved it to the full list
//!    just before), or when the lists are flushed back to the slabs
//!    (`trim`, and a refill that finds no slab and no memory for one) or
//!    forgotten (a reset). Empty slabs merged into runs for a large block
//!    (`pool_class_empties`) do not include a hot one: flushing every list
//!    on each such request would cost a step per listed slot.

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

use polyalloc_core::layout::{align_up, dangling};
use polyalloc_core::source::{DefaultSource, Source, Span};
use polyalloc_core::{CheckError, Heap, Recorder, Retention, Stats, Uncounted};

use crate::class::{CLASSES, Class, HEADER, INFO, LINE, SLAB, class_of, header_offset};

/// The `class` of a slab in the pool.
pub(crate) const POOLED: u8 = u8::MAX;
/// The page size Miri's `mmap` works in (see [`SlabHeap::acquire_aligned`]).
const MIRI_PAGE: usize = 4096;

/// The header of every slab, [`header_offset`] bytes into it.
#[repr(C)]
pub(crate) struct Slab {
    /// The next slab on the list this slab is on, or null.
    pub(crate) next: *mut Slab,
    /// The previous slab on that list, or null for a head.
    pub(crate) prev: *mut Slab,
    /// The first slot on the slab's own free list, or null; each free
    /// slot's first word is the next (invariant 2). Empty while the slab
    /// is hot (invariant 9).
    pub(crate) free: *mut u8,
    /// The first never-used slot; `end` once all are carved.
    pub(crate) fresh: *mut u8,
    /// Slots handed out, and slots on the class's allocation list while
    /// the slab is hot (invariant 9).
    pub(crate) used: u16,
    /// Slots in all.
    pub(crate) cap: u16,
    /// Slots carved so far (below `fresh`): the slots handed out, on the
    /// slab's free list or on the allocation list, so that a refill that
    /// takes the free list knows its length without walking it.
    pub(crate) carved: u16,
    /// The class served, or [`POOLED`].
    pub(crate) class: u8,
    /// Whether the slab is on the full list (invariant 3): a full slab may
    /// also still be on its class's list, until an allocation finds it
    /// there.
    pub(crate) on_full: bool,
    /// The owner tag of the heap that laid the slab out
    /// ([`SlabHeap::set_owner`]), read by [`SlabHeap::owner_of`].
    pub(crate) owner: *mut (),
    /// The span to give back to the source: the slab itself, or (under
    /// Miri) a larger span holding it.
    pub(crate) span: *mut u8,
    /// That span's length.
    pub(crate) span_len: usize,
}

impl Slab {
    /// The slab's `used` count, read at its own width.
    ///
    /// An allocation and a free each read `used` and write it back, one
    /// often right after the other. Left to itself, x86-64 code generation
    /// reads this `u16` with a 32-bit load (the two bytes after it are
    /// `cap`), and a load wider than the store that just wrote its bytes
    /// cannot take its value from the store buffer: it waits until the
    /// store reaches the cache, on every allocation and free (`perf`: about
    /// 60% of the samples of a churn of 48-byte objects on the two
    /// instructions after those loads). A volatile read keeps the width:
    /// 600 rounds of that churn (`instr slab faas-objects --rounds 600`)
    /// went from 1.19–1.83 s to 0.83–1.07 s, three interleaved runs each
    /// on a busy machine.
    ///
    /// # Safety
    ///
    /// `s` is a live slab header.
    #[inline(always)]
    unsafe fn used(s: *const Slab) -> u16 {
        // SAFETY: the caller's; the field is plain memory of the header.
        unsafe { ptr::addr_of!((*s).used).read_volatile() }
    }
}

/// The header of a large block's span.
#[repr(C)]
pub(crate) struct Large {
    /// The next live large span, or null.
    pub(crate) next: *mut Large,
    /// The previous one, or null for the head.
    pub(crate) prev: *mut Large,
    /// The span to give back (it holds this header).
    pub(crate) span: *mut u8,
    /// That span's length.
    pub(crate) span_len: usize,
    /// The block's offset from this header: `max(align, HEADER)`.
    pub(crate) offset: usize,
}

/// The header of a run of free slabs (invariant 6).
#[repr(C)]
pub(crate) struct Run {
    /// The next run, at a higher address, or null.
    pub(crate) next: *mut Run,
    /// The run's length, a multiple of [`SLAB`].
    pub(crate) len: usize,
}

/// A class's allocation list (invariant 9): free slots of its *hot* slab,
/// kept in the heap so that an allocation reads and writes the heap and
/// the slot it hands out, not the slab's header.
#[derive(Clone, Copy)]
#[repr(C)]
struct Hot {
    /// The first slot on the list, or null; each slot's first word is the
    /// next.
    free: *mut u8,
    /// The slab those slots belong to, or null: the slab the last refill
    /// took them from.
    slab: *mut Slab,
}

impl Hot {
    /// No hot slab.
    const EMPTY: Self = Self {
        free: ptr::null_mut(),
        slab: ptr::null_mut(),
    };
}

/// Slots a refill carves from a slab's never-used part stop at the end of
/// the page the first of them starts in: linking them writes the first word
/// of each, and a new slab should touch only the pages it hands out.
const CARVE_PAGE: usize = 4096;

const _: () = assert!(size_of::<Slab>() <= HEADER && size_of::<Large>() <= HEADER);
// A slab's counts, a slot's stride and the class fit the header's 16-bit
// and 8-bit fields.
const _: () = assert!(SLAB / 16 < u16::MAX as usize && CLASSES < POOLED as usize);
const _: () = assert!(crate::MAX_SMALL + LINE <= u16::MAX as usize);
const _: () = assert!(HEADER % LINE == 0);

/// The offset of a large block from its header, for alignment `align`.
#[inline(always)]
const fn large_offset(align: usize) -> usize {
    if align > HEADER { align } else { HEADER }
}

/// The header of the slab holding the byte at `p`.
#[inline(always)]
fn slab_of(p: *mut u8) -> *mut Slab {
    p.map_addr(|a| (a & !(SLAB - 1)) | header_offset(a)).cast()
}

/// The header of the slab starting at `base` (a multiple of [`SLAB`]).
#[inline(always)]
fn header_at(base: *mut u8) -> *mut Slab {
    base.wrapping_add(header_offset(base.addr())).cast()
}

/// The start of the slab whose header is `s`.
#[inline(always)]
fn base_of(s: *mut Slab) -> *mut u8 {
    s.cast::<u8>().map_addr(|a| a & !(SLAB - 1))
}

impl<S: Source, R: Recorder> SlabHeap<S, R> {
    /// The address of the first slot of the slab `s`, serving a class:
    /// the colour offset `HEADER + i × LINE` (`i` below the class's colour
    /// count) that `fresh` is a whole number of strides after. It is
    /// unique: the colour offsets span less than one stride (the slack
    /// they use is less than a slot). `None` if no offset fits, which
    /// invariant 2 rules out.
    #[cfg(any(debug_assertions, feature = "checking"))]
    pub(crate) fn first_slot(s: *mut Slab) -> Option<usize> {
        // SAFETY: `s` is a live slab serving a class (the caller's).
        let (class, fresh) = unsafe { ((*s).class as usize, (*s).fresh.addr()) };
        let info = crate::class::INFO.get(class)?;
        let (colours, stride) = (info.colours as usize, info.stride as usize);
        (0..colours)
            .map(|i| s.addr() + HEADER + i * LINE)
            .find(|&f| f <= fresh && (fresh - f) % stride == 0)
    }
}

impl<S: Source, R: Recorder> SlabHeap<S, R> {
    /// The allocation list holding free slots of `s` (invariant 9): class
    /// `class`'s, if `s` is its hot slab; null otherwise.
    #[cfg(any(debug_assertions, feature = "checking"))]
    pub(crate) fn hot_list_of(&self, s: *mut Slab, class: usize) -> *mut u8 {
        match self.hot.get(class) {
            Some(h) if h.slab == s => h.free,
            _ => ptr::null_mut(),
        }
    }
}

/// The single-threaded slab heap over a [`Source`].
///
/// `R` picks what it counts: [`Uncounted`] (the default) keeps only the
/// bytes reserved from the source; [`Counting`](polyalloc_core::Counting)
/// keeps every counter of [`Stats`].
///
/// See the [crate docs](crate) for what it is for, and `docs/slab.md` for
/// its layout and invariants.
pub struct SlabHeap<S: Source = DefaultSource, R: Recorder = Uncounted> {
    /// Each class's allocation list and hot slab (invariant 9): what an
    /// allocation reads first, so it comes first.
    hot: [Hot; CLASSES],
    /// Each class's available slabs (invariant 3).
    avail: [*mut Slab; CLASSES],
    /// The next colour each class gives a new slab.
    colour: [u16; CLASSES],
    /// Slabs whose every slot is handed out.
    full: *mut Slab,
    /// Empty slabs (invariant 4), newest first.
    pool: *mut Slab,
    /// The total span length of the pooled slabs.
    pool_bytes: usize,
    /// Live large spans.
    large: *mut Large,
    /// Free runs of slabs, by address (invariant 6).
    runs: *mut Run,
    /// Bytes reserved that nothing can use (invariant 7).
    stranded: usize,
    /// Spans of freed large blocks kept whole (invariant 8), newest first.
    cached: *mut Run,
    /// Their total length.
    cached_bytes: usize,
    /// How many bytes of empty slabs and cached spans to keep (invariants
    /// 4 and 8).
    retention: Retention,
    /// The tag stamped on every slab laid out from now on
    /// ([`set_owner`](Self::set_owner)).
    owner: *mut (),
    stats: R,
    source: S,
}

// SAFETY: the heap exclusively owns every span it points to; nothing else
// holds those pointers, so moving the heap to another thread moves that
// ownership. The source must be `Send` for the same reason.
unsafe impl<S: Source + Send, R: Recorder> Send for SlabHeap<S, R> {}

polyalloc_core::heap_constructors!(SlabHeap);

impl<S: Source, R: Recorder> SlabHeap<S, R> {
    /// An empty heap over `source` with the recorder `R` named by the type
    /// (`SlabHeap::<_, Counting>::with_recorder(source)`); for code generic
    /// over the recorder. Reserves nothing until the first allocation.
    #[must_use]
    pub const fn with_recorder(source: S) -> Self {
        Self {
            hot: [Hot::EMPTY; CLASSES],
            avail: [ptr::null_mut(); CLASSES],
            colour: [0; CLASSES],
            full: ptr::null_mut(),
            pool: ptr::null_mut(),
            pool_bytes: 0,
            large: ptr::null_mut(),
            runs: ptr::null_mut(),
            stranded: 0,
            cached: ptr::null_mut(),
            cached_bytes: 0,
            retention: Retention::new(),
            owner: ptr::null_mut(),
            stats: R::NEW,
            source,
        }
    }

    /// The source the heap takes spans from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Sets the *owner tag* this heap stamps on every slab it lays out from
    /// now on (null until set): an opaque pointer a front end that runs many
    /// slab heaps (a heap per thread, in `polyalloc-threads`) reads back
    /// from any small block with [`owner_of`](Self::owner_of), to find the
    /// heap a block belongs to without a lookup of its own. Set it before
    /// the first allocation, so every slab carries it.
    pub fn set_owner(&mut self, owner: *mut ()) {
        self.owner = owner;
    }

    /// The owner tag of the heap whose slab holds `ptr`: the tag that heap
    /// had when it laid the slab out ([`set_owner`](Self::set_owner)).
    /// One load, from the slab's header (found by masking the address).
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of some `SlabHeap` (any source, any recorder),
    /// allocated with a layout its slabs serve: non-zero, at most
    /// [`MAX_SMALL`](crate::MAX_SMALL) bytes, aligned to at most
    /// [`MAX_ALIGN`](crate::MAX_ALIGN). Another thread may be using that
    /// heap: only the tag, which does not change while a block of the slab
    /// is live, is read.
    #[inline(always)]
    #[must_use]
    pub unsafe fn owner_of(ptr: NonNull<u8>) -> *mut () {
        let s = slab_of(ptr.as_ptr());
        // SAFETY: a live small block lies in a live slab whose header is at
        // its address rounded down to `SLAB` (invariant 1); the `owner`
        // field is written only when the slab is laid out, when no block of
        // it is live, and read here without a reference to the header.
        unsafe { (&raw const (*s).owner).read() }
    }

    /// Allocates a block for a layout the slabs serve, skipping the
    /// large-object test: what a front end that routes by layout (as
    /// `polyalloc-threads` does) calls once it knows the layout is small.
    /// `None` when the source has no memory for a new slab.
    ///
    /// For a layout of zero size, above [`MAX_SMALL`](crate::MAX_SMALL)
    /// bytes or aligned above [`MAX_ALIGN`](crate::MAX_ALIGN) it answers as
    /// [`Heap::allocate`] does.
    #[inline(always)]
    pub fn allocate_small(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        match class_of(layout.size(), layout.align()) {
            Some(c) if layout.size() != 0 => {
                // SAFETY: `class_of` finds classes below `CLASSES`.
                let class = unsafe { Class::of_index(c) };
                self.allocate_class(class, layout.size())
            }
            _ => self.allocate(layout),
        }
    }

    /// Allocates a slot of class `class` ([`quick_class`](crate::quick_class)
    /// found it for the layout), counted as `size` bytes: the fast path of a
    /// front end that routes by layout and has the class in hand. `None`
    /// when the source has no memory for a new slab. The block is freed and
    /// resized with a layout of the class, as any small block is.
    #[inline(always)]
    pub fn allocate_class(&mut self, class: Class, size: usize) -> Option<NonNull<u8>> {
        // SAFETY: a `Class` is below `CLASSES` (it comes from the class
        // table or from `of_index`, whose callers promise it); said here so
        // that indexing the per-class lists needs no bounds check.
        unsafe { core::hint::assert_unchecked(class.index() < CLASSES) };
        let p = self.alloc_small(class.index())?;
        self.stats.record_alloc(size);
        Some(p)
    }

    /// Frees a block allocated with a layout the slabs serve (non-zero,
    /// at most [`MAX_SMALL`](crate::MAX_SMALL) bytes at most
    /// [`MAX_ALIGN`](crate::MAX_ALIGN)), skipping the large-object test:
    /// the counterpart of [`allocate_small`](Self::allocate_small).
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`], and `layout` is such a layout.
    #[inline(always)]
    pub unsafe fn deallocate_small(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(layout.size() != 0 && class_of(layout.size(), layout.align()).is_some());
        #[cfg(feature = "checking")]
        self.check_free(ptr.as_ptr(), layout);
        // The class from the slab's header, not from the layout: a front end
        // that routes frees by the block's owner has just read that line.
        // SAFETY: from the caller: a live slot of this heap, whose slab's
        // header names its class (invariant 1).
        unsafe {
            let c = (*slab_of(ptr.as_ptr())).class as usize;
            // The slab of a live slot serves that slot's class, below
            // `CLASSES` (invariant 1: only a pooled slab reads `POOLED`):
            // said so that indexing the per-class lists needs no bounds
            // check.
            core::hint::assert_unchecked(c < CLASSES);
            self.free_small_unbranched(ptr.as_ptr(), c);
        }
        self.stats.record_dealloc(layout.size());
    }

    /// Bytes in empty slabs kept for reuse (the pool).
    #[must_use]
    pub fn pooled_bytes(&self) -> usize {
        self.pool_bytes
    }

    /// The number of slabs serving a class (in use or kept by their class),
    /// and of live large blocks: a walk of the lists, for tests and
    /// diagnostics.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        let mut slabs = 0;
        self.for_each_slab(|_| slabs += 1);
        let mut large = 0;
        let mut l = self.large;
        while !l.is_null() {
            large += 1;
            // SAFETY: every header on the large list is live.
            l = unsafe { (*l).next };
        }
        (slabs, large)
    }

    /// Calls `f` on every slab serving a class (the available lists and the
    /// full list).
    pub(crate) fn for_each_slab(&self, mut f: impl FnMut(*mut Slab)) {
        let mut walk = |mut s: *mut Slab| {
            while !s.is_null() {
                f(s);
                // SAFETY: every slab on a list is live.
                s = unsafe { (*s).next };
            }
        };
        for &head in &self.avail {
            walk(head);
        }
        walk(self.full);
    }

    // ---- lists ---------------------------------------------------------

    /// Puts `s` at the head of the list at `head`.
    ///
    /// # Safety
    ///
    /// `s` is a live slab on no list; `head` is one of this heap's list
    /// heads.
    #[inline(always)]
    unsafe fn push(head: &mut *mut Slab, s: *mut Slab) {
        // SAFETY: `s` and the current head are live slab headers.
        unsafe {
            (*s).next = *head;
            (*s).prev = ptr::null_mut();
            if !head.is_null() {
                (**head).prev = s;
            }
        }
        *head = s;
    }

    /// Takes `s` off the list at `head`.
    ///
    /// # Safety
    ///
    /// `s` is on the list at `head`.
    #[inline(always)]
    unsafe fn unlink(head: &mut *mut Slab, s: *mut Slab) {
        // SAFETY: `s` and its neighbours are live slab headers.
        unsafe {
            let (next, prev) = ((*s).next, (*s).prev);
            if !next.is_null() {
                (*next).prev = prev;
            }
            if prev.is_null() {
                *head = next;
            } else {
                (*prev).next = next;
            }
        }
    }

    // ---- small blocks --------------------------------------------------

    /// Hands out a slot of class `c`: the first on the class's allocation
    /// list, which lives in the heap (invariant 9), so the slab's header is
    /// not read; a refill when the list is empty.
    #[inline(always)]
    fn alloc_small(&mut self, c: usize) -> Option<NonNull<u8>> {
        let p = self.hot[c].free;
        if p.is_null() {
            return self.refill(c);
        }
        // SAFETY: a slot on the allocation list is a free, carved slot of
        // the hot slab; its first word is the next slot on the list
        // (invariant 9).
        let next = unsafe { p.cast::<*mut u8>().read() };
        #[cfg(feature = "checking")]
        // SAFETY: `p` was the head of the hot slab's allocation list,
        // poisoned when it went on it.
        unsafe {
            Self::check_reuse(self.hot[c].slab, p, next, c);
        }
        self.hot[c].free = next;
        // SAFETY: `p` is not null (tested above).
        Some(unsafe { NonNull::new_unchecked(p) })
    }

    /// Class `c`'s allocation list is empty: makes the first slab of its
    /// list with a free slot the hot slab, hands out one of its free slots
    /// and moves the others to the allocation list: the slab's whole free
    /// list if it has one, else the never-used slots from `fresh` to the
    /// end of that page (`CARVE_PAGE`). `None` when no slab has a free
    /// slot and the source has no memory for a new one.
    #[inline(never)]
    fn refill(&mut self, c: usize) -> Option<NonNull<u8>> {
        let mut s = self.avail[c];
        // SAFETY: the head of class `c`'s list, when not null, is a live
        // slab.
        if s.is_null() || unsafe { Slab::used(s) == (*s).cap } {
            // This may move the old hot slab to the full list; it is not
            // hot past this point either way: the next line names another,
            // or no slab was found, which happens only after `new_slab`
            // flushed every allocation list (invariant 9).
            s = self.next_available(c)?;
        }
        self.hot[c].slab = s;
        // SAFETY: `s` is a live slab of class `c` with a free slot; the
        // allocation list is empty, so every carved slot of `s` is on its
        // free list or handed out, and `used` counts the handed-out ones
        // (invariants 2 and 9). Slots moved to the allocation list are
        // counted in `used` from here on.
        unsafe {
            let used = Slab::used(s);
            let p = (*s).free;
            let carved = (*s).carved;
            if !p.is_null() {
                // The list holds every carved slot not handed out (the
                // count, not a walk: a walk would miss on every slot now
                // and again when it is handed out).
                let next = p.cast::<*mut u8>().read();
                #[cfg(feature = "checking")]
                Self::check_reuse(s, p, next, c);
                (*s).free = ptr::null_mut();
                (*s).used = carved;
                self.hot[c].free = next;
                return Some(NonNull::new_unchecked(p));
            }
            // Nothing freed: every carved slot is handed out, and the
            // slots from `fresh` on, `cap - carved` of them, have never
            // been used.
            let stride = INFO[c].stride as usize;
            let left = usize::from((*s).cap - carved);
            let p = (*s).fresh;
            // `p` is handed out; the `k` slots after it that start in its
            // page (at most `left - 1` of them) are linked in order, the
            // last to null.
            let next = p.addr() + stride;
            let page_end = (p.addr() | (CARVE_PAGE - 1)) + 1;
            let k = page_end.saturating_sub(next).div_ceil(stride).min(left - 1);
            let mut q = p.add(stride);
            for i in 0..k {
                let link = if i + 1 == k {
                    ptr::null_mut()
                } else {
                    q.add(stride)
                };
                q.cast::<*mut u8>().write(link);
                #[cfg(feature = "checking")]
                Self::poison_slot(q, c);
                q = q.add(stride);
            }
            self.hot[c].free = if k == 0 {
                ptr::null_mut()
            } else {
                p.add(stride)
            };
            // `k + 1 <= left`, which fits the 16-bit counts.
            let n = (k + 1) as u16;
            (*s).fresh = q;
            (*s).carved = carved + n;
            (*s).used = used + n;
            Some(NonNull::new_unchecked(p))
        }
    }

    /// The head of class `c`'s list is full or there is none: moves full
    /// slabs at the head to the full list, and returns the first slab with
    /// a free slot, a new one if none is left.
    #[cold]
    #[inline(never)]
    fn next_available(&mut self, c: usize) -> Option<*mut Slab> {
        loop {
            let s = self.avail[c];
            if s.is_null() {
                return self.new_slab(c);
            }
            // SAFETY: the head of a class list is a live slab; a full one
            // moves to the full list and is marked so (invariant 3).
            unsafe {
                if (*s).used != (*s).cap {
                    return Some(s);
                }
                Self::unlink(&mut self.avail[c], s);
                Self::push(&mut self.full, s);
                (*s).on_full = true;
            }
        }
    }

    /// Takes the slot at `p`, of class `c`, back: onto the class's
    /// allocation list if its slab is the hot slab (the header is not
    /// touched), else onto its slab's free list.
    ///
    /// # Safety
    ///
    /// `p` is a slot of class `c` handed out by this heap and not freed
    /// since.
    #[inline(always)]
    unsafe fn free_small(&mut self, p: *mut u8, c: usize) {
        let s = slab_of(p);
        // SAFETY: `p` is a handed-out slot, so `s` is its live slab
        // (invariant 1).
        debug_assert_eq!(unsafe { (*s).class } as usize, c);
        #[cfg(feature = "checking")]
        // SAFETY: `p` is a slot of class `c`, free from here on.
        unsafe {
            Self::poison_slot(p, c);
        }
        let hot = &mut self.hot[c];
        if hot.slab == s {
            // SAFETY: `p` is a free slot of the hot slab, already counted
            // in its `used` (invariant 9); its first word is ours to link.
            unsafe { p.cast::<*mut u8>().write(hot.free) };
            hot.free = p;
            return;
        }
        // SAFETY: as above; `s` is on the list its state says (invariant
        // 3).
        unsafe { self.free_to_slab(p, s, c) };
    }

    /// [`free_small`](Self::free_small) for a caller that has read the
    /// slab's header anyway (`deallocate_small`): whether the slot goes on
    /// the allocation list or on its slab's free list is picked without a
    /// branch, and `used` drops by one for a slab that is not hot.
    ///
    /// Whether a freed block lies in its class's hot slab depends on the
    /// block's age, so with blocks freed at random (larson, any long-lived
    /// set replaced at random) that branch went either way: a third of
    /// these frees mispredicted it, more than half of all the mispredicted
    /// branches of a larson run under `ThreadAlloc`. The tests below it
    /// (a full slab's move, an empty slab leaving) are rarely true.
    ///
    /// # Safety
    ///
    /// As for [`free_small`](Self::free_small).
    #[inline(always)]
    unsafe fn free_small_unbranched(&mut self, p: *mut u8, c: usize) {
        let s = slab_of(p);
        #[cfg(feature = "checking")]
        // SAFETY: `p` is a slot of class `c`, free from here on.
        unsafe {
            Self::poison_slot(p, c);
        }
        // SAFETY: `p` is a handed-out slot of the live slab `s` (invariant
        // 1), counted in its `used`, on no list; `s` is on the list its
        // state says (invariant 3). A hot slab's slot goes on the
        // allocation list and its `used` stays (invariant 9); a hot slab
        // never empties, and one on the full list stays there while hot.
        unsafe {
            let hot = &raw mut self.hot[c];
            let is_hot = (*hot).slab == s;
            let head: *mut *mut u8 = if is_hot {
                &raw mut (*hot).free
            } else {
                &raw mut (*s).free
            };
            p.cast::<*mut u8>().write(*head);
            *head = p;
            let used = Slab::used(s) - u16::from(!is_hot);
            (*s).used = used;
            // Neither test of `freed_from` needs `is_hot`: a hot slab is
            // never on the full list and its `used` never reaches 0
            // (invariant 9).
            self.freed_from(s, c, used);
        }
    }

    /// Puts the slot at `p` on its slab `s`'s free list, and moves the slab
    /// to the list its new state calls for.
    ///
    /// # Safety
    ///
    /// `p` is a slot of class `c` of the live slab `s`, counted in its
    /// `used`, on no free list.
    #[inline(always)]
    unsafe fn free_to_slab(&mut self, p: *mut u8, s: *mut Slab, c: usize) {
        // SAFETY: from the caller; `s` is on the list its state says
        // (invariant 3).
        unsafe {
            p.cast::<*mut u8>().write((*s).free);
            (*s).free = p;
            let used = Slab::used(s) - 1;
            (*s).used = used;
            self.freed_from(s, c, used);
        }
    }

    /// A free has just lowered slab `s`'s `used` to `used`: moves the slab
    /// from the full list back to its class, or out of its class if it is
    /// now empty.
    ///
    /// # Safety
    ///
    /// `s` is a live slab of class `c`, on the list its state said before
    /// the free (invariant 3).
    #[inline(always)]
    unsafe fn freed_from(&mut self, s: *mut Slab, c: usize, used: u16) {
        // SAFETY: from the caller.
        unsafe {
            if (*s).on_full {
                // Every slab holds at least two slots, so it is not empty.
                Self::unlink(&mut self.full, s);
                (*s).on_full = false;
                Self::push(&mut self.avail[c], s);
            } else if used == 0 && !(self.avail[c] == s && (*s).next.is_null()) {
                // A slab that empties while it is its class's only
                // available one stays (invariant 3), tested here so a
                // class that frees and allocates one block over and over
                // never makes the call.
                self.slab_emptied(s, c);
            }
        }
    }

    /// Gives every allocation list's slots back to their slabs' free lists
    /// and leaves no class with a hot slab, so a slab whose blocks are all
    /// free shows as empty (before a trim).
    fn flush_hot(&mut self) {
        for c in 0..CLASSES {
            let Hot { mut free, slab } = self.hot[c];
            self.hot[c] = Hot::EMPTY;
            while !free.is_null() {
                // SAFETY: a slot on the allocation list is a free slot of
                // the hot slab, counted in its `used`, on no free list
                // (invariant 9), which stops holding once it is cleared.
                unsafe {
                    let next = free.cast::<*mut u8>().read();
                    self.free_to_slab(free, slab, c);
                    free = next;
                }
            }
        }
    }

    /// A slab of class `c` became empty: it leaves its class for the pool,
    /// unless it is the class's only available slab.
    ///
    /// # Safety
    ///
    /// `s` is a live, empty slab on class `c`'s list, not its only slab.
    #[cold]
    unsafe fn slab_emptied(&mut self, s: *mut Slab, c: usize) {
        // SAFETY: `s` is on class `c`'s list.
        unsafe {
            Self::unlink(&mut self.avail[c], s);
            self.retire(s);
        }
    }

    /// Bytes kept unused for reuse: pooled slabs and cached large spans.
    fn kept_bytes(&self) -> usize {
        self.pool_bytes + self.cached_bytes
    }

    /// A span of `len` bytes has just emptied: how many bytes of empty
    /// slabs and cached spans the retention policy keeps now.
    fn keep(&mut self, len: usize) -> usize {
        let in_use = self
            .stats
            .bytes_reserved()
            .saturating_sub(self.kept_bytes() + len);
        self.retention.emptied(len, in_use)
    }

    /// Puts an empty slab, on no list, in the pool; with a source that takes
    /// memory back and the pool and cache already holding what the
    /// retention policy keeps, gives it back instead.
    ///
    /// # Safety
    ///
    /// `s` is a live slab on no list, none of whose slots is handed out.
    unsafe fn retire(&mut self, s: *mut Slab) {
        // SAFETY: `s` is a live slab header.
        let len = unsafe { (*s).span_len };
        if self.source.can_release() && self.kept_bytes() + len > self.keep(len) {
            // SAFETY: the slab's span is as the source handed it out, and
            // nothing in it is used again.
            let whole = unsafe { Span::new(NonNull::new_unchecked((*s).span), len) };
            // SAFETY: as above.
            if unsafe { self.source.release(whole) } {
                self.stats.record_release(len);
                return;
            }
        }
        // SAFETY: `s` is live and on no list.
        unsafe {
            (*s).class = POOLED;
            (*s).on_full = false;
            (*s).used = 0;
            Self::push(&mut self.pool, s);
        }
        self.pool_bytes += len;
    }

    /// Gets an empty slab for class `c` (from the pool, a run, or the
    /// source), lays it out and puts it on the class's list.
    #[cold]
    #[inline(never)]
    fn new_slab(&mut self, c: usize) -> Option<*mut Slab> {
        if self.pool.is_null() {
            if let Some(s) = self.fresh_slab() {
                return Some(self.lay_out(s, c));
            }
            // No memory for a slab: any slab whose every slot is free (a
            // hot one, or one its class kept) can serve instead.
            self.flush_hot();
            self.pool_class_empties();
            if self.pool.is_null() {
                return None;
            }
        }
        let s = self.pool;
        // SAFETY: the pool's head is a live, pooled slab.
        unsafe {
            Self::unlink(&mut self.pool, s);
            self.pool_bytes -= (*s).span_len;
        }
        Some(self.lay_out(s, c))
    }

    /// Lays the empty slab `s`, on no list, out for class `c` and puts it
    /// on the class's list.
    fn lay_out(&mut self, s: *mut Slab, c: usize) -> *mut Slab {
        let info = INFO[c];
        let colour = self.colour[c] as usize;
        self.colour[c] = if colour + 1 >= info.colours as usize {
            0
        } else {
            colour as u16 + 1
        };
        // SAFETY: `s` is a live slab on no list; the first slot and all
        // `cap` slots after it fit in the slab (the colour count leaves
        // room for them).
        unsafe {
            let first = s.cast::<u8>().add(HEADER + colour * LINE);
            (*s).free = ptr::null_mut();
            (*s).fresh = first;
            (*s).used = 0;
            (*s).cap = info.cap;
            (*s).carved = 0;
            (*s).class = c as u8;
            (*s).on_full = false;
            (*s).owner = self.owner;
            Self::push(&mut self.avail[c], s);
        }
        s
    }

    /// A slab's worth of memory not yet used: cut from a run, or from a new
    /// span. Its header records the span to give back.
    fn fresh_slab(&mut self) -> Option<*mut Slab> {
        if let Some(base) = self.take_run(SLAB) {
            let s = header_at(base);
            // SAFETY: the run's front slab is ours and unused.
            unsafe {
                (*s).span = base;
                (*s).span_len = SLAB;
            }
            return Some(s);
        }
        let (span, base) = self.acquire_aligned(SLAB, SLAB)?;
        let span_len = self.keep_rest(span, base, SLAB);
        let s = header_at(base);
        // SAFETY: `base` starts `SLAB` bytes of the new span, unused.
        unsafe {
            (*s).span = if span_len == SLAB {
                base
            } else {
                span.ptr().as_ptr()
            };
            (*s).span_len = span_len;
        }
        Some(s)
    }

    // ---- spans and runs --------------------------------------------------

    /// Asks the source for `size` bytes aligned to `align` and returns the
    /// span as handed out and the aligned start in it. Miri cannot unmap
    /// part of a mapping, which is how `mmap` meets alignments above a page,
    /// so under Miri a source that takes memory back is asked for `size +
    /// align` bytes at page alignment instead.
    ///
    /// A source that refuses (a capped process, a memory limit) may still
    /// have room for what the heap keeps unused: the empty slabs and cached
    /// large spans are then given back and the request tried once more, so
    /// memory kept for speed never makes a request fail.
    fn acquire_aligned(&mut self, size: usize, align: usize) -> Option<(Span, *mut u8)> {
        let span = match self.acquire_raw(size, align) {
            Some(span) => span,
            None if self.trim() != 0 => self.acquire_raw(size, align)?,
            None => return None,
        };
        self.stats.record_reserve(span.len());
        let start = align_up(span.start(), align)?;
        // SAFETY: the span holds `size` bytes from its first `align`ed byte
        // (it was asked for them).
        let base = unsafe { span.ptr().as_ptr().add(start - span.start()) };
        Some((span, base))
    }

    /// The source's span for `size` bytes at `align` (see
    /// [`acquire_aligned`](Self::acquire_aligned) for Miri).
    fn acquire_raw(&mut self, size: usize, align: usize) -> Option<Span> {
        if cfg!(miri) && align > MIRI_PAGE && self.source.can_release() {
            self.source.acquire(size.checked_add(align)?, MIRI_PAGE)
        } else {
            self.source.acquire(size, align)
        }
    }

    /// Decides what of a new `span` holding `used` bytes at `base` belongs
    /// to the user of those bytes; returns its length. With a source that
    /// takes memory back, the whole span (it goes back whole). Otherwise
    /// the whole slabs after the used bytes become a run, and any other
    /// bytes are stranded.
    fn keep_rest(&mut self, span: Span, base: *mut u8, used: usize) -> usize {
        if self.source.can_release() {
            return span.len();
        }
        let head = base.addr() - span.start();
        let after = span.len() - head - used;
        let whole = after & !(SLAB - 1);
        self.stranded += head + (after - whole);
        if whole != 0 && (base.addr() + used) % SLAB == 0 {
            // SAFETY: the `whole` bytes after the used ones are ours,
            // unused, at a multiple of `SLAB`.
            unsafe { self.insert_run(base.add(used), whole) };
        } else {
            self.stranded += whole;
        }
        used
    }

    /// Cuts `len` bytes (a multiple of [`SLAB`]) from the front of the
    /// first run that long; `None` when there is none.
    fn take_run(&mut self, len: usize) -> Option<*mut u8> {
        let mut link: *mut *mut Run = &raw mut self.runs;
        // SAFETY: `link` points at the head or at a live run's `next`; every
        // run on the list is live (invariant 6).
        unsafe {
            while !(*link).is_null() {
                let r = *link;
                let rlen = (*r).len;
                if rlen >= len {
                    if rlen == len {
                        *link = (*r).next;
                    } else {
                        let rest = r.cast::<u8>().add(len).cast::<Run>();
                        (*rest).next = (*r).next;
                        (*rest).len = rlen - len;
                        *link = rest;
                    }
                    return Some(r.cast());
                }
                link = &raw mut (*r).next;
            }
        }
        None
    }

    /// Adds `len` bytes at `base` as a run, merged with the runs just before
    /// and after it when they touch.
    ///
    /// # Safety
    ///
    /// `len` bytes at `base` are ours, unused and in no run; `base` and
    /// `len` are multiples of [`SLAB`].
    unsafe fn insert_run(&mut self, base: *mut u8, len: usize) {
        let mut prev: *mut Run = ptr::null_mut();
        let mut next = self.runs;
        // SAFETY: every run on the list is live; `base` is ours.
        unsafe {
            while !next.is_null() && next.addr() < base.addr() {
                prev = next;
                next = (*next).next;
            }
            let r = base.cast::<Run>();
            (*r).len = len;
            (*r).next = next;
            if !next.is_null() && base.addr() + len == next.addr() {
                (*r).len += (*next).len;
                (*r).next = (*next).next;
            }
            if prev.is_null() {
                self.runs = r;
            } else if prev.addr() + (*prev).len == base.addr() {
                (*prev).len += (*r).len;
                (*prev).next = (*r).next;
            } else {
                (*prev).next = r;
            }
        }
    }

    /// Moves every pooled slab to the runs, where they merge into spans
    /// long enough for large blocks (sources that cannot take memory back).
    fn pool_to_runs(&mut self) {
        while !self.pool.is_null() {
            let s = self.pool;
            // SAFETY: the pool holds live, empty slabs, each `SLAB` bytes at
            // a multiple of `SLAB` with this source.
            unsafe {
                Self::unlink(&mut self.pool, s);
                self.pool_bytes -= (*s).span_len;
                self.insert_run(base_of(s), SLAB);
            }
        }
    }

    // ---- large blocks ----------------------------------------------------

    /// Allocates a large block for `layout`: a span of its own.
    #[cold]
    #[inline(never)]
    fn alloc_large(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let align = layout.align();
        let offset = large_offset(align);
        let need = offset.checked_add(layout.size())?;
        if need > isize::MAX as usize / 2 {
            return None;
        }
        let (h, span, span_len) = if self.source.can_release() {
            if let Some(found) = self.take_cached(need, align.max(HEADER)) {
                found
            } else {
                let (span, h) = self.acquire_aligned(need, align.max(HEADER))?;
                (h, span.ptr().as_ptr(), span.len())
            }
        } else {
            let len = align_up(need, SLAB)?;
            let h = self.large_from_runs(len, align).or_else(|| {
                let (span, base) = self.acquire_aligned(len, align.max(SLAB))?;
                self.keep_rest(span, base, len);
                Some(base)
            })?;
            (h, h, len)
        };
        let l = h.cast::<Large>();
        // SAFETY: `h` starts at least `need` bytes of ours, unused, aligned
        // to `max(align, HEADER)`.
        unsafe {
            (*l).span = span;
            (*l).span_len = span_len;
            (*l).offset = offset;
            (*l).prev = ptr::null_mut();
            (*l).next = self.large;
            if !self.large.is_null() {
                (*self.large).prev = l;
            }
            self.large = l;
            Some(NonNull::new_unchecked(h.add(offset)))
        }
    }

    /// A cached span holding `need` bytes at a multiple of `align`, at most
    /// twice as long as `need`: taken off the cache, as `(start, span,
    /// span length)`.
    fn take_cached(&mut self, need: usize, align: usize) -> Option<(*mut u8, *mut u8, usize)> {
        let mut link: *mut *mut Run = &raw mut self.cached;
        // SAFETY: `link` points at the head or at a live cached span's
        // `next`; every span on the list is live (invariant 8).
        unsafe {
            while !(*link).is_null() {
                let r = *link;
                let len = (*r).len;
                let start = align_up(r.addr(), align)?;
                let end = r.addr() + len;
                if start.checked_add(need).is_some_and(|e| e <= end) && len / 2 <= need {
                    *link = (*r).next;
                    self.cached_bytes -= len;
                    let span = r.cast::<u8>();
                    return Some((span.add(start - r.addr()), span, len));
                }
                link = &raw mut (*r).next;
            }
        }
        None
    }

    /// Gives every cached span back to the source.
    fn release_cached(&mut self) {
        while !self.cached.is_null() {
            let r = self.cached;
            // SAFETY: a cached span is live, unused, and exactly as the
            // source handed it out; it is not used again once released.
            unsafe {
                self.cached = (*r).next;
                let len = (*r).len;
                self.cached_bytes -= len;
                let whole = Span::new(NonNull::new_unchecked(r.cast()), len);
                if self.source.release(whole) {
                    self.stats.record_release(len);
                } else {
                    self.stranded += len;
                }
            }
        }
    }

    /// `len` bytes (a multiple of [`SLAB`]) from the runs, merging the pool
    /// into them when no run is long enough; only for alignments up to a
    /// slab.
    fn large_from_runs(&mut self, len: usize, align: usize) -> Option<*mut u8> {
        if align > SLAB {
            return None;
        }
        if let Some(h) = self.take_run(len) {
            return Some(h);
        }
        // Hot slabs whose slots are all free count as empty once their
        // allocation lists go back (a step per listed slot, on a request
        // that is about to merge slabs or grow the heap anyway).
        self.flush_hot();
        self.pool_class_empties();
        if self.pool.is_null() {
            return None;
        }
        self.pool_to_runs();
        self.take_run(len)
    }

    /// Frees the large block with header `l`.
    ///
    /// # Safety
    ///
    /// `l` is the header of a live large block, on the large list, whose
    /// block is not used again.
    unsafe fn free_large(&mut self, l: *mut Large) {
        // SAFETY: `l` and its neighbours are live large headers.
        unsafe {
            let (next, prev) = ((*l).next, (*l).prev);
            if !next.is_null() {
                (*next).prev = prev;
            }
            if prev.is_null() {
                self.large = next;
            } else {
                (*prev).next = next;
            }
            let (span, len) = ((*l).span, (*l).span_len);
            self.give_back(span, len);
        }
    }

    /// Gives a span no block uses back to a source that takes memory back,
    /// or keeps it as a run.
    ///
    /// # Safety
    ///
    /// `len` bytes at `span` are a span as the source handed it out (with a
    /// source that takes memory back) or whole slabs at a multiple of
    /// [`SLAB`] (otherwise), unused and on no list.
    unsafe fn give_back(&mut self, span: *mut u8, len: usize) {
        if self.source.can_release() {
            if self.kept_bytes() + len <= self.keep(len) {
                let r = span.cast::<Run>();
                // SAFETY: the span is ours, unused, and at least a header
                // long (it held one).
                unsafe {
                    (*r).next = self.cached;
                    (*r).len = len;
                }
                self.cached = r;
                self.cached_bytes += len;
                return;
            }
            // SAFETY: forwarded from the caller.
            let whole = unsafe { Span::new(NonNull::new_unchecked(span), len) };
            // SAFETY: as above.
            if unsafe { self.source.release(whole) } {
                self.stats.record_release(len);
            } else {
                self.stranded += len;
            }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.insert_run(span, len) };
        }
    }

    /// The header of the large block at `p` allocated with alignment
    /// `align`.
    #[inline(always)]
    fn large_header(p: *mut u8, align: usize) -> *mut Large {
        p.wrapping_sub(large_offset(align)).cast()
    }

    /// Gives every empty slab (the pool's, and those kept by their class)
    /// back to a source that takes memory back, if it does (`mmap`; not
    /// wasm32's `memory.grow` or a region), and returns the bytes released.
    /// Frees keep up to 4 MiB of empty slabs for reuse, so a program that
    /// frees everything and starts again does not fault its pages in anew;
    /// `trim` is for a program that knows it is done with them (as
    /// `malloc_trim` is).
    ///
    /// On a [`LockedHeap`](polyalloc_core::LockedHeap) (a `SlabAlloc`),
    /// call it through `lock_heap`.
    pub fn trim(&mut self) -> usize {
        if !self.source.can_release() {
            return 0;
        }
        self.flush_hot();
        self.pool_class_empties();
        self.retention.forget();
        let before = self.stats.bytes_reserved();
        self.release_pool();
        self.release_cached();
        before - self.stats.bytes_reserved()
    }

    /// Moves the empty slabs classes keep (invariant 3) to the pool, beyond
    /// its bound if need be (the caller releases or merges them next).
    fn pool_class_empties(&mut self) {
        for c in 0..CLASSES {
            let mut s = self.avail[c];
            while !s.is_null() {
                // SAFETY: a class list's slabs are live; an empty one holds
                // no handed-out slot.
                unsafe {
                    let next = (*s).next;
                    if (*s).used == 0 {
                        Self::unlink(&mut self.avail[c], s);
                        Self::push(&mut self.pool, s);
                        (*s).class = POOLED;
                        self.pool_bytes += (*s).span_len;
                    }
                    s = next;
                }
            }
        }
    }

    /// Gives every pooled slab back to a source that takes memory back.
    fn release_pool(&mut self) {
        if !self.source.can_release() {
            return;
        }
        let mut s = self.pool;
        while !s.is_null() {
            // SAFETY: pooled slabs are live and empty; once released they
            // are not used again.
            unsafe {
                let next = (*s).next;
                let (span, len) = ((*s).span, (*s).span_len);
                Self::unlink(&mut self.pool, s);
                self.pool_bytes -= len;
                let whole = Span::new(NonNull::new_unchecked(span), len);
                if self.source.release(whole) {
                    self.stats.record_release(len);
                } else {
                    Self::push(&mut self.pool, s);
                    self.pool_bytes += len;
                }
                s = next;
            }
        }
    }

    /// Empties every slab into the pool and frees every large block.
    fn clear(&mut self) {
        // Every slot is forgotten, those on the allocation lists too.
        self.hot = [Hot::EMPTY; CLASSES];
        let mut slabs: *mut Slab = ptr::null_mut();
        // Gather first: `retire` changes the lists being walked.
        for c in 0..CLASSES {
            let mut s = self.avail[c];
            self.avail[c] = ptr::null_mut();
            while !s.is_null() {
                // SAFETY: the slabs were on a list, now detached.
                unsafe {
                    let next = (*s).next;
                    Self::push(&mut slabs, s);
                    s = next;
                }
            }
        }
        let mut s = self.full;
        self.full = ptr::null_mut();
        while !s.is_null() {
            // SAFETY: as above.
            unsafe {
                let next = (*s).next;
                Self::push(&mut slabs, s);
                s = next;
            }
        }
        while !slabs.is_null() {
            let s = slabs;
            // SAFETY: `s` is live, on the gathering list only; its slots
            // are all forgotten.
            unsafe {
                Self::unlink(&mut slabs, s);
                self.retire(s);
            }
        }
        while !self.large.is_null() {
            // SAFETY: the head of the large list is live; its block is
            // forgotten.
            unsafe { self.free_large(self.large) };
        }
    }
}

// SAFETY: slots are carved from slabs of spans the source handed out, one
// class per slab, never overlapping (invariant 2): `alloc_small` hands out a
// free slot, and only freed slots go back on a free list. A slot of class
// `c` is at least `class_size(c)` long and aligned to the class's alignment,
// which `class_of` makes at least the layout's. A large block lies in a span
// of its own. A failed request returns before changing any block. No method
// panics: sizes are checked against `MAX_SMALL` or `isize::MAX` before any
// arithmetic that could overflow, and every table index is a class.
unsafe impl<S: Source, R: Recorder> Heap for SlabHeap<S, R> {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return Some(dangling(layout.align()));
        }
        let p = match class_of(layout.size(), layout.align()) {
            Some(c) => self.alloc_small(c)?,
            None => self.alloc_large(layout)?,
        };
        self.stats.record_alloc(layout.size());
        Some(p)
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            // A zero-size block is a dangling pointer (see `allocate`).
            return;
        }
        #[cfg(feature = "checking")]
        self.check_free(ptr.as_ptr(), layout);
        match class_of(layout.size(), layout.align()) {
            // SAFETY: `ptr` is a live block allocated with `layout`, so a
            // slot of this class (the class depends on the layout alone).
            Some(c) => unsafe { self.free_small(ptr.as_ptr(), c) },
            // SAFETY: likewise a large block, whose header is found from
            // the layout's alignment.
            None => unsafe { self.free_large(Self::large_header(ptr.as_ptr(), layout.align())) },
        }
        self.stats.record_dealloc(layout.size());
    }

    #[inline]
    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.shrink_in_place(ptr, old, new) }
    }

    #[inline]
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // A zero-size block is dangling, and a block resized to nothing must
        // become dangling: both take a move.
        if old.size() == 0 || new.size() == 0 {
            return false;
        }
        let stays = match (
            class_of(old.size(), old.align()),
            class_of(new.size(), new.align()),
        ) {
            // The same class: the slot serves the new layout as it is.
            (Some(a), Some(b)) => a == b,
            (None, None) => {
                let offset = large_offset(old.align());
                let l = Self::large_header(ptr.as_ptr(), old.align());
                // SAFETY: `ptr` is a live large block allocated with `old`,
                // so `l` is its header.
                let room = unsafe { (*l).span.addr() + (*l).span_len - ptr.as_ptr().addr() };
                // The header must be found the same way from `new`, and the
                // block must fit its span.
                large_offset(new.align()) == offset
                    && polyalloc_core::heap::fits_alignment(ptr, new)
                    && new.size() <= room
            }
            _ => false,
        };
        if stays {
            self.stats.record_realloc(old.size(), new.size());
        }
        stays
    }

    /// Whether `ptr` lies in a slab holding at least one live block, or in
    /// the span of a live large block. This is an answer by address range,
    /// as routing a free needs: it is true for every byte of every live
    /// block, false for memory the heap does not hold and for empty slabs
    /// (after a reset, every slab), and may be true for free slots of a
    /// slab in use. Costs a step per slab in use and per large block.
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        let base = addr & !(SLAB - 1);
        let mut found = false;
        self.for_each_slab(|s| {
            // SAFETY: every slab on a list is live.
            found |=
                base_of(s).addr() == base && addr >= s.addr() + HEADER && unsafe { (*s).used } != 0;
        });
        if found {
            return true;
        }
        let mut l = self.large;
        while !l.is_null() {
            // SAFETY: every header on the large list is live.
            unsafe {
                let start = l.addr() + (*l).offset;
                if addr >= start && addr < (*l).span.addr() + (*l).span_len {
                    return true;
                }
                l = (*l).next;
            }
        }
        false
    }

    fn reset(&mut self) {
        self.stats.forget(0, 0);
        self.clear();
    }

    fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    fn check(&self) -> Result<(), CheckError> {
        #[cfg(debug_assertions)]
        {
            self.check_invariants()
        }
        #[cfg(not(debug_assertions))]
        {
            Ok(())
        }
    }
}

impl<S: Source, R: Recorder> Drop for SlabHeap<S, R> {
    fn drop(&mut self) {
        // Everything goes back to a source that takes it; the rest is the
        // source's to keep (a region) or the module's for good (wasm32).
        if self.source.can_release() {
            self.clear();
            self.release_pool();
            self.release_cached();
        }
    }
}

impl<S: Source, R: Recorder> fmt::Debug for SlabHeap<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (slabs, large) = self.counts();
        f.debug_struct("SlabHeap")
            .field("slabs", &slabs)
            .field("large", &large)
            .field("pooled_bytes", &self.pool_bytes)
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}

#[cfg(debug_assertions)]
mod check;
#[cfg(feature = "checking")]
mod checking;
#[cfg(test)]
mod tests;
