//! The free-list strategy core: two-level segregated fit (TLSF) with
//! boundary tags.
//!
//! Memory comes from the source in *spans*. A span starts with a
//! [`SpanHeader`], holds a run of *blocks* and ends with a *fence*: a header
//! word marked used, so no merge ever walks off the span. A block is a
//! header word followed by its payload; the header holds the block's size
//! (a multiple of [`GRAN`]) and two flags, `USED` and `PREV_USED`. A free
//! block also keeps its list links in its first payload words and a copy of
//! its size (the *footer*) in its last word, so the block after it can find
//! its start. A used block has no footer: its payload runs to the next
//! header, and the one word of header is its only overhead.
//!
//! Free blocks are kept in `FL_COUNT × SL_COUNT` doubly linked lists (*bins*).
//! Sizes below [`LINEAR`] have a bin each (one per granule); above it, each
//! power of two is split into [`SL_COUNT`] equal ranges. A bit per non-empty
//! bin in `sl_bitmap[fl]`, and a bit per non-empty row in `fl_bitmap`, find
//! the smallest non-empty bin at or above a size with two bit scans.
//!
//! # Invariants
//!
//! 1. **Layout.** Every span starts at a multiple of [`GRAN`] and its length
//!    is a multiple of [`GRAN`]. Its first block starts [`SPAN_HEADER`] bytes
//!    in; its fence is its last word. Blocks tile the span exactly: each
//!    block's size is a multiple of [`GRAN`], at least [`MIN_BLOCK`], and
//!    the next block (or the fence) starts where it ends. Every payload is
//!    therefore aligned to [`GRAN`].
//! 2. **Flags.** A block's `PREV_USED` flag is set exactly when the block
//!    before it is used; the first block of a span has it set. The fence is
//!    `USED | FENCE` and holds the span's length.
//! 3. **Coalescing.** No two free blocks are adjacent.
//! 4. **Footers.** A free block's last word equals its size.
//! 5. **Bins.** Every free block but one is on exactly one list, the bin of
//!    its size ([`bin_of`]); nothing else is on any list. `prev` links mirror
//!    `next` links, and a list's head has a null `prev`. The exception is the
//!    *designated victim* `dv`, the free block split last: it is on no list,
//!    and `dv_size` is its size (`dv` null and `dv_size` 0 when there is
//!    none). An allocation that misses its own bin carves the victim from
//!    the front when no smaller block in the bins fits, so a run of them does
//!    no bin work (the idea is dlmalloc's).
//! 6. **Bitmaps.** Bit `sl` of `sl_bitmap[fl]` is set exactly when bin
//!    `(fl, sl)` is non-empty; bit `fl` of `fl_bitmap` exactly when
//!    `sl_bitmap[fl]` is non-zero.
//! 7. **Accounting.** `stats.bytes_reserved` is the sum of the spans'
//!    lengths; the span list holds each span once.
//!
//! Spans are merged when the source allows it ([`Source::merges`]: one that
//! cannot take memory back, wasm32's `memory.grow` or a caller's region, or
//! the adaptive heap's lease over one) and a new span starts where the
//! newest one ends: the old fence becomes the header of the new free space.
//! With a source whose spans do not merge (`mmap`), spans stay as acquired.
//! With a source that takes memory back (`mmap`, or that lease), when a
//! span becomes entirely free the core's [`Retention`] policy says how many
//! bytes of such spans to keep: the heap's recent peak in use less what is
//! in use now, at least 4 MiB; the oldest beyond that are released. A
//! program that frees everything and allocates the same again next round
//! faults nothing in anew, whatever its size; one that shrinks for good gives
//! the difference back within two epochs of emptyings.

// Inlining: the fast-path pieces (`find`, `pop`, `take`, `settle`, `stash`,
// `insert`, `remove`, `unlink_free`,
// `release_block`, `allocate`, `deallocate`) are always inlined on hosts,
// where speed is what counts. On wasm32 they are only `#[inline]`, so the
// guest's optimisation level decides: at `opt-level = "z"` each stays one
// copy and the module stays smaller than talc's (bench/wasm-size).

use core::alloc::Layout;
use core::fmt;
use core::mem::size_of;
use core::ptr::{self, NonNull};

use polyalloc_core::heap::fits_alignment;
use polyalloc_core::layout::{dangling, padding_for};
use polyalloc_core::source::{DefaultSource, Source, Span};
use polyalloc_core::{CheckError, Heap, Recorder, Retention, Stats, Uncounted};

/// A machine word: the header, a footer, a list link.
const WORD: usize = size_of::<usize>();
/// The granule: block sizes are multiples of it and payloads are aligned to
/// it (16 bytes on 64-bit targets, 8 on wasm32), as the platform's `malloc`
/// aligns.
pub(crate) const GRAN: usize = 2 * WORD;
/// The smallest block: a header, two list links and a footer, so any block
/// can become free.
pub(crate) const MIN_BLOCK: usize = 4 * WORD;
/// The span header's size: three words, so the first block's payload (one
/// word later) is aligned to [`GRAN`].
pub(crate) const SPAN_HEADER: usize = size_of::<SpanHeader>();
/// A span's own cost: its header and its fence.
const SPAN_OVERHEAD: usize = SPAN_HEADER + WORD;

/// Header flag: the block is handed out (or is a fence).
const USED: usize = 1;
/// Header flag: the block before this one is used.
const PREV_USED: usize = 2;
/// Header flag: this word is a span's fence.
const FENCE: usize = 4;
/// Every flag bit; a header's size is `header & !FLAGS`.
const FLAGS: usize = USED | PREV_USED | FENCE;

