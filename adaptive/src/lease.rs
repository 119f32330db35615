//! One source shared by every strategy core the adaptive heap owns, and the
//! map that says which core a span belongs to.
//!
//! Each core (the init heap, bump, free list, buddy) wants a source of its
//! own by value, but there is only one: the adaptive heap's. So each core
//! gets a [`Lease`], a handle that forwards to the [`Provider`] inside the
//! adaptive heap, and records every span it acquires in the provider's
//! [`SpanMap`] under the core's slot number. Freeing a block then costs one
//! binary search to find the core that owns it, whatever the number of cores
//! and spans.
//!
//! # Invariants
//!
//! 1. **Bound before use.** A lease's pointer is set (by
//!    [`Lease::bind`]) to the provider of the adaptive heap that owns the
//!    core, and its slot to the core's, right before every call into the
//!    core, while that heap is exclusively borrowed. The adaptive heap may move between calls; the
//!    pointer is refreshed each time, so it is never followed stale.
//! 2. **Disjoint spans.** The map's entries are sorted by start, pairwise
//!    disjoint (a source never hands out overlapping spans), each tagged
//!    with the slot of the core that holds it. A span released to the source
//!    or the pool leaves the map; where a core merged adjacent spans
//!    ([`Lease::merges`](Source::merges), over a source that cannot take
//!    memory back), their union leaves it, every entry inside.
//! 3. **Every span recorded, or overflow remembered.** The map keeps its
//!    first [`INLINE_SPANS`] entries in its own arrays, then in storage from
//!    the pool or the source that it doubles whenever it fills (a slab heap
//!    takes a span per 64 KiB slab, so a heap of a few hundred megabytes
//!    holds thousands). Only when neither the pool nor the source has memory
//!    for the storage does a span go unrecorded; that sets `overflowed`, and
//!    from then on an address the map does not cover may still belong to a
//!    core, and the adaptive heap asks the cores themselves. The storage is
//!    in no core's span and not in the pool.
//! 4. **The pool.** On a source that cannot take memory back (wasm32's
//!    `memory.grow`, a region), a span a core gives back goes to the
//!    provider's [`SpanPool`] instead, and the next core that needs memory
//!    takes it from there before growing the source: memory a strategy no
//!    longer uses is not stranded with it. Pooled spans are sorted, disjoint,
//!    coalesced with their neighbours, in no core's span map entry, and
//!    handed out in pieces. On a source that takes memory back the pool stays
//!    empty and spans go straight back.

use core::cell::Cell;
use core::ptr;

use core::ptr::NonNull;

use polyalloc_core::layout::align_up;
use polyalloc_core::source::{Source, Span};

/// Spans the map holds in its own arrays. Past this many it moves to
/// storage from the source (invariant 3), so a small heap never asks for
/// memory of its own.
pub(crate) const INLINE_SPANS: usize = 128;

/// Bytes one entry takes in storage from the source: its start, its end
/// and its slot.
const ENTRY_BYTES: usize = 2 * size_of::<usize>() + 1;

/// Sorted, disjoint spans, each tagged with the slot of the core that
/// acquired it.
///
/// The entries live in the map's own arrays until [`INLINE_SPANS`] of them
/// are taken, then in a span from the source (`storage`): `cap` starts, `cap`
/// ends, then `cap` slots. [`Provider::record`] moves them to storage twice
/// as large whenever they fill it.
#[derive(Debug)]
pub(crate) struct SpanMap {
    starts: [usize; INLINE_SPANS],
    ends: [usize; INLINE_SPANS],
    slots: [u8; INLINE_SPANS],
    /// Storage from the source, once the inline arrays are outgrown.
    storage: Option<Span>,
    /// Entries `storage` holds; zero while there is none (the inline
    /// arrays hold [`INLINE_SPANS`]), so that a new map is all zero bytes.
    cap: usize,
    len: usize,
    overflowed: bool,
}

