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
//!    core, right before every call into the core, while that heap is
//!    exclusively borrowed. The adaptive heap may move between calls; the
//!    pointer is refreshed each time, so it is never followed stale.
//! 2. **Disjoint spans.** The map holds at most [`MAP_CAPACITY`] spans,
//!    sorted by start, pairwise disjoint (a source never hands out
//!    overlapping spans), each tagged with the slot of the core that holds
//!    it. A span released to the source leaves the map.
//! 3. **Overflow is remembered.** A span that did not fit in the map sets
//!    `overflowed`; from then on, an address the map does not cover may still
//!    belong to a core, and the adaptive heap asks the cores themselves.
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

/// Spans the map tracks before it falls back to asking the cores (invariant
/// 3). Cores grow their spans geometrically, so a heap of many gigabytes
/// still fits.
pub(crate) const MAP_CAPACITY: usize = 128;

/// Sorted, disjoint spans, each tagged with the slot of the core that
/// acquired it.
#[derive(Debug)]
pub(crate) struct SpanMap {
    starts: [usize; MAP_CAPACITY],
    ends: [usize; MAP_CAPACITY],
    slots: [u8; MAP_CAPACITY],
    len: usize,
    overflowed: bool,
}

impl SpanMap {
    pub(crate) const fn new() -> Self {
        Self {
            starts: [0; MAP_CAPACITY],
            ends: [0; MAP_CAPACITY],
            slots: [0; MAP_CAPACITY],
            len: 0,
            overflowed: false,
        }
    }

    /// Index of the last span starting at or below `addr`, if any.
    #[inline]
    fn floor(&self, addr: usize) -> Option<usize> {
        // The number of spans starting at or below `addr`.
        let mut lo = 0;
        let mut hi = self.len;
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.starts[mid] <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1)
    }

    /// The slot whose span holds `addr`, if the map knows one.
    #[inline]
    pub(crate) fn lookup(&self, addr: usize) -> Option<u8> {
        let i = self.floor(addr)?;
        (addr < self.ends[i]).then(|| self.slots[i])
    }

    /// Whether some span could not be recorded (invariant 3).
    #[inline]
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Records `span` for `slot`.
    pub(crate) fn insert(&mut self, span: Span, slot: u8) {
        if self.len == MAP_CAPACITY {
            self.overflowed = true;
            return;
        }
        let at = self.floor(span.start()).map_or(0, |i| i + 1);
        self.starts.copy_within(at..self.len, at + 1);
        self.ends.copy_within(at..self.len, at + 1);
        self.slots.copy_within(at..self.len, at + 1);
        self.starts[at] = span.start();
        self.ends[at] = span.end();
        self.slots[at] = slot;
        self.len += 1;
    }

    /// Forgets `span` (given back to the source).
    pub(crate) fn remove(&mut self, span: Span) {
        if let Some(i) = self.floor(span.start())
            && self.starts[i] == span.start()
        {
            self.starts.copy_within(i + 1..self.len, i);
            self.ends.copy_within(i + 1..self.len, i);
            self.slots.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }

    /// Marks the map overflowed, as if a span had not fitted.
    #[cfg(test)]
    pub(crate) fn force_overflow(&mut self) {
        self.overflowed = true;
    }

    /// The recorded spans, in address order, as `(start, end, slot)`.
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize, u8)> + '_ {
        (0..self.len).map(|i| (self.starts[i], self.ends[i], self.slots[i]))
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

/// A core's handle on the adaptive heap's source: every span it acquires is
/// recorded under its slot.
///
/// The slot is a type parameter, so a lease is one pointer, null until it is
/// bound.
pub struct Lease<S, const SLOT: u8> {
    provider: Cell<*mut Provider<S>>,
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
        }
    }

    /// Points the lease at `provider` (invariant 1).
    #[inline(always)]
    pub(crate) fn bind(&self, provider: *mut Provider<S>) {
        self.provider.set(provider);
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
        f.debug_struct("Lease").field("slot", &SLOT).finish()
    }
}

// SAFETY: every span is either straight from the provider's source, which
// upholds the contract, or a piece of a span a core gave back to the pool
// (invariant 4): memory the source handed out, that no core holds any more,
// disjoint from everything else pooled or held, and aligned as asked.
unsafe impl<S: Source, const SLOT: u8> Source for Lease<S, SLOT> {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let slot = SLOT;
        let provider = self.provider()?;
        let span = match provider.pool.take(size, align) {
            Some(span) => span,
            None => provider.source.acquire(size, align)?,
        };
        provider.map.insert(span, slot);
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        let Some(provider) = self.provider() else {
            return false;
        };
        let released = if provider.source.can_release() {
            // SAFETY: forwarded from the caller: `span` was handed out by
            // this lease, and on a releasing source never from the pool, so
            // exactly as the source handed it out.
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
    fn a_full_map_says_it_overflowed() {
        let mut map = SpanMap::new();
        for i in 0..MAP_CAPACITY + 1 {
            map.insert(span(0x1000 * (i + 1), 0x100), 1);
        }
        assert!(map.overflowed());
        assert_eq!(map.lookup(0x1000 * MAP_CAPACITY), Some(1));
        assert_eq!(map.lookup(0x1000 * (MAP_CAPACITY + 1)), None);
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