/// log2 of the number of bins per power of two.
const SL_BITS: u32 = 4;
/// Bins per power of two: neighbouring bins differ by at most 1/16 of their
/// size, so rounding a request up to its bin's bound wastes at most 6.25%.
pub(crate) const SL_COUNT: usize = 1 << SL_BITS;
/// log2 of [`GRAN`].
const GRAN_BITS: u32 = GRAN.trailing_zeros();
/// Blocks below this size (256 bytes on 64-bit targets) have a bin per
/// granule: exact fits for the common small sizes.
pub(crate) const LINEAR: usize = 1 << (SL_BITS + GRAN_BITS);
/// Rows of bins: row 0 for the linear sizes, one per power of two above.
pub(crate) const FL_COUNT: usize = (usize::BITS - SL_BITS - GRAN_BITS) as usize + 1;

/// The largest block size: far enough below `isize::MAX` that no size
/// arithmetic on it can overflow.
const MAX_BLOCK: usize = (isize::MAX as usize / 2) & !(GRAN - 1);

/// The smallest span asked of the source (one wasm page). Spans are a
/// sixteenth of the bytes already reserved, between this and [`MAX_SPAN`]:
/// a small heap grows a page at a time, as tightly as its peers, and a large
/// one reserves at most 1/16 more than it uses, in a number of spans that
/// grows slowly.
const FIRST_SPAN: usize = 64 * 1024;
/// The largest span asked for beyond what a request needs.
const MAX_SPAN: usize = 1024 * 1024;

// The bitmaps hold a bit per row and per bin.
const _: () = assert!(FL_COUNT <= usize::BITS as usize && SL_COUNT <= 32);
// Header flags fit below the granule.
const _: () = assert!(FLAGS < GRAN);
// The first payload is aligned.
const _: () = assert!((SPAN_HEADER + WORD) % GRAN == 0);

/// The header at the start of every span.
#[repr(C)]
pub(crate) struct SpanHeader {
    /// The next older span, or null.
    pub(crate) next: *mut SpanHeader,
    /// The next newer span, or null.
    pub(crate) prev: *mut SpanHeader,
    /// The span's length in bytes, header and fence included.
    pub(crate) len: usize,
}

/// The block size serving a request of `size` bytes (at most [`GRAN`]
/// alignment): header plus payload, rounded to the granule, at least
/// [`MIN_BLOCK`]; `None` past [`MAX_BLOCK`].
#[inline(always)]
fn block_size(size: usize) -> Option<usize> {
    if size > MAX_BLOCK {
        return None;
    }
    let s = (size + WORD + GRAN - 1) & !(GRAN - 1);
    Some(if s < MIN_BLOCK { MIN_BLOCK } else { s })
}

/// The bin `(fl, sl)` a free block of `size` bytes belongs in.
///
/// Below [`LINEAR`] the row is 0 and the column is the size in granules;
/// above, the row counts powers of two and the column is the [`SL_BITS`]
/// bits below the leading one. On hosts a branch on the linear range costs
/// fewer instructions (callgrind: 10% fewer on the 1,000-block churn); on
/// wasm32 the branch-free form is smaller. Both are tested against the
/// definition.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
pub(crate) fn bin_of(size: usize) -> (usize, usize) {
    if size < LINEAR {
        (0, size >> GRAN_BITS)
    } else {
        let msb = usize::BITS - 1 - size.leading_zeros();
        let fl = (msb - SL_BITS - GRAN_BITS + 1) as usize;
        (fl, (size >> (msb - SL_BITS)) & (SL_COUNT - 1))
    }
}

/// The bin `(fl, sl)` a free block of `size` bytes belongs in: see the host
/// version.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
pub(crate) fn bin_of(size: usize) -> (usize, usize) {
    bin_of_branch_free(size)
}

/// [`bin_of`] without a branch: below `LINEAR` the row saturates at 0 and
/// the shift at `GRAN_BITS`. Sizes are at least `MIN_BLOCK`, so
/// `msb >= SL_BITS`.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
#[inline(always)]
pub(crate) fn bin_of_branch_free(size: usize) -> (usize, usize) {
    let msb = usize::BITS - 1 - (size | 1).leading_zeros();
    let fl = msb.saturating_sub(LINEAR.trailing_zeros() - 1) as usize;
    let shift = (msb - SL_BITS).max(GRAN_BITS);
    (fl, (size >> shift) & (SL_COUNT - 1))
}

/// The header after block `b` of `size` bytes, and the bytes `b` could
/// have if it took that block too when it is free.
///
/// # Safety
///
/// `b` is a block of `size` bytes of a live span.
#[inline(always)]
unsafe fn free_after(b: *mut u8, size: usize) -> (usize, usize) {
    // SAFETY: the header after a block is inside its span (the fence at
    // worst).
    let after = unsafe { header(b.add(size)) };
    let extra = if after & USED == 0 { after & !FLAGS } else { 0 };
    (after, size + extra)
}

/// Writes an empty layout into `span`: one free block from the header to the
/// fence, and the fence. Returns the block, on no list.
///
/// # Safety
///
/// `span` is a span header with a valid `len` (a multiple of [`GRAN`], at
/// least `SPAN_OVERHEAD + MIN_BLOCK`) over memory of ours, none of which is
/// handed out or on a list.
unsafe fn lay_out_empty(span: *mut SpanHeader) -> *mut u8 {
    // SAFETY: the first block, its footer and the fence lie inside the span.
    unsafe {
        let len = (*span).len;
        let start = span.cast::<u8>();
        let b = start.add(SPAN_HEADER);
        let size = len - SPAN_OVERHEAD;
        set_header(b, size | PREV_USED);
        set_footer(b, size);
        set_header(start.add(len - WORD), len | USED | FENCE);
        b
    }
}

/// Whether a free block of `size` bytes followed by a block or fence whose
/// header is `next` is the whole of its span.
#[inline(always)]
fn covers_span(size: usize, next: usize) -> bool {
    next & FENCE != 0 && size + SPAN_OVERHEAD == next & !FLAGS
}

// Raw block access. A block is named by the address of its header, a
// `*mut u8` carrying the provenance of its whole span.