// SAFETY: `storage` is memory the adaptive heap holds from its source; the
// map is only used through that heap, which is `Send` as a whole.
unsafe impl Send for SpanMap {}

impl SpanMap {
    pub(crate) const fn new() -> Self {
        Self {
            starts: [0; INLINE_SPANS],
            ends: [0; INLINE_SPANS],
            slots: [0; INLINE_SPANS],
            storage: None,
            cap: 0,
            len: 0,
            overflowed: false,
        }
    }

    /// The entries' starts, ends and slots.
    #[inline]
    fn parts(&self) -> (&[usize], &[usize], &[u8]) {
        match self.storage {
            None => (
                &self.starts[..self.len],
                &self.ends[..self.len],
                &self.slots[..self.len],
            ),
            Some(storage) => {
                let base = storage.ptr().as_ptr();
                let (cap, len, w) = (self.cap, self.len, size_of::<usize>());
                // SAFETY: `storage` is at least `cap * ENTRY_BYTES` bytes of
                // memory the map holds (`move_to`), aligned for `usize`, laid
                // out as `cap` starts, `cap` ends and `cap` slots; the first
                // `len` of each were written by `insert` or `move_to`.
                unsafe {
                    (
                        core::slice::from_raw_parts(base.cast::<usize>(), len),
                        core::slice::from_raw_parts(base.add(cap * w).cast::<usize>(), len),
                        core::slice::from_raw_parts(base.add(2 * cap * w), len),
                    )
                }
            }
        }
    }

    /// The whole capacity of starts, ends and slots, to write entries into.
    fn parts_mut(&mut self) -> (&mut [usize], &mut [usize], &mut [u8]) {
        match self.storage {
            None => (&mut self.starts, &mut self.ends, &mut self.slots),
            Some(storage) => {
                let base = storage.ptr().as_ptr();
                let (cap, w) = (self.cap, size_of::<usize>());
                // SAFETY: as in `parts`; the three ranges are disjoint, and
                // `&mut self` makes them exclusively the map's. Entries past
                // `len` may hold anything: they are only written.
                unsafe {
                    (
                        core::slice::from_raw_parts_mut(base.cast::<usize>(), cap),
                        core::slice::from_raw_parts_mut(base.add(cap * w).cast::<usize>(), cap),
                        core::slice::from_raw_parts_mut(base.add(2 * cap * w), cap),
                    )
                }
            }
        }
    }

    /// Index of the last span starting at or below `addr`, if any.
    #[inline]
    fn floor(&self, addr: usize) -> Option<usize> {
        // The number of spans starting at or below `addr`.
        self.parts()
            .0
            .partition_point(|&s| s <= addr)
            .checked_sub(1)
    }

    /// The slot whose span holds `addr`, if the map knows one.
    #[inline]
    pub(crate) fn lookup(&self, addr: usize) -> Option<u8> {
        let (starts, ends, slots) = self.parts();
        let i = starts.partition_point(|&s| s <= addr).checked_sub(1)?;
        (addr < ends[i]).then(|| slots[i])
    }

    /// Whether some span could not be recorded (invariant 3).
    #[inline]
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether the next [`insert`](Self::insert) needs more room.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Entries the map holds before it needs more room: the inline arrays'
    /// [`INLINE_SPANS`], or what `storage` holds (always more).
    #[inline]
    fn capacity(&self) -> usize {
        self.cap.max(INLINE_SPANS)
    }

    /// Spans recorded.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes of storage the map holds from the source.
    pub(crate) fn storage_bytes(&self) -> usize {
        self.storage.map_or(0, |s| s.len())
    }

    /// Records `span` for `slot`; when the map is full, only remembers that
    /// it overflowed.
    pub(crate) fn insert(&mut self, span: Span, slot: u8) {
        if self.is_full() {
            self.overflowed = true;
            return;
        }
        let at = self.floor(span.start()).map_or(0, |i| i + 1);
        let len = self.len;
        let (starts, ends, slots) = self.parts_mut();
        starts.copy_within(at..len, at + 1);
        ends.copy_within(at..len, at + 1);
        slots.copy_within(at..len, at + 1);
        starts[at] = span.start();
        ends[at] = span.end();
        slots[at] = slot;
        self.len += 1;
    }

