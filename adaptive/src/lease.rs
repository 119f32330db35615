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

use core::cell::Cell;
use core::ptr;

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
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize, u8)> + '_ {
        (0..self.len).map(|i| (self.starts[i], self.ends[i], self.slots[i]))
    }
}

/// The adaptive heap's source and its span map.
#[derive(Debug)]
pub(crate) struct Provider<S> {
    pub(crate) source: S,
    pub(crate) map: SpanMap,
}

impl<S> Provider<S> {
    pub(crate) const fn new(source: S) -> Self {
        Self {
            source,
            map: SpanMap::new(),
        }
    }
}

/// A core's handle on the adaptive heap's source: every span it acquires is
/// recorded under its slot.
///
/// Public only because it appears in the types of the cores the adaptive heap
/// holds; it cannot be built outside this crate.
pub struct Lease<S> {
    provider: Cell<*mut Provider<S>>,
    slot: u8,
}

// SAFETY: a lease is only followed while the adaptive heap that owns both it
// and the provider is exclusively borrowed (invariant 1), so sending the heap
// to another thread sends the provider with it; `S: Send` covers the source.
unsafe impl<S: Send> Send for Lease<S> {}

impl<S> Lease<S> {
    /// An unbound lease for `slot`.
    pub(crate) const fn new(slot: u8) -> Self {
        Self {
            provider: Cell::new(ptr::null_mut()),
            slot,
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

impl<S> core::fmt::Debug for Lease<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lease").field("slot", &self.slot).finish()
    }
}

// SAFETY: every span comes from the provider's source, which upholds the
// contract; the lease only records it and passes it on unchanged.
unsafe impl<S: Source> Source for Lease<S> {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let slot = self.slot;
        let provider = self.provider()?;
        let span = provider.source.acquire(size, align)?;
        provider.map.insert(span, slot);
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        let Some(provider) = self.provider() else {
            return false;
        };
        // SAFETY: forwarded from the caller: `span` was handed out by this
        // lease, hence by the provider's source.
        let released = unsafe { provider.source.release(span) };
        if released {
            provider.map.remove(span);
        }
        released
    }

    fn can_release(&self) -> bool {
        let p = self.provider.get();
        // SAFETY: as in `provider`: a bound pointer points at the live
        // provider of the heap calling into this lease's core; only a shared
        // reference is made, for the duration of the query.
        unsafe { p.as_ref() }.is_some_and(|p| p.source.can_release())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::NonNull;

    fn span(start: usize, len: usize) -> Span {
        Span::new(NonNull::new(start as *mut u8).unwrap(), len)
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