/// Reads the header word at `b`.
///
/// # Safety
///
/// `b` is a block or fence of a live span.
#[inline(always)]
unsafe fn header(b: *mut u8) -> usize {
    // SAFETY: headers are word-aligned words inside a live span.
    unsafe { b.cast::<usize>().read() }
}

/// Writes the header word at `b`.
///
/// # Safety
///
/// As for [`header`].
#[inline(always)]
unsafe fn set_header(b: *mut u8, value: usize) {
    // SAFETY: as for `header`.
    unsafe { b.cast::<usize>().write(value) }
}

/// Writes the footer of a free block of `size` bytes at `b`.
///
/// # Safety
///
/// `b` is a block of `size` bytes in a live span.
#[inline(always)]
unsafe fn set_footer(b: *mut u8, size: usize) {
    // SAFETY: the last word of the block lies inside it.
    unsafe { b.add(size - WORD).cast::<usize>().write(size) }
}

/// The `next` link of free block `b`.
///
/// # Safety
///
/// `b` is a free block of a live span.
#[inline(always)]
unsafe fn next_free(b: *mut u8) -> *mut u8 {
    // SAFETY: a free block is at least `MIN_BLOCK` long; word 1 is `next`.
    unsafe { b.add(WORD).cast::<*mut u8>().read() }
}

/// The `prev` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
unsafe fn prev_free(b: *mut u8) -> *mut u8 {
    // SAFETY: word 2 of a free block is `prev`.
    unsafe { b.add(2 * WORD).cast::<*mut u8>().read() }
}

/// Sets the `next` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
unsafe fn set_next_free(b: *mut u8, next: *mut u8) {
    // SAFETY: as for `next_free`.
    unsafe { b.add(WORD).cast::<*mut u8>().write(next) }
}

/// Sets the `prev` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
unsafe fn set_prev_free(b: *mut u8, prev: *mut u8) {
    // SAFETY: as for `prev_free`.
    unsafe { b.add(2 * WORD).cast::<*mut u8>().write(prev) }
}

/// The single-threaded free-list heap over a [`Source`].
///
/// `R` picks what it counts: [`Uncounted`] (the default) keeps only the
/// bytes reserved from the source; [`Counting`](polyalloc_core::Counting)
/// keeps every counter of [`Stats`].
///
/// See the [crate docs](crate) for what it is for, and the module source for
/// its invariants.
pub struct FreeListHeap<S: Source = DefaultSource, R: Recorder = Uncounted> {
    /// Bit `fl` set when row `fl` has a non-empty bin (invariant 6).
    fl_bitmap: usize,
    /// Bit `sl` of entry `fl` set when bin `(fl, sl)` is non-empty.
    sl_bitmap: [u32; FL_COUNT],
    /// The first free block of each bin, or null.
    heads: [[*mut u8; SL_COUNT]; FL_COUNT],
    /// The designated victim: the free block split last, kept off the bins
    /// so that runs of allocations carve it from the front with no bin
    /// work (invariant 5). Null when there is none.
    dv: *mut u8,
    /// The size of `dv`, 0 when there is none.
    dv_size: usize,
    /// The newest span, or null; spans are linked newest to oldest.
    spans: *mut SpanHeader,
    stats: R,
    /// How many bytes of entirely free spans to keep (module docs).
    retention: Retention,
    source: S,
}

// SAFETY: the heap exclusively owns every span it points to; nothing else
// holds those pointers, so moving the heap to another thread moves that
// ownership. The source must be `Send` for the same reason.
unsafe impl<S: Source + Send, R: Recorder> Send for FreeListHeap<S, R> {}

polyalloc_core::heap_constructors!(FreeListHeap);

impl<S: Source, R: Recorder> FreeListHeap<S, R> {
    /// An empty heap over `source` with the recorder `R` named by the type
    /// (`FreeListHeap::<_, Counting>::with_recorder(source)`); for code
    /// generic over the recorder. Reserves nothing until the first
    /// allocation.
    #[must_use]
    pub const fn with_recorder(source: S) -> Self {
        Self {
            fl_bitmap: 0,
            sl_bitmap: [0; FL_COUNT],
            heads: [[ptr::null_mut(); SL_COUNT]; FL_COUNT],
            dv: ptr::null_mut(),
            dv_size: 0,
            spans: ptr::null_mut(),
            stats: R::NEW,
            retention: Retention::new(),
            source,
        }
    }

    /// The source the heap takes spans from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The number of spans the heap holds.
    #[must_use]
    pub fn span_count(&self) -> usize {
        self.span_iter().count()
    }

    /// Bytes in free blocks, the free part of every span (a walk of the
    /// bins: for tests and diagnostics, not for fast paths).
    #[must_use]
    pub fn free_bytes(&self) -> usize {
        let mut total = self.dv_size;
        for row in &self.heads {
            for &head in row {
                let mut b = head;
                while !b.is_null() {
                    // SAFETY: every list holds free blocks of live spans
                    // (invariant 5).
                    unsafe {
                        total += header(b) & !FLAGS;
                        b = next_free(b);
                    }
                }
            }
        }
        total
    }