    /// Forgets `span` (given back to the source or the pool): every entry
    /// that starts inside it, one for a span as it was handed out, several
    /// for adjacent spans a core merged ([`Lease::merges`]).
    pub(crate) fn remove(&mut self, span: Span) {
        let (from, to) = (span.start(), span.end());
        let len = self.len;
        let (starts, ends, slots) = self.parts_mut();
        let first = starts[..len].partition_point(|&s| s < from);
        let last = first + starts[first..len].partition_point(|&s| s < to);
        if first == last {
            return;
        }
        starts.copy_within(last..len, first);
        ends.copy_within(last..len, first);
        slots.copy_within(last..len, first);
        self.len -= last - first;
    }

    /// Entries a span of `bytes` bytes of storage holds.
    fn capacity_of(bytes: usize) -> usize {
        bytes / ENTRY_BYTES
    }

    /// Bytes of storage to ask for when the map is full: room for twice
    /// its entries.
    fn next_storage_bytes(&self) -> Option<usize> {
        self.capacity().checked_mul(2)?.checked_mul(ENTRY_BYTES)
    }

    /// Moves the entries to `storage` if it holds more of them than the map
    /// does now. Returns the span to give back: the old storage when the
    /// entries moved, `storage` itself when they did not.
    ///
    /// # Safety
    ///
    /// `storage` must be memory the adaptive heap holds from its source,
    /// aligned for `usize`, that nothing else uses until the map gives it
    /// back through this function or [`take_storage`](Self::take_storage).
    pub(crate) unsafe fn move_to(&mut self, storage: Span) -> Option<Span> {
        let cap = Self::capacity_of(storage.len());
        if cap <= self.capacity() {
            return Some(storage);
        }
        let len = self.len;
        let base = storage.ptr().as_ptr();
        let w = size_of::<usize>();
        {
            let (starts, ends, slots) = self.parts();
            // SAFETY: `storage` is the caller's to give, at least
            // `cap * ENTRY_BYTES` long and aligned for `usize`; the three
            // destinations (at 0, `cap * w` and `2 * cap * w`) each have room
            // for `cap >= len` entries and do not overlap the old ones, which
            // are in the inline arrays or in other storage.
            unsafe {
                ptr::copy_nonoverlapping(starts.as_ptr(), base.cast::<usize>(), len);
                ptr::copy_nonoverlapping(ends.as_ptr(), base.add(cap * w).cast::<usize>(), len);
                ptr::copy_nonoverlapping(slots.as_ptr(), base.add(2 * cap * w), len);
            }
        }
        self.cap = cap;
        self.storage.replace(storage)
    }

    /// Gives up the storage from the source, if any, for the heap to return
    /// to its source; the map is left empty.
    pub(crate) fn take_storage(&mut self) -> Option<Span> {
        self.len = 0;
        self.cap = 0;
        self.storage.take()
    }

    /// Marks the map overflowed, as if a span had not fitted.
    #[cfg(all(test, feature = "bump", feature = "buddy", feature = "slab"))]
    pub(crate) fn force_overflow(&mut self) {
        self.overflowed = true;
    }

    /// The recorded spans, in address order, as `(start, end, slot)`.
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize, u8)> + '_ {
        let (starts, ends, slots) = self.parts();
        (0..self.len).map(move |i| (starts[i], ends[i], slots[i]))
    }
}

/// Free spans the pool holds before it refuses more (a refused span stays
/// with the core that offered it).
pub(crate) const POOL_CAPACITY: usize = 32;

