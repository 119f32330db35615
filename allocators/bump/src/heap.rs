//! The bump strategy core.
//!
//! Memory comes from the source in *chunks*. Each chunk starts with a
//! [`ChunkHeader`]; the rest is handed out upward from the chunk's start by
//! moving `top`.
//!
//! # Invariants
//!
//! 1. **Empty state.** When no chunk is in use, `current` is null and
//!    `start == top == limit == 0`, so every request, a zero-size one
//!    included, fails the fast path's bounds test (`need < limit - top`)
//!    and takes the slow path, which answers a zero-size one with a
//!    dangling pointer. A new heap is all zero bytes but for its source: a
//!    `static` of one costs nothing in a binary's data.
//! 2. **Current chunk.** Otherwise `current` is the newest chunk of the *used*
//!    list, `start == current + HEADER`, `limit == end + 1` where
//!    `end == current + current.len` is the chunk's end, and
//!    `start <= top <= end`. Every block handed out from the current chunk
//!    lies in `[start, top)`.
//! 3. **Used list.** Linked newest to oldest through `next`; holds the chunks
//!    that served blocks since the last reset. A non-current used chunk's
//!    `top` field is the value `top` had when it stopped being current, and
//!    lies in `[chunk + HEADER, chunk + len]`.
//! 4. **Spare list.** Chunks not used since the last reset, kept for reuse;
//!    their `top` field is meaningless. No chunk is on both lists, and no two
//!    chunks overlap.
//! 5. **Accounting.** `stats.bytes_reserved` is the sum of `len` over both
//!    lists: every byte taken from the source is on exactly one list.
//! 6. **Checkpoints.** A [`Checkpoint`] is only honoured in the epoch (the
//!    span between resets) it was taken in, and only if its chunk is still on
//!    the used list at or below `top`.
//!
//! Chunks are never merged when the source can take spans back (each is then
//! released exactly as acquired); with a source that cannot (wasm32's
//! `memory.grow`, a caller's region), a new span that starts where the current
//! chunk ends is added to the current chunk instead of starting a new one.

use core::alloc::Layout;
use core::fmt;
use core::mem::{align_of, size_of};
use core::ptr::{self, NonNull};

use polyalloc_core::heap::fits_alignment;
use polyalloc_core::layout::{align_up, dangling, padding_for, worst_case_size};
use polyalloc_core::source::{DefaultSource, Source, Span};
use polyalloc_core::{CheckError, Heap, Recorder, Stats, Uncounted};

/// The first chunk asked of the source: one wasm page.
const FIRST_CHUNK: usize = 64 * 1024;
/// Chunks double up to this size; larger requests get a chunk of their own
/// size, so no more than one chunk's worth is ever over-reserved.
const MAX_CHUNK: usize = 1024 * 1024;

/// `start`, `top` and `limit` of a heap with no chunk (invariant 1): zero,
/// so the empty state is all zero bytes and every request takes the slow
/// path.
const EMPTY: usize = 0;

/// The header at the start of every chunk.
#[repr(C)]
struct ChunkHeader {
    /// Used list: the next older chunk. Spare list: the next spare. Null at
    /// the end of either.
    next: *mut ChunkHeader,
    /// Length of the whole chunk, header included.
    len: usize,
    /// For a used chunk that is not current: where its `top` was left.
    top: usize,
}

/// Bytes taken by a chunk header; the first usable address of a chunk.
const HEADER: usize = size_of::<ChunkHeader>();

/// The single-threaded bump heap over a [`Source`].
///
/// `R` picks what it counts: [`Uncounted`] (the default) keeps only the bytes
/// reserved from the source, so an allocation is an offset move and nothing
/// else; [`Counting`](polyalloc_core::Counting) keeps every counter of
/// [`Stats`] for two more additions per allocation.
///
/// See the [crate docs](crate) for what it is for and the module source for
/// its invariants.
pub struct BumpHeap<S: Source = DefaultSource, R: Recorder = Uncounted> {
    /// Next free address in the current chunk (invariants 1–2).
    top: usize,
    /// One more than the end (one past the last usable address) of the
    /// current chunk, zero when there is none (invariants 1 and 2): the
    /// fast path's test `need < limit - top` then fails on an empty heap
    /// for every request, a zero-size one included, at no extra cost.
    limit: usize,
    /// First usable address of the current chunk.
    start: usize,
    /// Head of the used list: the current chunk, or null when empty. Carries
    /// the provenance of the chunk's whole span.
    current: *mut ChunkHeader,
    /// Head of the spare list.
    spare: *mut ChunkHeader,
    /// Size to ask of the source for the next chunk; zero stands for
    /// [`FIRST_CHUNK`], so that a new heap is all zero bytes.
    next_chunk: usize,
    /// Incremented by every reset; checkpoints from other epochs are refused.
    epoch: u64,
    /// Checking mode: the bytes a roll-back gave back, poisoned.
    #[cfg(feature = "checking")]
    poisoned: checking::Poisoned,
    stats: R,
    source: S,
}

