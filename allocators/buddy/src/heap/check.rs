//! The debug-only heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
//! verifies invariants 1 to 7 of the parent module.

use polyalloc_core::heap::ensure;
use polyalloc_core::source::Source;
use polyalloc_core::{CheckError, Recorder};

use super::{
    Arena, BuddyHeap, MAX_ARENA_ORDER, MAX_ARENAS, MIN_ARENA_ORDER, MIN_BLOCK, MIN_ORDER, ORDERS,
    clear_from, meta_order, next_free, prev_free, tag_of,
};

impl<S: Source, R: Recorder> BuddyHeap<S, R> {
    /// The heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
    /// the arena table (invariants 1 and 6), then every list (2-4 and 7), then
    /// the bitmaps (5): each free block's pair bit is set, and the bitmaps
    /// hold exactly as many set bits as there are free blocks, so the set
    /// bits are exactly the pairs of the free blocks.
    pub(super) fn check_invariants(&self) -> Result<(), CheckError> {
        let reserved = self.stats.bytes_reserved();
        let total = self.check_arenas()?;
        ensure(
            total == reserved,
            "6: bytes_reserved is the sum of the spans' lengths",
            total,
            reserved,
        )?;
        // Bound every walk by what fits in the reserved bytes, so a cycle is
        // reported instead of looping forever.
        let limit = reserved / MIN_BLOCK + 1;
        let mut free_blocks = 0usize;
        for j in 0..ORDERS as u32 {
            free_blocks += self.check_list(j, limit)?;
        }
        // With every list whole (acyclic, links mirrored, blocks in their
        // arenas), no free block may overlap another or sit beside a free
        // buddy.
        for j in 0..ORDERS as u32 {
            self.check_overlaps(j, limit)?;
        }
        let set_bits: usize = self.arenas().iter().map(bitmap_ones).sum();
        ensure(
            set_bits == free_blocks,
            "5: the bitmaps have a set bit per free block and no other",
            set_bits,
            free_blocks,
        )
    }

    /// Checks the arena table; returns the sum of the spans' lengths.
    fn check_arenas(&self) -> Result<usize, CheckError> {
        ensure(
            self.count <= MAX_ARENAS,
            "1: the table holds at most MAX_ARENAS arenas",
            0,
            self.count,
        )?;
        let mut end = 0usize;
        let mut total = 0usize;
        for a in self.arenas() {
            let base = a.base.addr();
            ensure(
                (MIN_ARENA_ORDER..=MAX_ARENA_ORDER).contains(&a.order),
                "1: arena orders lie between the bounds",
                base,
                a.order as usize,
            )?;
            ensure(
                base % a.size() == 0,
                "1: an arena is aligned to its size",
                base,
                a.order as usize,
            )?;
            ensure(
                base >= end && !a.base.is_null(),
                "1: arenas are sorted and disjoint",
                base,
                end,
            )?;
            ensure(
                a.span_len == 0 || a.span_len >= a.size(),
                "1: a span is at least its first arena",
                base,
                a.span_len,
            )?;
            end = base + a.size();
            total = total.wrapping_add(a.span_len);
        }
        // The cache's 1,024 entries, every walk: skipped under Miri, where
        // the scan alone added about a minute to the CI's buddy subset (the
        // native tests and the fuzzer run it).
        // Runs of 64 empty entries are passed over with one test each
        // (their tags OR together to null).
        if !cfg!(miri) {
            for run in self.lookup.chunks(64) {
                if run.iter().fold(0, |any, t| any | t.addr()) == 0 {
                    continue;
                }
                for &tag in run {
                    ensure(
                        tag.is_null() || self.arenas().iter().any(|a| a.tag() == tag),
                        "1: every tag in the lookup cache is an arena's of the table",
                        tag.addr(),
                        0,
                    )?;
                }
            }
        }
        Ok(total)
    }

    /// Whether `b` is on list `j` (a walk of at most `limit` blocks).
    ///
    /// Called once every list has passed [`check_list`](Self::check_list).
    fn on_list(&self, b: *mut u8, j: u32, limit: usize) -> bool {
        let mut p = self.heads[j as usize];
        for _ in 0..limit {
            if p.is_null() {
                return false;
            }
            if p == b {
                return true;
            }
            // SAFETY: every list holds free blocks in live arenas (checked
            // by `check_list` before any walk).
            p = unsafe { next_free(p) };
        }
        false
    }

    /// Whether block `x` of order `j` (at an offset of its arena that is a
    /// multiple of `2^j`) can be on list `j`, in constant time: a block on
    /// a list is its head, or its `prev` link names a block of the list
    /// (checked by `check_list`: in an arena, aligned to `2^j`, past the
    /// bitmap) whose `next` link names it back. `false` is the answer;
    /// `true` is to be confirmed by a walk ([`on_list`](Self::on_list)),
    /// since `x`'s words may hold anything when it is not free.
    fn may_be_on_list(&self, x: *mut u8, j: u32) -> bool {
        if self.heads[j as usize] == x {
            return true;
        }
        // SAFETY: `x` is a block of order `j >= MIN_ORDER` inside a live
        // arena: its first two words lie in that arena.
        let p = unsafe { prev_free(x) };
        // Arenas are aligned to their size, above `2^j`: a block of the list
        // is at a multiple of `2^j`. (The cheap test first: the binary search
        // below is most of this function's cost.)
        if p.is_null() || p.addr() % (1 << j) != 0 {
            return false;
        }
        let Some(i) = self.arena_index(p.addr()) else {
            return false;
        };
        let a = self.arenas[i];
        let off = p.addr() - a.base.addr();
        if j >= a.order || off % (1 << j) != 0 || off < 1 << meta_order(a.order) {
            return false;
        }
        // SAFETY: `p` is at a multiple of `2^j` inside arena `a`, below its
        // order: its first two words lie in the arena.
        unsafe { next_free(p) == x }
    }