/// Spans given back by the cores on a source that cannot take them
/// (invariant 4): sorted, disjoint, coalesced. Starts are kept as pointers,
/// so pieces handed out carry the provenance of the span they came from.
#[derive(Debug)]
pub(crate) struct SpanPool {
    starts: [*mut u8; POOL_CAPACITY],
    ends: [usize; POOL_CAPACITY],
    len: usize,
}

// SAFETY: the pointers are addresses of memory the adaptive heap holds; the
// pool is only used through that heap, which is `Send` as a whole.
unsafe impl Send for SpanPool {}

impl SpanPool {
    pub(crate) const fn new() -> Self {
        Self {
            starts: [ptr::null_mut(); POOL_CAPACITY],
            ends: [0; POOL_CAPACITY],
            len: 0,
        }
    }

    /// Bytes pooled.
    pub(crate) fn bytes(&self) -> usize {
        self.iter().map(|(s, e)| e - s).sum()
    }

    /// The pooled spans, in address order, as `(start, end)`.
    #[cfg_attr(not(any(debug_assertions, test)), allow(dead_code))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.len).map(|i| (self.starts[i].addr(), self.ends[i]))
    }

    fn remove_at(&mut self, i: usize) {
        self.starts.copy_within(i + 1..self.len, i);
        self.ends.copy_within(i + 1..self.len, i);
        self.len -= 1;
    }

    /// Adds `[start, end)`, merging it with adjacent pooled spans. Returns
    /// `false`, changing nothing, when it is full and nothing merges.
    pub(crate) fn put(&mut self, start: *mut u8, end: usize) -> bool {
        let addr = start.addr();
        if addr >= end {
            return true;
        }
        // The first pooled span starting after `start`.
        let at = self.starts[..self.len].partition_point(|s| s.addr() < addr);
        let joins_prev = at > 0 && self.ends[at - 1] == addr;
        let joins_next = at < self.len && self.starts[at].addr() == end;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ends[at - 1] = self.ends[at];
                self.remove_at(at);
            }
            (true, false) => self.ends[at - 1] = end,
            (false, true) => self.starts[at] = start,
            (false, false) => {
                if self.len == POOL_CAPACITY {
                    return false;
                }
                self.starts.copy_within(at..self.len, at + 1);
                self.ends.copy_within(at..self.len, at + 1);
                self.starts[at] = start;
                self.ends[at] = end;
                self.len += 1;
            }
        }
        true
    }

    /// Takes `size` bytes starting at a multiple of `align` from the first
    /// pooled span that has them; the rest of that span stays pooled.
    pub(crate) fn take(&mut self, size: usize, align: usize) -> Option<Span> {
        let size = size.max(1);
        let i = (0..self.len).find(|&i| {
            align_up(self.starts[i].addr(), align)
                .and_then(|a| a.checked_add(size))
                .is_some_and(|e| e <= self.ends[i])
        })?;
        let (start, end) = (self.starts[i], self.ends[i]);
        let a = align_up(start.addr(), align)?;
        let mut taken_end = a + size;
        self.remove_at(i);
        // One entry was just freed, so one of the two remainders always fits;
        // a tail that does not goes with the span, a head that does not
        // (alignment padding) is left out until the source ends.
        if !self.put(start.with_addr(taken_end), end) {
            taken_end = end;
        }
        let _ = self.put(start, a);
        let piece = NonNull::new(start.with_addr(a))?;
        Some(Span::new(piece, taken_end - a))
    }
}

/// The adaptive heap's source, its span map and its pool.
#[derive(Debug)]
pub(crate) struct Provider<S> {
    pub(crate) source: S,
    pub(crate) map: SpanMap,
    pub(crate) pool: SpanPool,
}

impl<S> Provider<S> {
    pub(crate) const fn new(source: S) -> Self {
        Self {
            source,
            map: SpanMap::new(),
            pool: SpanPool::new(),
        }
    }
}

impl<S: Source> Provider<S> {
    /// Records `span` for `slot` in the map, first moving the map to larger
    /// storage if it is full (invariant 3).
    #[inline]
    pub(crate) fn record(&mut self, span: Span, slot: u8) {
        if self.map.is_full() {
            self.grow_map();
        }
        self.map.insert(span, slot);
    }