// SAFETY: the heap exclusively owns every chunk it points to; nothing else
// holds those pointers, so moving the heap to another thread is moving that
// ownership. The source must be `Send` for the same reason.
unsafe impl<S: Source + Send, R: Recorder> Send for BumpHeap<S, R> {}

polyalloc_core::heap_constructors!(BumpHeap);

/// A position in a [`BumpHeap`] to rewind to: every block allocated after it
/// is freed at once by [`BumpHeap::rewind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    chunk: *mut ChunkHeader,
    top: usize,
    epoch: u64,
    bytes_live: usize,
    blocks_live: u64,
}

/// Why [`BumpHeap::rewind`] refused a checkpoint. The heap is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewindError {
    /// The heap was reset since the checkpoint was taken.
    StaleEpoch,
    /// The checkpoint does not describe a position in this heap's used
    /// memory: it belongs to another heap, or an earlier rewind already went
    /// past it.
    NotInHeap,
}

impl fmt::Display for RewindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StaleEpoch => "checkpoint taken before the last reset",
            Self::NotInHeap => "checkpoint is not a position in this heap's used memory",
        })
    }
}

impl<S: Source, R: Recorder> BumpHeap<S, R> {
    /// An empty heap over `source` with the recorder `R` named by the type
    /// (`BumpHeap::<_, Counting>::with_recorder(source)`); for code generic
    /// over the recorder. Reserves nothing until the first allocation.
    #[must_use]
    pub const fn with_recorder(source: S) -> Self {
        Self {
            top: EMPTY,
            limit: EMPTY,
            start: EMPTY,
            current: ptr::null_mut(),
            spare: ptr::null_mut(),
            next_chunk: 0,
            epoch: 0,
            #[cfg(feature = "checking")]
            poisoned: checking::Poisoned::NONE,
            stats: R::NEW,
            source,
        }
    }

    /// The source the heap takes chunks from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The end of the current chunk (invariant 2); meaningless when there
    /// is none.
    #[inline(always)]
    fn end(&self) -> usize {
        self.limit.wrapping_sub(1)
    }

    /// Bytes still free in the current chunk.
    #[must_use]
    pub fn remaining_in_chunk(&self) -> usize {
        // Zero on an empty heap, where `limit == top == 0`.
        self.limit.saturating_sub(self.top).saturating_sub(1)
    }

