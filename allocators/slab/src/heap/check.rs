//! The debug-only heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
//! verifies invariants 1 to 9 of the parent module.

use polyalloc_core::heap::ensure;
use polyalloc_core::source::Source;
use polyalloc_core::{CheckError, Recorder};

use super::{Large, POOLED, Run, Slab, SlabHeap, base_of, header_at};
use crate::class::{CLASSES, HEADER, INFO, SLAB};

/// The most slots a slab can have (16-byte slots), for the seen-bitmap.
const MAX_SLOTS: usize = (SLAB - HEADER) / 16;

impl<S: Source, R: Recorder> SlabHeap<S, R> {
    /// The heap walk: every class list, the full list and the pool slab by
    /// slab (invariants 1–4), every slab's free list slot by slot (2), the
    /// large list (5), the runs (6), and the bytes they add up to (7).
    pub(super) fn check_invariants(&self) -> Result<(), CheckError> {
        // Bound every walk by what fits in the reserved bytes, so a cycle is
        // reported instead of looping forever.
        let reserved = self.stats.bytes_reserved();
        let limit = reserved / SLAB + 1;
        let mut total = self.stranded;
        // Which classes' hot slabs the walk of the lists met (invariant 9).
        let mut hot_seen = [false; CLASSES];
        for (c, seen) in hot_seen.iter_mut().enumerate() {
            let mut empties = 0;
            total += self.walk_list(self.avail[c], limit, |s| {
                // SAFETY: `walk_list` passes live slab headers.
                let (class, used, cap, on_full) =
                    unsafe { ((*s).class, (*s).used, (*s).cap, (*s).on_full) };
                ensure(
                    class as usize == c,
                    "3: a class list holds slabs of its class",
                    s.addr(),
                    class as usize,
                )?;
                ensure(
                    used <= cap,
                    "3: a class list holds slabs with at most cap slots used",
                    s.addr(),
                    used as usize,
                )?;
                ensure(
                    !on_full,
                    "3: a class list holds no slab marked on the full list",
                    s.addr(),
                    used as usize,
                )?;
                empties += usize::from(used == 0);
                *seen |= self.hot[c].slab == s;
                self.check_slots(s)
            })?;
            ensure(
                empties <= 1,
                "3: a class list holds at most one empty slab",
                c,
                empties,
            )?;
        }
        total += self.walk_list(self.full, limit, |s| {
            // SAFETY: `walk_list` passes live slab headers.
            let (class, used, cap, on_full) =
                unsafe { ((*s).class, (*s).used, (*s).cap, (*s).on_full) };
            ensure(
                (class as usize) < CLASSES && used == cap,
                "3: the full list holds full slabs",
                s.addr(),
                used as usize,
            )?;
            ensure(
                on_full,
                "3: the full list's slabs are marked on it",
                s.addr(),
                used as usize,
            )?;
            ensure(
                self.hot[class as usize].slab != s,
                "9: a hot slab is not on the full list",
                s.addr(),
                class as usize,
            )?;
            self.check_slots(s)
        })?;
        for (c, hot) in self.hot.iter().enumerate() {
            ensure(
                hot.slab.is_null() || hot_seen[c],
                "9: a hot slab is a slab of its class, on its class's list",
                c,
                hot.slab.addr(),
            )?;
            ensure(
                !hot.slab.is_null() || hot.free.is_null(),
                "9: an allocation list belongs to a hot slab",
                c,
                hot.free.addr(),
            )?;
        }
        let mut pooled = 0usize;
        total += self.walk_list(self.pool, limit, |s| {
            // SAFETY: `walk_list` passes live slab headers.
            let (class, used, len) = unsafe { ((*s).class, (*s).used, (*s).span_len) };
            ensure(
                class == POOLED && used == 0,
                "4: the pool holds empty slabs marked pooled",
                s.addr(),
                class as usize,
            )?;
            pooled += len;
            Ok(())
        })?;
        ensure(
            pooled == self.pool_bytes,
            "4: pool_bytes is the pooled slabs' span length",
            pooled,
            self.pool_bytes,
        )?;
        // A large span may be as short as a header and a byte.
        total += self.check_large(reserved / HEADER + 1)?;
        total += self.check_runs(limit)?;
        total += self.check_cached(reserved / HEADER + 1)?;
        ensure(
            total == reserved,
            "7: bytes_reserved is the sum of the slabs, large spans, runs and stranded bytes",
            total,
            reserved,
        )
    }