    /// Moves the map to storage with room for twice its entries, taken
    /// from the pool or the source; if neither has it, the map stays as it
    /// is and the next insert overflows.
    #[cold]
    #[inline(never)]
    fn grow_map(&mut self) {
        let Some(bytes) = self.map.next_storage_bytes() else {
            return;
        };
        let align = align_of::<usize>();
        let storage = match self.pool.take(bytes, align) {
            Some(span) => Some(span),
            None => self.source.acquire(bytes, align),
        };
        if let Some(storage) = storage {
            // SAFETY: `storage` was just taken from the pool or the source,
            // aligned for `usize`; no core holds it and the map alone will.
            let spare = unsafe { self.map.move_to(storage) };
            if let Some(spare) = spare {
                self.give_back(spare);
            }
        }
    }

    /// Returns a span no core holds and the map no longer uses to the
    /// source, or to the pool where the source cannot take it (invariant
    /// 4). A span the full pool refuses stays unused until the source ends.
    fn give_back(&mut self, span: Span) {
        if self.source.can_release() {
            // SAFETY: on a releasing source the pool is empty, so `span`
            // came straight from the source, exactly as it handed it out;
            // nothing uses it any more.
            unsafe { self.source.release(span) };
        } else {
            let _ = self.pool.put(span.ptr().as_ptr(), span.end());
        }
    }

    /// Gives the map's storage back, when the heap ends.
    pub(crate) fn release_map(&mut self) {
        if let Some(storage) = self.map.take_storage() {
            self.give_back(storage);
        }
    }
}

/// The `SLOT` of a [`Lease`] that learns its slot at each
/// [`bind`](Lease::bind) instead of from its type: two cores of one type
/// (the init heap and the run free list) then share one lease type, and
/// their core's code is compiled once.
pub(crate) const SLOT_AT_BIND: u8 = u8::MAX;

/// A core's handle on the adaptive heap's source: every span it acquires is
/// recorded under its slot.
///
/// The slot is a type parameter, or with [`SLOT_AT_BIND`] the one the last
/// bind gave. A new lease is zero bytes: unbound, with no slot.
pub struct Lease<S, const SLOT: u8> {
    provider: Cell<*mut Provider<S>>,
    /// The slot, for a [`SLOT_AT_BIND`] lease; unused otherwise.
    slot: Cell<u8>,
}

// SAFETY: a lease is only followed while the adaptive heap that owns both it
// and the provider is exclusively borrowed (invariant 1), so sending the heap
// to another thread sends the provider with it; `S: Send` covers the source.
unsafe impl<S: Send, const SLOT: u8> Send for Lease<S, SLOT> {}

impl<S, const SLOT: u8> Lease<S, SLOT> {
    /// An unbound lease.
    pub(crate) const fn new() -> Self {
        Self {
            provider: Cell::new(ptr::null_mut()),
            slot: Cell::new(0),
        }
    }

    /// Points the lease at `provider` (invariant 1), for the core of
    /// `slot`: the type's `SLOT`, or any for a [`SLOT_AT_BIND`] lease.
    #[inline(always)]
    pub(crate) fn bind(&self, provider: *mut Provider<S>, slot: u8) {
        self.provider.set(provider);
        if SLOT == SLOT_AT_BIND {
            self.slot.set(slot);
        } else {
            debug_assert_eq!(slot, SLOT, "a lease bound for another slot");
        }
    }

    /// The slot whose spans this lease records.
    #[inline(always)]
    fn slot(&self) -> u8 {
        if SLOT == SLOT_AT_BIND {
            self.slot.get()
        } else {
            SLOT
        }
    }