    /// The spans, newest first.
    pub(crate) fn span_iter(&self) -> impl Iterator<Item = *mut SpanHeader> + '_ {
        let mut s = self.spans;
        core::iter::from_fn(move || {
            if s.is_null() {
                return None;
            }
            let this = s;
            // SAFETY: every span on the list is live.
            s = unsafe { (*s).next };
            Some(this)
        })
    }

    // ---- bins ----------------------------------------------------------

    /// Puts free block `b` of `size` bytes at the head of its bin.
    ///
    /// # Safety
    ///
    /// `b` is a free block of `size` bytes of a live span, on no list.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn insert(&mut self, b: *mut u8, size: usize) {
        let (fl, sl) = bin_of(size);
        let head = self.heads[fl][sl];
        // SAFETY: `b` is free and `head`, if any, is a free block on a list.
        unsafe {
            set_next_free(b, head);
            set_prev_free(b, ptr::null_mut());
            if !head.is_null() {
                set_prev_free(head, b);
            }
        }
        self.heads[fl][sl] = b;
        self.sl_bitmap[fl] |= 1 << sl;
        self.fl_bitmap |= 1 << fl;
    }

    /// Takes free block `b` of `size` bytes off its bin.
    ///
    /// # Safety
    ///
    /// `b` is a free block of `size` bytes on its bin's list.
    #[inline(always)]
    unsafe fn remove(&mut self, b: *mut u8, size: usize) {
        let (fl, sl) = bin_of(size);
        // SAFETY: forwarded from the caller.
        unsafe { self.unlink(b, fl, sl) }
    }

    /// Takes free block `b` off the list of bin `(fl, sl)`.
    ///
    /// # Safety
    ///
    /// `b` is a free block on that list.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn unlink(&mut self, b: *mut u8, fl: usize, sl: usize) {
        // SAFETY: `b` and its neighbours on the list are free blocks.
        unsafe {
            let next = next_free(b);
            let prev = prev_free(b);
            if !next.is_null() {
                set_prev_free(next, prev);
            }
            if prev.is_null() {
                self.heads[fl][sl] = next;
                if next.is_null() {
                    self.clear_bit(fl, sl);
                }
            } else {
                set_next_free(prev, next);
            }
        }
    }

    /// Marks bin `(fl, sl)` empty in the bitmaps.
    #[inline(always)]
    fn clear_bit(&mut self, fl: usize, sl: usize) {
        self.sl_bitmap[fl] &= !(1 << sl);
        if self.sl_bitmap[fl] == 0 {
            self.fl_bitmap &= !(1 << fl);
        }
    }

    /// Takes a free block of at least `need` bytes off the bins or the
    /// designated victim: the head of `need`'s own bin if it fits, else the
    /// smaller of the victim (if it fits) and the first block of the
    /// smallest non-empty bin above `need`'s own (two bit scans). Blocks
    /// further down `need`'s own bin may fit too, but are not searched: that
    /// would be a walk.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    fn find(&mut self, need: usize) -> Option<*mut u8> {
        // The head of `need`'s own bin, when it fits: an exact fit for the
        // linear sizes, and for larger ones same-size blocks (a `Vec`'s
        // capacities, a struct allocated over and over) are reused at once
        // instead of waiting behind larger bins.
        let (fl, sl) = bin_of(need);
        let head = self.heads[fl][sl];
        // SAFETY: a non-null head is a free block on the bin's list.
        let (fl, sl) = if !head.is_null() && unsafe { header(head) } & !FLAGS >= need {
            (fl, sl)
        } else {
            // Then the better of two: the first block of the smallest
            // non-empty bin above `need`'s own (every block there fits; two
            // bit scans), or the designated victim, whichever is smaller.
            // Runs of allocations carve the victim with no bin work; a
            // smaller block from the bins fits better.
            let row = self.sl_bitmap[fl] & u32::MAX.checked_shl(sl as u32 + 1).unwrap_or(0);
            let found = if row != 0 {
                Some((fl, row.trailing_zeros() as usize))
            } else {
                let rows = self.fl_bitmap & usize::MAX.checked_shl(fl as u32 + 1).unwrap_or(0);
                let fl = rows.trailing_zeros() as usize;
                (rows != 0).then(|| (fl, self.sl_bitmap[fl].trailing_zeros() as usize))
            };
            if self.dv_size >= need {
                let victim_fits_better = match found {
                    Some((fl, sl)) => {
                        // SAFETY: the bitmaps say the bin is non-empty
                        // (invariant 6), so its head is a free block.
                        let head = unsafe { header(self.heads[fl][sl]) };
                        head & !FLAGS >= self.dv_size
                    }
                    None => true,
                };
                if victim_fits_better {
                    let b = self.dv;
                    self.dv = ptr::null_mut();
                    self.dv_size = 0;
                    return Some(b);
                }
            }
            match found {
                Some(bin) => bin,
                None => return self.find_in_own_bin(need, fl, sl),
            }
        };
        // SAFETY: the bin is non-empty: its head was seen above, or the
        // bitmaps say so (invariant 6).
        Some(unsafe { self.pop(fl, sl) })
    }

    /// The slow half of [`find`](Self::find): the bins above `need`'s are
    /// empty, but a block in `need`'s own bin may still be large enough.
    #[cold]
    fn find_in_own_bin(&mut self, need: usize, fl: usize, sl: usize) -> Option<*mut u8> {
        let mut b = self.heads[fl][sl];
        for _ in 0..32 {
            if b.is_null() {
                return None;
            }
            // SAFETY: `b` is a free block on the bin's list.
            if unsafe { header(b) } & !FLAGS >= need {
                // SAFETY: as above.
                unsafe { self.unlink(b, fl, sl) };
                return Some(b);
            }
            // SAFETY: as above.
            b = unsafe { next_free(b) };
        }
        None
    }

    /// Takes the first block off bin `(fl, sl)`.
    ///
    /// # Safety
    ///
    /// The bin is non-empty.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn pop(&mut self, fl: usize, sl: usize) -> *mut u8 {
        let b = self.heads[fl][sl];
        // SAFETY: the bin is non-empty, so `b` is a free block on its list.
        unsafe { self.unlink(b, fl, sl) };
        b
    }

    // ---- blocks --------------------------------------------------------

    /// Marks free block `b` (off the bins) used for `need` bytes, splitting
    /// off and binning the rest when it can stand as a block of its own.
    /// Returns the payload.
    ///
    /// # Safety
    ///
    /// `b` is a free block of a live span, on no list, of at least `need`
    /// bytes; `need` is a multiple of [`GRAN`] of at least [`MIN_BLOCK`].
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn take(&mut self, b: *mut u8, need: usize) -> NonNull<u8> {
        // SAFETY: `b` is a free block on no list, of at least `need` bytes.
        unsafe {
            let h = header(b);
            #[cfg(feature = "checking")]
            checking::verify_free(b, h & !FLAGS, need);
            // The remainder is the next victim if it is the larger.
            self.settle(b, h & !FLAGS, need, h & PREV_USED, true);
            NonNull::new_unchecked(b.add(WORD))
        }
    }

    /// Makes the `size` bytes at `b` a used block of `need` bytes whose
    /// `PREV_USED` flag is `prev`, splitting off the tail as a free block
    /// when it can stand as one (offered as the designated victim if
    /// `victim`, else binned); otherwise the whole `size` is used.
    ///
    /// # Safety
    ///
    /// `size >= need`, both multiples of [`GRAN`]; the `size` bytes at `b`
    /// are in a live span, on no list, and followed by a block (or fence)
    /// whose `PREV_USED` flag is clear.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn settle(&mut self, b: *mut u8, size: usize, need: usize, prev: usize, victim: bool) {
        // SAFETY: the split point and the header after `b` lie in the span.
        unsafe {
            let rest = size - need;
            if rest >= MIN_BLOCK {
                set_header(b, need | USED | prev);
                let r = b.add(need);
                // The block after `r` already reads "previous free".
                set_header(r, rest | PREV_USED);
                set_footer(r, rest);
                #[cfg(feature = "checking")]
                checking::poison_split(r, rest, size);
                if victim {
                    self.stash(r, rest);
                } else {
                    self.insert(r, rest);
                }
            } else {
                set_header(b, size | USED | prev);
                let after = b.add(size);
                set_header(after, header(after) | PREV_USED);
            }
        }
    }

    /// Puts free block `r` of `rest` bytes (on no list) where it waits: it
    /// becomes the designated victim if it is at least as large as the
    /// current one (which goes to the bins), else it goes to its bin.
    ///
    /// # Safety
    ///
    /// `r` is a free block of `rest` bytes of a live span, on no list.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn stash(&mut self, r: *mut u8, rest: usize) {
        if rest >= self.dv_size {
            if !self.dv.is_null() {
                // SAFETY: the victim is a free block on no list.
                unsafe { self.insert(self.dv, self.dv_size) };
            }
            self.dv = r;
            self.dv_size = rest;
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.insert(r, rest) };
        }
    }

    /// Takes free block `b` of `size` bytes from where it waits: the
    /// designated victim slot or its bin. Returns whether it was the victim.
    ///
    /// # Safety
    ///
    /// `b` is a free block of `size` bytes: the victim, or on its bin.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn unlink_free(&mut self, b: *mut u8, size: usize) -> bool {
        if b == self.dv {
            self.dv = ptr::null_mut();
            self.dv_size = 0;
            true
        } else {
            // SAFETY: a free block other than the victim is on its bin.
            unsafe { self.remove(b, size) };
            false
        }
    }

    /// Frees `size` bytes at `b` (the whole of a block, or the tail split
    /// off one): merges with the free neighbours, fixes the flags and
    /// footers and bins the result, or releases its span when it is the
    /// whole span.
    ///
    /// # Safety
    ///
    /// `b` starts `size` bytes of a live span that tile into blocks, are no
    /// longer handed out and are on no list; the header at `b` holds the
    /// `PREV_USED` flag of the block before.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn release_block(&mut self, mut b: *mut u8, mut size: usize) {
        // SAFETY: the neighbours' headers lie in the same span (the fence
        // stops the walk forward; `PREV_USED` is set on a first block, so
        // the walk back never leaves the span); a free neighbour is the
        // victim or on its bin.
        unsafe {
            let h = header(b);
            let after = b.add(size);
            let ah = header(after);
            // Whether a neighbour merged in is the victim: the merged block
            // then stays the victim.
            let mut victim = false;
            if ah & USED == 0 {
                let asize = ah & !FLAGS;
                victim |= self.unlink_free(after, asize);
                size += asize;
            } else {
                set_header(after, ah & !PREV_USED);
            }
            if h & PREV_USED == 0 {
                let psize = b.sub(WORD).cast::<usize>().read();
                b = b.sub(psize);
                victim |= self.unlink_free(b, psize);
                size += psize;
            }
            // Whatever is before the merged block is used (invariant 3).
            set_header(b, size | PREV_USED);
            set_footer(b, size);
            #[cfg(feature = "checking")]
            checking::poison_free(b, size);
            // A span left with nothing live may go back to a source that
            // takes memory back (the test folds away for one that does not).
            if self.source.can_release() && covers_span(size, header(b.add(size))) {
                self.span_emptied(b, size);
            } else if victim {
                self.dv = b;
                self.dv_size = size;
            } else {
                self.insert(b, size);
            }
        }
    }

    /// Finishes freeing `b`, a free block of `size` bytes that covers its
    /// whole span: bins it and, with a source that takes memory back,
    /// releases the oldest entirely free spans beyond what the retention
    /// policy keeps (module docs).
    ///
    /// # Safety
    ///
    /// `b` is the only block of its live span, free and on no list.
    #[cold]
    unsafe fn span_emptied(&mut self, b: *mut u8, size: usize) {
        // SAFETY: `b` is free and on no list.
        unsafe { self.insert(b, size) };
        let empty = self.empty_span_bytes();
        let in_use = self.stats.bytes_reserved().saturating_sub(empty);
        let keep = self.retention.emptied(size + SPAN_OVERHEAD, in_use);
        self.release_empty_spans(keep, 0);
    }

    /// Whether the live span `s` holds nothing but one free block.
    ///
    /// # Safety
    ///
    /// `s` is a live span of this heap.
    unsafe fn span_is_empty(s: *mut SpanHeader) -> bool {
        // SAFETY: the caller passes a live span; its first block follows
        // its header.
        unsafe {
            let h = header(s.cast::<u8>().add(SPAN_HEADER));
            h & USED == 0 && (h & !FLAGS) + SPAN_OVERHEAD == (*s).len
        }
    }

    /// Bytes in entirely free spans.
    fn empty_span_bytes(&self) -> usize {
        self.span_iter()
            // SAFETY: every span on the list is live.
            .filter(|&s| unsafe { Self::span_is_empty(s) })
            // SAFETY: as above.
            .map(|s| unsafe { (*s).len })
            .sum()
    }

    /// Gives entirely free spans back to a source that takes memory back:
    /// every one whose free block is smaller than `below`, and beyond that
    /// the oldest of those left, keeping the newest up to `keep` bytes in
    /// all. Returns the bytes released.
    fn release_empty_spans(&mut self, keep: usize, below: usize) -> usize {
        if !self.source.can_release() {
            return 0;
        }
        let (mut kept, mut released) = (0usize, 0usize);
        let mut s = self.spans;
        while !s.is_null() {
            // SAFETY: `s` is a live span; its first block follows its
            // header. A span found empty has one free block, on its bin.
            unsafe {
                let next = (*s).next;
                let len = (*s).len;
                let first = s.cast::<u8>().add(SPAN_HEADER);
                let h = header(first);
                if Self::span_is_empty(s) {
                    if h & !FLAGS >= below && kept + len <= keep {
                        kept += len;
                    } else {
                        self.unlink_free(first, h & !FLAGS);
                        self.unlink_span(s);
                        let whole = Span::new(NonNull::new_unchecked(s.cast::<u8>()), len);
                        if self.source.release(whole) {
                            self.stats.record_release(len);
                            released += len;
                        } else {
                            // The source kept it after all: keep using it.
                            self.link_span(s);
                            self.insert(first, h & !FLAGS);
                        }
                    }
                }
                s = next;
            }
        }
        released
    }

    /// Gives every entirely free span back to the source, if it takes
    /// memory back (`mmap`; not wasm32's `memory.grow` or a region), and
    /// returns the bytes released. Frees keep empty spans up to the heap's
    /// recent peak (at least 4 MiB, see the module docs) for reuse, so a
    /// program that frees everything and starts again does not fault its
    /// pages in anew; `trim` is for a program that knows it is done with
    /// them (as `malloc_trim` is), and forgets the peak.
    ///
    /// On a [`LockedHeap`](polyalloc_core::LockedHeap) (a `FreeListAlloc`),
    /// call it through `lock_heap`.
    pub fn trim(&mut self) -> usize {
        self.retention.forget();
        self.release_empty_spans(0, 0)
    }

    // ---- spans ---------------------------------------------------------

    /// Puts `span` at the head of the span list.
    ///
    /// # Safety
    ///
    /// `span` is a live span header on no list.
    unsafe fn link_span(&mut self, span: *mut SpanHeader) {
        // SAFETY: `span` and the current head are live span headers.
        unsafe {
            (*span).next = self.spans;
            (*span).prev = ptr::null_mut();
            if !self.spans.is_null() {
                (*self.spans).prev = span;
            }
        }
        self.spans = span;
    }

    /// Takes `span` off the span list.
    ///
    /// # Safety
    ///
    /// `span` is on the span list.
    unsafe fn unlink_span(&mut self, span: *mut SpanHeader) {
        // SAFETY: `span` and its neighbours are live span headers.
        unsafe {
            let (next, prev) = ((*span).next, (*span).prev);
            if !next.is_null() {
                (*next).prev = prev;
            }
            if prev.is_null() {
                self.spans = next;
            } else {
                (*prev).next = next;
            }
        }
    }

    /// Gets memory for a block of `need` bytes from the source and returns
    /// a free block (on no list) of at least `need` bytes: a new span, or
    /// the newest span extended when the new memory continues it.
    #[cold]
    #[inline(never)]
    fn extend(&mut self, need: usize) -> Option<*mut u8> {
        let want = need.checked_add(SPAN_OVERHEAD)?;
        let merging = self.source.merges();
        // No free block serves this request, so an entirely free span too
        // small for it would only sit beside the new one: give those back
        // first. Without this, a heap whose `Vec`s double past the span
        // size kept its outgrown 64 KiB spans while mapping new ones for
        // each 64 KiB buffer (a 65,552-byte block): 40% more reserved at
        // the peak (freelist.md). The spans that could serve it are still
        // kept by the retention policy.
        self.release_empty_spans(usize::MAX, need);
        // Ask for a whole span (1/32 of what is reserved, between
        // `FIRST_SPAN` and `MAX_SPAN`); when the source cannot give that
        // much (a region nearly used up), halve the ask down to what is
        // needed.
        let unit = (self.stats.bytes_reserved() / 32)
            .next_multiple_of(FIRST_SPAN)
            .clamp(FIRST_SPAN, MAX_SPAN);
        let mut ask = want.max(unit);
        let span = loop {
            if let Some(span) = self.source.acquire(ask, GRAN) {
                break span;
            }
            if ask == want {
                return None;
            }
            ask = (ask / 2).next_multiple_of(GRAN).max(want);
        };
        // At least `ask` bytes (the source's contract), and `ask` is a
        // multiple of `GRAN`, so rounding down keeps it at least `want`.
        let len = span.len() & !(GRAN - 1);
        debug_assert!(len >= want);
        self.stats.record_reserve(len);
        let newest = self.spans;
        // SAFETY: `newest`, if any, is a live span; the new span is fresh
        // memory of `len` bytes, valid and ours.
        unsafe {
            if merging && !newest.is_null() && newest.addr() + (*newest).len == span.start() {
                return Some(self.append_to_newest(span.ptr().as_ptr(), len));
            }
            Some(self.new_span(span.ptr().as_ptr(), len))
        }
    }

    /// Lays out a fresh span of `len` bytes at `start`: header, one free
    /// block, fence. Returns the block, on no list.
    ///
    /// # Safety
    ///
    /// `len` bytes at `start` are fresh memory of ours, `start` a multiple
    /// of [`GRAN`], `len` a multiple of [`GRAN`] of at least
    /// `SPAN_OVERHEAD + MIN_BLOCK`.
    unsafe fn new_span(&mut self, start: *mut u8, len: usize) -> *mut u8 {
        let span = start.cast::<SpanHeader>();
        // SAFETY: the header lies at the start of the span, which is ours.
        unsafe {
            span.write(SpanHeader {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                len,
            });
            self.link_span(span);
            let b = lay_out_empty(span);
            #[cfg(feature = "checking")]
            checking::poison_free(b, len - SPAN_OVERHEAD);
            b
        }
    }

    /// Adds `len` fresh bytes at `start`, where the newest span ends, to
    /// that span: its fence becomes the header of the new free space, which
    /// merges with a free block before it. Returns the free block, on no
    /// list.
    ///
    /// # Safety
    ///
    /// The newest span ends at `start`; `len` bytes there are fresh memory
    /// of ours, a multiple of [`GRAN`]. Pointers to the two must carry the
    /// same provenance (true of one region carved in order, and of wasm32
    /// linear memory, which has none), since one block now spans both.
    unsafe fn append_to_newest(&mut self, start: *mut u8, len: usize) -> *mut u8 {
        let span = self.spans;
        // SAFETY: the old fence is the newest span's last word; the new
        // memory follows it. Pointers into the new memory are derived from
        // `start`, which carries its provenance.
        unsafe {
            let total = (*span).len + len;
            (*span).len = total;
            let old_fence = span.cast::<u8>().add(total - len - WORD);
            let fh = header(old_fence);
            // The new block runs from the old fence to the new one.
            let mut size = len;
            let mut b = start.sub(WORD);
            set_header(start.add(len - WORD), total | USED | FENCE);
            if fh & PREV_USED == 0 {
                let psize = old_fence.sub(WORD).cast::<usize>().read();
                b = old_fence.sub(psize);
                self.unlink_free(b, psize);
                size += psize;
            }
            set_header(b, size | PREV_USED);
            set_footer(b, size);
            #[cfg(feature = "checking")]
            checking::poison_free(b, size);
            b
        }
    }
}