    /// Checks that no block on list `j` overlaps a free block of a higher
    /// order or has a free buddy (invariants 3 and 4). Each question is
    /// answered by [`may_be_on_list`](Self::may_be_on_list) first, so a
    /// list is walked only when the constant-time test cannot say no: the
    /// walk of every ancestor's list for every free block made the heap walk
    /// quadratic, and most of the fuzzer's time.
    fn check_overlaps(&self, j: u32, limit: usize) -> Result<(), CheckError> {
        let mut b = self.heads[j as usize];
        while !b.is_null() {
            let addr = b.addr();
            let a = self.arena_of_free(addr, j)?;
            let off = addr - a.base.addr();
            // SAFETY: the buddy lies in the arena (`j` is below its order).
            let buddy = unsafe { a.at(off ^ (1 << j)) };
            ensure(
                !(self.may_be_on_list(buddy, j) && self.on_list(buddy, j, limit)),
                "4: no free block's buddy is free at the same order",
                addr,
                buddy.addr(),
            )?;
            for i in j + 1..a.order {
                // SAFETY: the ancestor lies in the arena.
                let up = unsafe { a.at(off & !((1 << i) - 1)) };
                ensure(
                    !(self.may_be_on_list(up, i) && self.on_list(up, i, limit)),
                    "3: no two free blocks overlap",
                    addr,
                    up.addr(),
                )?;
            }
            // SAFETY: `b` is a free block (checked by `check_list`).
            b = unsafe { next_free(b) };
        }
        Ok(())
    }

    /// The arena holding the free block at `addr`, on list `j`.
    fn arena_of_free(&self, addr: usize, j: u32) -> Result<Arena, CheckError> {
        match self.arena_index(addr) {
            Some(i) => Ok(self.arenas[i]),
            None => Err(CheckError::new(
                "2: a free block lies in an arena",
                addr,
                j as usize,
            )),
        }
    }

    /// Checks list `j` and each block on it; returns its length.
    fn check_list(&self, j: u32, limit: usize) -> Result<usize, CheckError> {
        let head = self.heads[j as usize];
        ensure(
            (self.nonempty >> j & 1 != 0) != head.is_null(),
            "3: nonempty has a bit per non-empty list",
            j as usize,
            self.nonempty,
        )?;
        let mut b = head;
        let mut prev: *mut u8 = core::ptr::null_mut();
        let mut n = 0usize;
        while !b.is_null() {
            n += 1;
            ensure(n <= limit, "3: the lists are acyclic", b.addr(), j as usize)?;
            let addr = b.addr();
            let a = self.arena_of_free(addr, j)?;
            let off = addr - a.base.addr();
            ensure(
                j >= MIN_ORDER && j < a.order,
                "2: a free block's order is below its arena's",
                addr,
                j as usize,
            )?;
            ensure(
                j >= clear_from(a.order, self.floor),
                "7: no free block below the floor outside the spine",
                addr,
                j as usize,
            )?;
            ensure(
                off % (1 << j) == 0 && off >= 1 << meta_order(a.order),
                "2: a free block is aligned to its size, past the bitmap",
                addr,
                off,
            )?;
            // SAFETY: `b` lies inside a live arena, at a multiple of its
            // size of at least two words.
            let back = unsafe { prev_free(b) };
            ensure(
                prev.is_null() || back == prev,
                "3: prev links mirror next links",
                addr,
                back.addr(),
            )?;
            // SAFETY: `j` is below the arena's order and `off` inside it.
            let bit = unsafe { a.bit(j, off) };
            ensure(bit, "5: a free block's pair bit is set", addr, j as usize)?;
            if j > MIN_ORDER {
                // SAFETY: a free block of more than two words.
                let tag = unsafe { tag_of(b) };
                ensure(
                    tag == a.tag(),
                    "3: a free block of more than two words holds its arena's tag",
                    addr,
                    tag.addr(),
                )?;
            }
            prev = b;
            // SAFETY: `b` is a free block (checked above).
            b = unsafe { next_free(b) };
        }
        Ok(n)
    }
}

/// The set bits of an arena's bitmap block, read 32 bytes at a time (the
/// smallest bitmap, a 4 KiB arena's, is 32 bytes): most of a bitmap is
/// zero (only the pairs of free blocks have a bit), and each zero run costs
/// one test. (Under the fuzzer every load and comparison is instrumented,
/// so fewer and wider ones are what make this walk cheap there.)
fn bitmap_ones(a: &Arena) -> usize {
    const _: () = assert!(1 << meta_order(MIN_ARENA_ORDER) >= 32);
    let runs = (1usize << meta_order(a.order)) / 32;
    // SAFETY: the bitmap block is the arena's first `2^m >= 32` bytes, live,
    // aligned to the arena's size (at least 4 KiB) and initialised (zeroed
    // when the arena was made, written by the heap since); nothing writes
    // it while `&self` is held.
    let bitmap = unsafe { core::slice::from_raw_parts(a.base.cast::<[u128; 2]>(), runs) };
    bitmap
        .iter()
        .filter(|&&[x, y]| x | y != 0)
        .map(|&[x, y]| (x.count_ones() + y.count_ones()) as usize)
        .sum()
}