    /// The provider, if bound.
    #[inline]
    fn provider(&mut self) -> Option<&mut Provider<S>> {
        let p = self.provider.get();
        // SAFETY: a bound pointer points at the provider of the adaptive heap
        // that is, right now, exclusively borrowed and calling into the core
        // that holds this lease (invariant 1); the provider is a field of
        // that heap disjoint from the core, and nothing else refers to it
        // during the call.
        unsafe { p.as_mut() }
    }
}

impl<S, const SLOT: u8> core::fmt::Debug for Lease<S, SLOT> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lease").field("slot", &self.slot()).finish()
    }
}

// SAFETY: every span is either straight from the provider's source, which
// upholds the contract, or a piece of a span a core gave back to the pool
// (invariant 4): memory the source handed out, that no core holds any more,
// disjoint from everything else pooled or held, and aligned as asked.
unsafe impl<S: Source, const SLOT: u8> Source for Lease<S, SLOT> {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let slot = self.slot();
        let provider = self.provider()?;
        let span = match provider.pool.take(size, align) {
            Some(span) => span,
            None => provider.source.acquire(size, align)?,
        };
        provider.record(span, slot);
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        let Some(provider) = self.provider() else {
            return false;
        };
        let released = if provider.source.can_release() {
            // SAFETY: forwarded from the caller: `span` was handed out by
            // this lease (or is a union of adjacent spans it handed out,
            // where the source's `merges` allows that), and on a releasing
            // source never from the pool, so as the source handed it out.
            unsafe { provider.source.release(span) }
        } else {
            provider.pool.put(span.ptr().as_ptr(), span.end())
        };
        if released {
            provider.map.remove(span);
        }
        released
    }

    fn can_release(&self) -> bool {
        // Either the source takes spans back or the pool does.
        true
    }

    fn merges(&self) -> bool {
        // Over a source that cannot take memory back, what a core gives back
        // goes to the pool, which takes any range, and the source's spans
        // may be joined (one address range, one provenance: wasm32's linear
        // memory, a region); the map forgets every entry inside a released
        // union. Over `mmap`, never.
        let p = self.provider.get();
        // SAFETY: as in `provider`: a bound pointer points at the provider
        // of the adaptive heap calling into this lease's core right now
        // (invariant 1); only its source is read.
        unsafe { p.as_ref() }.is_some_and(|p| p.source.merges())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, len: usize) -> Span {
        Span::new(
            NonNull::new(ptr::without_provenance_mut(start)).unwrap(),
            len,
        )
    }

    #[test]
    fn removing_a_union_of_adjacent_spans_forgets_each_of_them() {
        let mut map = SpanMap::new();
        // Three adjacent spans of one core (merged by it into one), with
        // another core's spans on either side.
        map.insert(span(0x1000, 0x1000), 1);
        map.insert(span(0x2000, 0x1000), 2);
        map.insert(span(0x3000, 0x2000), 2);
        map.insert(span(0x5000, 0x1000), 2);
        map.insert(span(0x6000, 0x1000), 3);
        map.remove(span(0x2000, 0x4000));
        assert!(
            map.iter().eq([(0x1000, 0x2000, 1), (0x6000, 0x7000, 3)]),
            "{map:?}"
        );
        assert_eq!(map.lookup(0x4000), None);
        // A span the map does not hold changes nothing.
        map.remove(span(0x2000, 0x1000));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn map_finds_the_span_holding_an_address() {
        let mut map = SpanMap::new();
        map.insert(span(0x3000, 0x1000), 2);
        map.insert(span(0x1000, 0x1000), 1);
        map.insert(span(0x8000, 0x100), 3);
        assert_eq!(map.lookup(0x0fff), None);
        assert_eq!(map.lookup(0x1000), Some(1));
        assert_eq!(map.lookup(0x1fff), Some(1));
        assert_eq!(map.lookup(0x2000), None);
        assert_eq!(map.lookup(0x3abc), Some(2));
        assert_eq!(map.lookup(0x80ff), Some(3));
        assert_eq!(map.lookup(0x8100), None);
        map.remove(span(0x3000, 0x1000));
        assert_eq!(map.lookup(0x3abc), None);
        assert_eq!(map.lookup(0x1abc), Some(1));
        let starts: [usize; 2] = [map.iter().next().unwrap().0, map.iter().nth(1).unwrap().0];
        assert_eq!(starts, [0x1000, 0x8000]);
    }

    #[test]
    fn a_full_map_without_storage_says_it_overflowed() {
        let mut map = SpanMap::new();
        for i in 0..INLINE_SPANS + 1 {
            map.insert(span(0x1000 * (i + 1), 0x100), 1);
        }
        assert!(map.overflowed());
        assert_eq!(map.lookup(0x1000 * INLINE_SPANS), Some(1));
        assert_eq!(map.lookup(0x1000 * (INLINE_SPANS + 1)), None);
    }
}