    /// Frees a block as [`Heap::deallocate`] does, and says whether its
    /// memory came back: `true` when it was the most recent block of the
    /// current chunk (the top rolls back to it), `false` when bump cannot
    /// reuse it before the next reset (counted as a failed deallocation).
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`]: `ptr` is a live block of this heap,
    /// allocated with `layout`.
    #[inline(always)]
    pub unsafe fn deallocate_last(&mut self, ptr: NonNull<u8>, layout: Layout) -> bool {
        #[cfg(feature = "checking")]
        self.check_free(ptr, layout);
        let addr = ptr.as_ptr().addr();
        // A live block cannot end past `usize::MAX`.
        let block_end = addr.wrapping_add(layout.size());
        if block_end == self.top && addr >= self.start {
            // The most recent block: roll back.
            self.top = addr;
            #[cfg(feature = "checking")]
            self.poison_freed(addr, block_end);
            self.stats.record_dealloc(layout.size());
            true
        } else {
            self.stats.record_failed_dealloc(layout.size());
            false
        }
    }

    /// Forgets every block, as [`reset`](Heap::reset) does, but keeps every
    /// spare chunk, also those the epoch did not use (`reset` gives them
    /// back to a source that takes memory back). For a caller that knows
    /// the footprint will come back: the adaptive heap resets bump this way
    /// while bump serves its function, so that the chunks a mixed-size
    /// invocation grew are still there, faulted in, when the next one comes
    /// (docs/benchmarks.md, faas-phases: 19,967 page faults over 100
    /// rounds fell to 1,566). [`reset_and_release`](Self::reset_and_release)
    /// gives everything back.
    ///
    /// Safe on a `&mut` heap for the reason `reset` is: using a block after
    /// this is the caller's `unsafe` mistake.
    pub fn reset_keeping_spares(&mut self) {
        self.end_epoch(false);
    }

    /// Forgets every block, as [`reset`](Heap::reset) does, and gives every
    /// chunk back to a source that takes memory back; returns the bytes
    /// released. The heap stays usable and starts afresh: an empty chunk
    /// list, and chunks sized from the first size again.
    ///
    /// Safe on a `&mut` heap for the reason `reset` is: using a block after
    /// this is the caller's `unsafe` mistake.
    pub fn reset_and_release(&mut self) -> usize {
        let before = self.stats.bytes_reserved();
        self.reset();
        if !self.current.is_null() {
            self.retire_current();
        }
        self.release_spares();
        self.next_chunk = 0;
        before - self.stats.bytes_reserved()
    }

    /// Marks the current position.
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            chunk: self.current,
            top: self.top,
            epoch: self.epoch,
            bytes_live: self.stats.bytes_live(),
            blocks_live: self.stats.blocks_live(),
        }
    }

    /// Frees every block allocated after `mark` at once; blocks allocated
    /// before it stay valid. Chunks taken after the mark are kept as spares.
    ///
    /// `bytes_live` and `blocks_live()` return to their values at the mark
    /// (capped at their current values: blocks from before the mark freed
    /// since are not revived); the blocks the rewind ends are counted in
    /// `blocks_forgotten`, not as deallocations.
    ///
    /// A checkpoint from another heap, from before a reset, or past an
    /// earlier rewind is refused with an error and changes nothing.
    pub fn rewind(&mut self, mark: Checkpoint) -> Result<(), RewindError> {
        if mark.epoch != self.epoch {
            return Err(RewindError::StaleEpoch);
        }
        if mark.chunk.is_null() {
            // Taken before the first chunk of this epoch: free everything.
            while !self.current.is_null() {
                self.retire_current();
            }
        } else {
            // The mark's chunk must be on the used list, its top within it.
            let Some((chunk, top)) = self.used_chunks().find(|&(c, _)| c == mark.chunk) else {
                return Err(RewindError::NotInHeap);
            };
            if mark.top < chunk.addr() + HEADER || mark.top > top {
                return Err(RewindError::NotInHeap);
            }
            while self.current != mark.chunk {
                self.retire_current();
            }
            self.top = mark.top;
        }
        self.stats.forget(
            mark.bytes_live.min(self.stats.bytes_live()),
            mark.blocks_live.min(self.stats.blocks_live()),
        );
        Ok(())
    }

    /// Moves the current chunk to the front of the spare list and makes the
    /// next older used chunk current (or empties the heap).
    fn retire_current(&mut self) {
        let chunk = self.current;
        debug_assert!(!chunk.is_null());
        // SAFETY: `chunk` is the live current chunk; its successor, if any,
        // is a live used chunk whose `top` field holds its saved top
        // (invariant 3).
        unsafe {
            let older = (*chunk).next;
            (*chunk).next = self.spare;
            self.spare = chunk;
            self.current = older;
            if older.is_null() {
                self.set_empty();
            } else {
                self.start = older.addr() + HEADER;
                self.limit = older.addr() + (*older).len + 1;
                self.top = (*older).top;
            }
        }
    }

    fn set_empty(&mut self) {
        self.current = ptr::null_mut();
        self.start = EMPTY;
        self.top = EMPTY;
        self.limit = EMPTY;
    }

    /// Makes `chunk` (not on any list) the current chunk, with nothing used.
    ///
    /// # Safety
    ///
    /// `chunk` must point to a live header at the start of a chunk of
    /// `(*chunk).len` bytes owned by this heap and on neither list.
    unsafe fn push_current(&mut self, chunk: *mut ChunkHeader) {
        if !self.current.is_null() {
            // SAFETY: the current chunk is live (invariant 2).
            unsafe { (*self.current).top = self.top };
        }
        // SAFETY: the caller guarantees `chunk` is a live, unlisted header.
        unsafe {
            (*chunk).next = self.current;
            self.limit = chunk.addr() + (*chunk).len + 1;
        }
        self.current = chunk;
        self.start = chunk.addr() + HEADER;
        self.top = self.start;
    }

    /// Takes the head of the spare list if it has room for `needed` bytes
    /// (header included).
    fn take_spare(&mut self, needed: usize) -> Option<*mut ChunkHeader> {
        let chunk = self.spare;
        if chunk.is_null() {
            return None;
        }
        // SAFETY: `chunk` heads the spare list, so it is a live header.
        unsafe {
            if (*chunk).len < needed {
                return None;
            }
            self.spare = (*chunk).next;
            (*chunk).next = ptr::null_mut();
        }
        Some(chunk)
    }

    /// Gets a new span of at least `needed` bytes from the source. Either
    /// extends the current chunk in place (returns `None` after doing so,
    /// with `end` moved) or returns a new chunk with its header written.
    fn acquire_chunk(&mut self, needed: usize) -> Result<Option<*mut ChunkHeader>, ()> {
        let align = align_of::<ChunkHeader>();
        // Ask for the next chunk size; when the source cannot give that much
        // (a region near its end, memory near its limit), halve down to what
        // the request needs.
        let next = self.next_chunk.max(FIRST_CHUNK);
        let mut want = needed.max(next);
        let span = loop {
            if let Some(span) = self.source.acquire(want, align) {
                break span;
            }
            if want == needed {
                return Err(());
            }
            want = (want / 2).max(needed);
        };
        self.next_chunk = (next * 2).min(MAX_CHUNK);
        // SAFETY: the span was just acquired, is aligned for a header and at
        // least `needed >= HEADER` bytes.
        Ok(unsafe { self.adopt(span) })
    }

    /// Takes a freshly acquired span into the heap: merged into the current
    /// chunk if it continues it (`None`), otherwise made a chunk of its own,
    /// with its header written and on no list (`Some`).
    ///
    /// # Safety
    ///
    /// `span` must come from `self.source` just now, aligned for a header and
    /// at least `HEADER` bytes long.
    unsafe fn adopt(&mut self, span: Span) -> Option<*mut ChunkHeader> {
        self.stats.record_reserve(span.len());
        if self.extends_current(span) {
            // SAFETY: the current chunk is live (invariant 2).
            unsafe { (*self.current).len += span.len() };
            self.limit = span.end() + 1;
            return None;
        }
        let chunk = span.ptr().as_ptr().cast::<ChunkHeader>();
        // SAFETY: the caller guarantees the span is fresh, exclusively ours,
        // aligned for a header and long enough for one.
        unsafe {
            chunk.write(ChunkHeader {
                next: ptr::null_mut(),
                len: span.len(),
                top: 0,
            });
        }
        Some(chunk)
    }

    /// Whether a fresh `span` should be added to the current chunk: it starts
    /// where the chunk ends, and the source never takes spans back on its own
    /// (so merged spans are never released piecewise).
    fn extends_current(&self, span: Span) -> bool {
        !self.source.can_release() && !self.current.is_null() && span.start() == self.end()
    }

    /// Grows the current chunk by at least `extra` bytes with a span that
    /// continues it, for an in-place grow of the top block. A span that does
    /// not continue it is kept as a spare, so nothing is lost.
    #[cold]
    fn try_extend(&mut self, extra: usize) -> bool {
        if self.source.can_release() || self.current.is_null() {
            return false;
        }
        // Whole header-aligned units, so spans of a region stay contiguous,
        // and at least a header, so a non-contiguous span can be kept.
        let align = align_of::<ChunkHeader>();
        let Some(want) = align_up(extra.max(HEADER), align) else {
            return false;
        };
        let Some(span) = self.source.acquire(want, align) else {
            return false;
        };
        // SAFETY: the span was just acquired, aligned for a header and at
        // least `HEADER` bytes (asked for above).
        match unsafe { self.adopt(span) } {
            None => true,
            Some(chunk) => {
                // Not contiguous: keep it as a spare so nothing is lost.
                // SAFETY: `adopt` wrote a live header, on no list.
                unsafe { (*chunk).next = self.spare };
                self.spare = chunk;
                false
            }
        }
    }

    /// Where a block for `layout` would go in the current chunk, and the new
    /// top, if it fits.
    #[inline(always)]
    fn fit(&self, layout: Layout) -> Option<(usize, usize)> {
        let pad = padding_for(self.top, layout.align());
        // Cannot wrap: `Layout` guarantees `size + align - 1 <= isize::MAX`.
        let need = pad.wrapping_add(layout.size());
        // `need < limit - top` is `need <= end - top` in a chunk, and fails
        // on an empty heap (`limit == top == 0`, invariant 1) even for a
        // request needing no bytes, which must not get a null pointer.
        // Cannot wrap: `top < limit` in a chunk (invariant 2).
        if need < self.limit.wrapping_sub(self.top) {
            Some((self.top.wrapping_add(pad), self.top.wrapping_add(need)))
        } else {
            None
        }
    }

    /// Hands out the block at `at`, moving `top` to `new_top`.
    ///
    /// # Safety
    ///
    /// `(at, new_top)` must come from [`fit`](Self::fit) on the current state.
    #[inline(always)]
    unsafe fn take(&mut self, at: usize, new_top: usize, size: usize) -> NonNull<u8> {
        #[cfg(feature = "checking")]
        self.take_poisoned(new_top, true);
        self.top = new_top;
        self.stats.record_alloc(size);
        // SAFETY: `at` is non-zero: `fit` never succeeds on an empty heap
        // (invariant 1), so the heap has a chunk and `at >= start > 0`
        // (invariant 2), with `current` carrying the provenance of the
        // chunk's whole span.
        unsafe { NonNull::new_unchecked(self.current.cast::<u8>().with_addr(at)) }
    }

    #[cold]
    #[inline(never)]
    fn allocate_slow(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            // `fit` serves a zero-size request at the aligned top of a
            // chunk; it comes here on an empty heap, or when the padding
            // would pass the chunk's end: a dangling pointer, no chunk.
            self.stats.record_alloc(0);
            return Some(dangling(layout.align()));
        }
        // A chunk's first usable byte is aligned to the header's alignment.
        // Rounded to whole header-aligned units so that consecutive spans of
        // a region stay contiguous and can be merged.
        let align = align_of::<ChunkHeader>();
        let needed = align_up(HEADER.checked_add(worst_case_size(layout, align)?)?, align)?;
        if let Some(chunk) = self.take_spare(needed) {
            // SAFETY: `take_spare` unlinked a live chunk of ours.
            unsafe { self.push_current(chunk) };
        } else {
            match self.acquire_chunk(needed) {
                // SAFETY: a fresh chunk with its header written, on no list.
                Ok(Some(chunk)) => unsafe { self.push_current(chunk) },
                Ok(None) => {}
                Err(()) => return None,
            }
        }
        let (at, new_top) = self.fit(layout)?;
        // SAFETY: `fit` just succeeded on the current state.
        Some(unsafe { self.take(at, new_top, layout.size()) })
    }

    /// Ends the epoch, as [`Heap::reset`] does: every block is forgotten,
    /// the newest chunk stays current and the older ones become spares.
    /// With `release`, the spares left unused through the epoch go back to
    /// the source first.
    fn end_epoch(&mut self, release: bool) {
        self.epoch = self.epoch.wrapping_add(1);
        self.stats.forget(0, 0);
        if release {
            self.release_spares();
        }
        if self.current.is_null() {
            return;
        }
        // Keep the newest (largest) used chunk as current; the older ones
        // become spares, ahead of any surplus the source would not take.
        let newest = self.current;
        // SAFETY: `newest` is the live current chunk.
        let older = unsafe { (*newest).next };
        let surplus = self.spare;
        self.spare = older;
        self.append_spares(surplus);
        self.set_empty();
        // SAFETY: `newest` is a live chunk of ours, now on neither list.
        unsafe { self.push_current(newest) };
    }

    /// Gives surplus spares (unused for a whole epoch) back to the source.
    fn release_spares(&mut self) {
        let mut kept: *mut ChunkHeader = ptr::null_mut();
        let mut chunk = self.spare;
        while !chunk.is_null() {
            // SAFETY: `chunk` is on the spare list, so it is a live header of
            // a span acquired from `self.source` and holding no live block.
            unsafe {
                let next = (*chunk).next;
                let len = (*chunk).len;
                let span = Span::new(NonNull::new_unchecked(chunk.cast::<u8>()), len);
                #[cfg(feature = "checking")]
                self.forget_poison_in(chunk);
                if self.source.release(span) {
                    self.stats.record_release(len);
                } else {
                    (*chunk).next = kept;
                    kept = chunk;
                }
                chunk = next;
            }
        }
        self.spare = kept;
    }

    /// Appends `list` (linked through `next`) to the end of the spare list.
    fn append_spares(&mut self, list: *mut ChunkHeader) {
        if self.spare.is_null() {
            self.spare = list;
            return;
        }
        let mut tail = self.spare;
        // SAFETY: every node on the spare list is a live header.
        unsafe {
            while !(*tail).next.is_null() {
                tail = (*tail).next;
            }
            (*tail).next = list;
        }
    }

    /// The used list, newest first, each chunk with its top: the live `top`
    /// for the current chunk, the saved one for the others (invariant 3).
    fn used_chunks(&self) -> impl Iterator<Item = (*mut ChunkHeader, usize)> + '_ {
        let first = (!self.current.is_null()).then_some((self.current, self.top));
        core::iter::successors(first, |&(chunk, _)| {
            // SAFETY: `chunk` is on the used list, so its header is live, and
            // so is its successor's, whose `top` field is its saved top.
            unsafe {
                let older = (*chunk).next;
                (!older.is_null()).then(|| (older, (*older).top))
            }
        })
    }

    /// Number of chunks on the used list and on the spare list.
    #[must_use]
    pub fn chunk_counts(&self) -> (usize, usize) {
        (count(self.current), count(self.spare))
    }
}

fn count(mut chunk: *mut ChunkHeader) -> usize {
    let mut n = 0;
    while !chunk.is_null() {
        n += 1;
        // SAFETY: callers pass the head of one of the heap's lists, whose
        // nodes are live headers.
        chunk = unsafe { (*chunk).next };
    }
    n
}

// SAFETY: blocks are carved from `[start, end)` of chunks the source handed
// out, aligned by `fit`, below `top` (so disjoint from later ones); `top`
// only moves below a block when that block is the one being freed or resized
// (or by reset / rewind, which end those blocks' lives by contract). No method
// panics: all arithmetic on caller values is checked.
unsafe impl<S: Source, R: Recorder> Heap for BumpHeap<S, R> {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        match self.fit(layout) {
            // SAFETY: `fit` just succeeded on the current state.
            Some((at, new_top)) => Some(unsafe { self.take(at, new_top, layout.size()) }),
            None => self.allocate_slow(layout),
        }
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_last(ptr, layout) };
    }

    #[inline]
    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        let addr = ptr.as_ptr().addr();
        if !fits_alignment(ptr, new)
            || addr.wrapping_add(old.size()) != self.top
            || addr < self.start
        {
            return false;
        }
        let Some(new_top) = addr.checked_add(new.size()) else {
            return false;
        };
        if new_top >= self.limit && !self.try_extend(new_top - self.end()) {
            return false;
        }
        #[cfg(feature = "checking")]
        self.take_poisoned(new_top, false);
        self.top = new_top;
        self.stats.record_realloc(old.size(), new.size());
        true
    }

    #[inline]
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        if !fits_alignment(ptr, new) {
            return false;
        }
        let addr = ptr.as_ptr().addr();
        if addr.wrapping_add(old.size()) == self.top && addr >= self.start {
            // `addr + new.size() <= addr + old.size()`, no overflow.
            self.top = addr + new.size();
            #[cfg(feature = "checking")]
            self.poison_freed(addr + new.size(), addr + old.size());
        }
        // Elsewhere the block just keeps its tail.
        self.stats.record_realloc(old.size(), new.size());
        true
    }

    fn owns(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        self.used_chunks()
            .any(|(chunk, top)| addr >= chunk.addr() + HEADER && addr < top)
    }

    fn reset(&mut self) {
        // Spares that went unused for a whole epoch are surplus.
        self.end_epoch(self.source.can_release());
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

impl<S: Source, R: Recorder> Drop for BumpHeap<S, R> {
    fn drop(&mut self) {
        // Everything goes back to a source that takes it; the rest is the
        // source's to keep (a region) or the module's for good (wasm32).
        let used = self.current;
        self.set_empty();
        self.append_spares(used);
        self.release_spares();
    }
}

impl<S: Source, R: Recorder> fmt::Debug for BumpHeap<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (used, spare) = self.chunk_counts();
        f.debug_struct("BumpHeap")
            .field("used_chunks", &used)
            .field("spare_chunks", &spare)
            .field("remaining_in_chunk", &self.remaining_in_chunk())
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