impl<S: Source, R: Recorder> FreeListHeap<S, R> {
    /// For a request with more than [`GRAN`] alignment, served from free
    /// block `b` (on no list, at least `need + 2 * align` bytes): splits off
    /// the front, returned to the bins, so the payload after it is aligned.
    /// The gap is 0 or at least a block (`align >= 2 * GRAN == MIN_BLOCK`);
    /// at most `2 * align - GRAN`, so `need` bytes remain. Returns the block
    /// that remains, on no list.
    ///
    /// # Safety
    ///
    /// As stated: `b` is a free block of a live span, on no list, of at
    /// least `need + 2 * align` bytes.
    #[cold]
    #[inline(never)]
    unsafe fn align_front(&mut self, b: *mut u8, align: usize) -> *mut u8 {
        // SAFETY: the gap and the rest lie inside `b`.
        unsafe {
            let mut gap = padding_for(b.addr() + WORD, align);
            if gap == 0 {
                return b;
            }
            if gap < MIN_BLOCK {
                gap += align;
            }
            let h = header(b);
            // The front becomes a free block; what it borders before is
            // used (invariant 3), so it keeps `b`'s `PREV_USED`.
            set_header(b, gap | (h & PREV_USED));
            set_footer(b, gap);
            self.insert(b, gap);
            let rest = b.add(gap);
            set_header(rest, (h & !FLAGS) - gap);
            #[cfg(feature = "checking")]
            {
                checking::poison_split(b, gap, h & !FLAGS);
                checking::poison_split(rest, (h & !FLAGS) - gap, h & !FLAGS);
            }
            rest
        }
    }