#[cfg(test)]
mod provider_tests {
    extern crate std;

    use super::*;
    use polyalloc_core::source::RegionSource;
    use std::vec;
    use std::vec::Vec;

    /// A span at a made-up address: the map never reads the memory of the
    /// spans it records.
    fn span(start: usize, len: usize) -> Span {
        Span::new(
            NonNull::new(ptr::without_provenance_mut(start)).unwrap(),
            len,
        )
    }

    /// Span `i` of a spread of `n`, recorded in a scrambled order.
    fn nth(i: usize, n: usize) -> usize {
        (i * 37) % n
    }

    #[test]
    fn the_map_grows_into_storage_from_the_source_and_gives_it_back() {
        const N: usize = 5 * INLINE_SPANS;
        let mut buf = vec![0u64; 64 * 1024 / 8];
        let len = buf.len() * 8;
        // SAFETY: the buffer outlives the provider and nothing else uses it.
        let source = unsafe { RegionSource::new(buf.as_mut_ptr().cast(), len) };
        let mut p = Provider::new(source);
        for i in 0..N {
            let k = nth(i, N);
            p.record(span(0x10_0000 + 0x1000 * k, 0x800), (k % 5) as u8);
        }
        assert!(
            !p.map.overflowed(),
            "the map overflowed with memory to grow"
        );
        assert_eq!(p.map.len(), N);
        assert!(p.map.storage_bytes() >= N * ENTRY_BYTES);
        for k in 0..N {
            let a = 0x10_0000 + 0x1000 * k;
            assert_eq!(p.map.lookup(a), Some((k % 5) as u8));
            assert_eq!(p.map.lookup(a + 0x7ff), Some((k % 5) as u8));
            assert_eq!(p.map.lookup(a + 0x800), None);
        }
        let starts: Vec<usize> = p.map.iter().map(|e| e.0).collect();
        assert!(
            starts.windows(2).all(|w| w[0] < w[1]),
            "entries out of order"
        );
        for k in (0..N).step_by(2) {
            p.map.remove(span(0x10_0000 + 0x1000 * k, 0x800));
        }
        assert_eq!(p.map.len(), N / 2);
        assert_eq!(p.map.lookup(0x10_0000), None);
        assert_eq!(p.map.lookup(0x10_1000), Some(1));
        // The region cannot take memory back: every byte the map took from
        // it is in the pool once the map lets its storage go.
        p.release_map();
        assert_eq!(p.map.storage_bytes(), 0);
        assert_eq!(p.pool.bytes(), len - p.source.remaining());
        drop(buf);
    }