    /// Walks a slab list: checks invariant 1, the `prev` links and the
    /// bound, calls `each` on every slab; returns the span bytes it holds.
    fn walk_list(
        &self,
        head: *mut Slab,
        limit: usize,
        mut each: impl FnMut(*mut Slab) -> Result<(), CheckError>,
    ) -> Result<usize, CheckError> {
        let mut s = head;
        let mut prev: *mut Slab = core::ptr::null_mut();
        let (mut n, mut bytes) = (0usize, 0usize);
        while !s.is_null() {
            n += 1;
            ensure(n <= limit, "3: slab lists are acyclic", s.addr(), n)?;
            ensure(
                header_at(base_of(s)) == s,
                "1: a slab's header lies at its place in a slab at a multiple of SLAB",
                s.addr(),
                s.addr(),
            )?;
            // SAFETY: every slab on a list is live.
            let (p, next, span, len) = unsafe { ((*s).prev, (*s).next, (*s).span, (*s).span_len) };
            ensure(
                p == prev,
                "3: prev links mirror next links",
                s.addr(),
                p.addr(),
            )?;
            ensure(
                span.addr() <= base_of(s).addr() && base_of(s).addr() + SLAB <= span.addr() + len,
                "1: a slab lies inside its span",
                s.addr(),
                len,
            )?;
            each(s)?;
            bytes += len;
            prev = s;
            s = next;
        }
        Ok(bytes)
    }

    /// Invariant 2 for the slab at `s`, which serves a class.
    fn check_slots(&self, s: *mut Slab) -> Result<(), CheckError> {
        // SAFETY: `s` is a live slab serving a class.
        let (class, used, cap, count, fresh, mut free) = unsafe {
            (
                (*s).class as usize,
                (*s).used as usize,
                (*s).cap as usize,
                (*s).carved as usize,
                (*s).fresh,
                (*s).free,
            )
        };
        let info = INFO[class];
        let stride = info.stride as usize;
        ensure(
            cap == info.cap as usize,
            "2: a slab's cap is its class's",
            s.addr(),
            cap,
        )?;
        // The first slot: fresh minus the carved slots, found from the
        // colour offsets allowed.
        let base = s.addr();
        let off = fresh.addr().wrapping_sub(base).wrapping_sub(HEADER);
        let first = Self::first_slot(s).ok_or(CheckError::new(
            "2: fresh is a slot boundary after a coloured first slot",
            base,
            off,
        ))?;
        let carved = (fresh.addr() - first) / stride;
        ensure(
            carved <= cap,
            "2: fresh lies at or before the end",
            base,
            carved,
        )?;
        ensure(
            count == carved,
            "2: carved counts the slots below fresh",
            base,
            count,
        )?;
        let mut seen = [0u64; MAX_SLOTS.div_ceil(64)];
        let mut nfree = 0usize;
        // The hot slab's free slots are on its class's allocation list, and
        // its own free list is empty (invariant 9).
        let hot = self.hot_list_of(s, class);
        let is_hot = self.hot[class].slab == s;
        ensure(
            !is_hot || free.is_null(),
            "9: a hot slab's own free list is empty",
            base,
            free.addr(),
        )?;
        if is_hot {
            free = hot;
        }
        while !free.is_null() {
            let a = free.addr();
            ensure(
                a >= first && a < fresh.addr() && (a - first) % stride == 0,
                "2: free slots are carved slot boundaries of their slab",
                base,
                a,
            )?;
            let i = (a - first) / stride;
            ensure(
                seen[i / 64] & (1 << (i % 64)) == 0,
                "2: a slot is on the free list at most once",
                base,
                a,
            )?;
            seen[i / 64] |= 1 << (i % 64);
            nfree += 1;
            // SAFETY: a free slot's first word is the next free slot.
            free = unsafe { free.cast::<*mut u8>().read() };
        }
        if is_hot {
            // Every carved slot is handed out or on the allocation list,
            // and `used` counts both.
            ensure(
                nfree <= used && used == carved,
                "9: a hot slab's used counts its slots handed out and those on the allocation list",
                base,
                used,
            )?;
            return Ok(());
        }
        ensure(
            used + nfree == carved,
            "2: used plus free slots is the slots carved",
            base,
            used,
        )
    }