    /// Gets `more` bytes from the source to continue the newest span, when
    /// `fence` is that span's fence and the source's spans merge. Whatever
    /// the source hands out ends up in the bins (a span that does not
    /// continue this one starts a span of its own); returns whether memory
    /// was added at all.
    #[cold]
    fn extend_after(&mut self, fence: *mut u8, more: usize) -> bool {
        let newest = self.spans;
        // SAFETY: `newest`, if any, is a live span.
        unsafe {
            if !self.source.merges()
                || newest.is_null()
                || fence.addr() + WORD != newest.addr() + (*newest).len
            {
                return false;
            }
        }
        let Some(need) = more.checked_add(MIN_BLOCK) else {
            return false;
        };
        match self.extend(need) {
            Some(free) => {
                // SAFETY: `free` is a free block on no list.
                unsafe { self.insert(free, header(free) & !FLAGS) };
                true
            }
            None => false,
        }
    }

    /// Rebuilds `span` as one free block, forgetting every block in it.
    ///
    /// # Safety
    ///
    /// `span` is a live span of this heap whose blocks are on no list.
    unsafe fn clear_span(&mut self, span: *mut SpanHeader) {
        // SAFETY: `span` is live; the block laid out is on no list.
        unsafe {
            let b = lay_out_empty(span);
            #[cfg(feature = "checking")]
            checking::poison_free(b, (*span).len - SPAN_OVERHEAD);
            self.insert(b, (*span).len - SPAN_OVERHEAD);
        }
    }