    #[test]
    fn a_lease_records_spans_under_its_slot_fixed_or_bound() {
        let mut buf = vec![0u64; 64 * 1024 / 8];
        let len = buf.len() * 8;
        // SAFETY: the buffer outlives the provider and nothing else uses it.
        let source = unsafe { RegionSource::new(buf.as_mut_ptr().cast(), len) };
        let mut p = Provider::new(source);
        let provider = ptr::addr_of_mut!(p);
        let mut fixed: Lease<RegionSource, 3> = Lease::new();
        let mut shared: Lease<RegionSource, SLOT_AT_BIND> = Lease::new();
        fixed.bind(provider, 3);
        let a = fixed.acquire(4096, 8).unwrap();
        // One lease type for two cores: each bind says which.
        shared.bind(provider, 1);
        let b = shared.acquire(4096, 8).unwrap();
        shared.bind(provider, 2);
        let c = shared.acquire(4096, 8).unwrap();
        // SAFETY: `p` is only reached through `provider` while the leases
        // are not in a call.
        let map = unsafe { &(*provider).map };
        assert_eq!(map.lookup(a.start()), Some(3));
        assert_eq!(map.lookup(b.start()), Some(1));
        assert_eq!(map.lookup(c.start()), Some(2));
        assert_eq!(std::format!("{shared:?}"), "Lease { slot: 2 }");
    }

    #[test]
    fn a_map_with_no_memory_for_storage_overflows_and_keeps_what_it_has() {
        // SAFETY: an empty region hands out nothing.
        let source = unsafe { RegionSource::new(ptr::dangling_mut(), 0) };
        let mut p = Provider::new(source);
        for i in 0..INLINE_SPANS + 3 {
            p.record(span(0x1000 * (i + 1), 0x100), 2);
        }
        assert!(p.map.overflowed());
        assert_eq!(p.map.len(), INLINE_SPANS);
        assert_eq!(p.map.lookup(0x1000), Some(2));
    }
}

#[cfg(test)]
mod pool_tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn pooled_spans_coalesce_and_are_taken_in_aligned_pieces() {
        let mut buf = vec![0u64; 0x4000 / 8];
        let base = buf.as_mut_ptr().cast::<u8>();
        let at = |off: usize| base.wrapping_add(off);
        let b = base.addr();
        let mut pool = SpanPool::new();
        assert!(pool.put(at(0x1000), b + 0x2000));
        assert!(pool.put(at(0x3000), b + 0x4000));
        assert!(pool.put(at(0x2000), b + 0x3000));
        assert_eq!(pool.iter().collect::<Vec<_>>(), [(b + 0x1000, b + 0x4000)]);
        let first = pool.take(0x100, 8).unwrap();
        assert_eq!((first.start(), first.len()), (b + 0x1000, 0x100));
        let aligned = pool.take(0x100, 0x40).unwrap();
        assert_eq!(aligned.start() % 0x40, 0);
        // The pieces are writable memory of the buffer.
        // SAFETY: both pieces lie inside `buf`.
        unsafe { aligned.ptr().as_ptr().write_bytes(0xAB, aligned.len()) };
        // The alignment padding went back to the pool.
        assert_eq!(pool.bytes(), 0x3000 - 0x200);
        assert!(pool.take(0x4000, 8).is_none());
        assert!(pool.put(first.ptr().as_ptr(), first.end()));
        assert!(pool.put(aligned.ptr().as_ptr(), aligned.end()));
        assert_eq!(pool.iter().collect::<Vec<_>>(), [(b + 0x1000, b + 0x4000)]);
        drop(buf);
    }

    #[test]
    fn a_full_pool_refuses_and_still_hands_out() {
        let mut buf = vec![0u64; (POOL_CAPACITY + 2) * 0x200 / 8];
        let base = buf.as_mut_ptr().cast::<u8>();
        let mut pool = SpanPool::new();
        for i in 0..POOL_CAPACITY {
            let s = base.wrapping_add(0x200 * i);
            assert!(pool.put(s, s.addr() + 0x100));
        }
        let extra = base.wrapping_add(0x200 * (POOL_CAPACITY + 1));
        assert!(!pool.put(extra, extra.addr() + 0x100));
        // Taking an aligned piece from inside a span needs two entries for
        // the rest: the tail goes with the piece.
        let piece = pool.take(0x10, 0x40).unwrap();
        assert_eq!(piece.start(), align_up(base.addr(), 0x40).unwrap());
        assert!(piece.len() >= 0x10);
        drop(buf);
    }
}