    /// Invariant 5; returns the span bytes of the large blocks.
    fn check_large(&self, limit: usize) -> Result<usize, CheckError> {
        let mut l = self.large;
        let mut prev: *mut Large = core::ptr::null_mut();
        let (mut n, mut bytes) = (0usize, 0usize);
        while !l.is_null() {
            n += 1;
            ensure(n <= limit, "5: the large list is acyclic", l.addr(), n)?;
            // SAFETY: every header on the large list is live.
            let (p, next, span, len, offset) =
                unsafe { ((*l).prev, (*l).next, (*l).span, (*l).span_len, (*l).offset) };
            ensure(
                p == prev,
                "5: large prev links mirror next links",
                l.addr(),
                p.addr(),
            )?;
            ensure(
                offset >= HEADER && offset.is_power_of_two() && l.addr() % offset == 0,
                "5: a large block is max(align, HEADER) after an aligned header",
                l.addr(),
                offset,
            )?;
            ensure(
                span.addr() <= l.addr() && l.addr() + offset <= span.addr() + len,
                "5: a large header and its block lie in its span",
                l.addr(),
                len,
            )?;
            bytes += len;
            prev = l;
            l = next;
        }
        Ok(bytes)
    }

    /// Invariant 8; returns the bytes in cached spans.
    fn check_cached(&self, limit: usize) -> Result<usize, CheckError> {
        let mut r = self.cached;
        let (mut n, mut bytes) = (0usize, 0usize);
        while !r.is_null() {
            n += 1;
            ensure(n <= limit, "8: the cache is acyclic", r.addr(), n)?;
            // SAFETY: every cached span is live.
            let (next, len): (*mut Run, usize) = unsafe { ((*r).next, (*r).len) };
            bytes += len;
            r = next;
        }
        ensure(
            bytes == self.cached_bytes && (self.cached.is_null() || self.source.can_release()),
            "8: cached_bytes is the cached spans' length, only with a source that takes memory back",
            bytes,
            self.cached_bytes,
        )?;
        Ok(bytes)
    }

    /// Invariant 6; returns the bytes in runs.
    fn check_runs(&self, limit: usize) -> Result<usize, CheckError> {
        let mut r = self.runs;
        let mut last_end = 0usize;
        let (mut n, mut bytes) = (0usize, 0usize);
        while !r.is_null() {
            n += 1;
            ensure(n <= limit, "6: the run list is acyclic", r.addr(), n)?;
            // SAFETY: every run on the list is live.
            let (next, len): (*mut Run, usize) = unsafe { ((*r).next, (*r).len) };
            ensure(
                r.addr() % SLAB == 0 && len % SLAB == 0 && len != 0,
                "6: runs are whole slabs",
                r.addr(),
                len,
            )?;
            ensure(
                r.addr() > last_end,
                "6: runs are sorted and never touch",
                r.addr(),
                last_end,
            )?;
            last_end = r.addr() + len;
            bytes += len;
            r = next;
        }
        Ok(bytes)
    }
}