    /// Gives every span back to the source that takes it.
    fn release_all(&mut self) {
        self.dv = ptr::null_mut();
        self.dv_size = 0;
        let mut s = self.spans;
        self.spans = ptr::null_mut();
        while !s.is_null() {
            // SAFETY: `s` is a live span, now on no list.
            unsafe {
                let next = (*s).next;
                let len = (*s).len;
                let whole = Span::new(NonNull::new_unchecked(s.cast::<u8>()), len);
                if self.source.release(whole) {
                    self.stats.record_release(len);
                } else {
                    self.link_span(s);
                }
                s = next;
            }
        }
    }
}

// SAFETY: blocks are carved from spans the source handed out, tiled without
// overlap (invariant 1): `take` hands out a free block, which no live block
// overlaps, and only blocks being freed or resized become free again. A
// payload is `GRAN`-aligned (invariant 1) or aligned by `align_front`.
// A failed request returns before changing any block. No method panics: the
// arithmetic on caller sizes is bounded by `MAX_BLOCK` or checked.
unsafe impl<S: Source, R: Recorder> Heap for FreeListHeap<S, R> {
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return Some(dangling(layout.align()));
        }
        let need = block_size(layout.size())?;
        let align = layout.align();
        // More alignment than every payload has: room for the front gap.
        let room = if align <= GRAN {
            need
        } else {
            need.checked_add(align.checked_mul(2)?)
                .filter(|&r| r <= MAX_BLOCK)?
        };
        let mut b = match self.find(room) {
            Some(b) => b,
            None => self.extend(room)?,
        };
        if align > GRAN {
            // SAFETY: `b` is a free block on no list of at least `room`.
            b = unsafe { self.align_front(b, align) };
        }
        // SAFETY: `find` and `extend` return free blocks of at least `room`
        // bytes, on no list; `align_front` leaves at least `need`.
        let p = unsafe { self.take(b, need) };
        self.stats.record_alloc(layout.size());
        Some(p)
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            // A zero-size block is a dangling pointer (see `allocate`).
            return;
        }
        #[cfg(feature = "checking")]
        self.check_free(ptr, layout);
        // SAFETY: `ptr` is a live block of this heap: its header is the word
        // before it, and it is no longer handed out once freed.
        unsafe {
            let b = ptr.as_ptr().sub(WORD);
            let size = header(b) & !FLAGS;
            self.release_block(b, size);
        }
        self.stats.record_dealloc(layout.size());
    }

    #[inline]
    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        if old.size() == 0 || !fits_alignment(ptr, new) {
            return false;
        }
        let Some(need) = block_size(new.size()) else {
            return false;
        };
        // SAFETY: `ptr` is a live block: its header is the word before it,
        // and the header after it is in the same span.
        unsafe {
            let b = ptr.as_ptr().sub(WORD);
            let h = header(b);
            let size = h & !FLAGS;
            if need > size {
                let (mut after, mut avail) = free_after(b, size);
                if avail < need {
                    // At the end of the newest span, more memory from a
                    // source whose spans merge may continue the block.
                    if !self.extend_after(b.add(avail), need - avail) {
                        return false;
                    }
                    (after, avail) = free_after(b, size);
                    if avail < need {
                        return false;
                    }
                }
                // `avail > size`, so the block after `b` is free.
                let asize = after & !FLAGS;
                let was_victim = self.unlink_free(b.add(size), asize);
                // The block after the absorbed one reads "previous free".
                self.settle(b, size + asize, need, h & PREV_USED, was_victim);
            }
        }
        self.stats.record_realloc(old.size(), new.size());
        true
    }

    #[inline]
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // A block shrunk to nothing must become the dangling pointer, so that
        // freeing it with a zero size is a no-op: that takes a move.
        if new.size() == 0 || old.size() == 0 || !fits_alignment(ptr, new) {
            return false;
        }
        let Some(need) = block_size(new.size()) else {
            return false;
        };
        // SAFETY: `ptr` is a live block; the split point lies inside it.
        unsafe {
            let b = ptr.as_ptr().sub(WORD);
            let h = header(b);
            let size = h & !FLAGS;
            if size >= need + MIN_BLOCK {
                set_header(b, need | (h & FLAGS));
                let r = b.add(need);
                set_header(r, PREV_USED);
                self.release_block(r, size - need);
            }
        }
        self.stats.record_realloc(old.size(), new.size());
        true
    }

    /// Whether `ptr` lies in a span holding at least one live block. This
    /// is an answer by address range, as routing a free needs: it is true
    /// for every byte of every live block, false for memory the heap does
    /// not hold and for a span whose blocks are all free (after a reset,
    /// every span), and may be true for the free space between live
    /// blocks. Costs a step per span.
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        self.span_iter().any(|span| {
            // SAFETY: every span on the list is live; its first block
            // follows its header.
            unsafe {
                let len = (*span).len;
                if addr < span.addr() + SPAN_HEADER || addr >= span.addr() + len - WORD {
                    return false;
                }
                let first = header(span.cast::<u8>().add(SPAN_HEADER));
                first & USED != 0 || (first & !FLAGS) + SPAN_OVERHEAD != len
            }
        })
    }

    fn reset(&mut self) {
        self.stats.forget(0, 0);
        self.dv = ptr::null_mut();
        self.dv_size = 0;
        // Empty the bins the bitmaps name, and only those: every other
        // head is already null (invariant 6). A reset of a heap that used
        // a few bins touches a few words, not the whole table (1.6 KB on
        // wasm32, 7.3 KB on 64-bit hosts).
        // (`get_mut`: no panic path, even for a bitmap that broke the
        // invariant.)
        let mut rows = self.fl_bitmap;
        while rows != 0 {
            let fl = rows.trailing_zeros() as usize;
            rows &= rows - 1;
            if let (Some(bins), Some(heads)) = (self.sl_bitmap.get_mut(fl), self.heads.get_mut(fl))
            {
                let mut set = core::mem::take(bins);
                while set != 0 {
                    if let Some(head) = heads.get_mut(set.trailing_zeros() as usize) {
                        *head = ptr::null_mut();
                    }
                    set &= set - 1;
                }
            }
        }
        self.fl_bitmap = 0;
        let mut s = self.spans;
        while !s.is_null() {
            // SAFETY: `s` is a live span; the bins were just emptied, so
            // none of its blocks is on a list.
            unsafe {
                self.clear_span(s);
                s = (*s).next;
            }
        }
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

impl<S: Source, R: Recorder> Drop for FreeListHeap<S, R> {
    fn drop(&mut self) {
        // Everything goes back to a source that takes it; the rest is the
        // source's to keep (a region) or the module's for good (wasm32).
        self.release_all();
    }
}

impl<S: Source, R: Recorder> fmt::Debug for FreeListHeap<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreeListHeap")
            .field("spans", &self.span_count())
            .field("free_bytes", &self.free_bytes())
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
