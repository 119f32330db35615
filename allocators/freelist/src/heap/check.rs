//! The debug-only heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
//! verifies invariants 1 to 7 of the parent module.

use polyalloc_core::heap::ensure;
use polyalloc_core::source::Source;
use polyalloc_core::{CheckError, Recorder};

use super::{
    FENCE, FL_COUNT, FLAGS, FreeListHeap, GRAN, MIN_BLOCK, PREV_USED, SL_COUNT, SPAN_HEADER,
    SpanHeader, USED, WORD, bin_of, header, next_free, prev_free,
};

impl<S: Source, R: Recorder> FreeListHeap<S, R> {
    /// The heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
    /// walks every span block by block (invariants 1–4 and 7), then every
    /// bin (5–6), and ties the two together: every free block met in the
    /// walk is on its bin's list, and the lists hold nothing else.
    pub(super) fn check_invariants(&self) -> Result<(), CheckError> {
        // Bound every walk by what fits in the reserved bytes, so a cycle is
        // reported instead of looping forever.
        let reserved = self.stats.bytes_reserved();
        let limit = reserved / MIN_BLOCK + 1;
        // The span list must end before anything searches it.
        let mut spans = 0usize;
        let mut table = SpanTable::new();
        for span in self.span_iter() {
            spans += 1;
            ensure(
                spans <= limit,
                "7: the span list is acyclic",
                span.addr(),
                spans,
            )?;
            table.insert(span);
        }
        // The bins first: `walk_span` follows their links.
        let binned = self.walk_bins(limit, &table)?;
        let mut total = 0usize;
        let mut free_blocks = 0usize;
        let mut newer: *mut SpanHeader = core::ptr::null_mut();
        // The list ends (checked above).
        for span in self.span_iter() {
            let s = span.addr();
            // SAFETY: every span on the list is live.
            let (len, prev) = unsafe { ((*span).len, (*span).prev) };
            ensure(
                prev == newer,
                "7: span prev links mirror next links",
                s,
                prev.addr(),
            )?;
            newer = span;
            ensure(s % GRAN == 0, "1: spans start at a multiple of GRAN", s, s)?;
            ensure(
                len % GRAN == 0,
                "1: span lengths are multiples of GRAN",
                s,
                len,
            )?;
            ensure(
                len >= SPAN_HEADER + WORD + MIN_BLOCK,
                "1: a span holds at least one block",
                s,
                len,
            )?;
            total = total.wrapping_add(len);
            free_blocks += self.walk_span(span, len, limit)?;
        }
        ensure(
            total == reserved,
            "7: bytes_reserved is the sum of the span lengths",
            total,
            reserved,
        )?;
        let victim = self.check_victim()?;
        ensure(
            binned + victim == free_blocks,
            "5: the bins and the victim hold exactly the free blocks",
            binned + victim,
            free_blocks,
        )
    }

    /// Checks the designated victim; returns 1 if there is one, else 0.
    fn check_victim(&self) -> Result<usize, CheckError> {
        let dv = self.dv;
        if dv.is_null() {
            ensure(
                self.dv_size == 0,
                "5: no victim has dv_size 0",
                0,
                self.dv_size,
            )?;
            return Ok(0);
        }
        ensure(
            dv.addr() % GRAN == WORD && self.in_some_span(dv.addr(), &SpanTable::new()),
            "5: the victim is a block header in a span",
            dv.addr(),
            0,
        )?;
        // SAFETY: `dv` lies inside a live span (just checked).
        let h = unsafe { header(dv) };
        ensure(h & USED == 0, "5: the victim is free", dv.addr(), h)?;
        ensure(
            h & !FLAGS == self.dv_size,
            "5: dv_size is the victim's size",
            dv.addr(),
            self.dv_size,
        )?;
        Ok(1)
    }

    /// Walks one span's blocks; returns how many are free.
    fn walk_span(
        &self,
        span: *mut SpanHeader,
        len: usize,
        limit: usize,
    ) -> Result<usize, CheckError> {
        let start = span.cast::<u8>();
        let fence_at = span.addr() + len - WORD;
        // SAFETY: the first block follows the header inside the span.
        let mut b = unsafe { start.add(SPAN_HEADER) };
        let mut prev_used = true;
        let mut free = 0;
        let mut steps = 0;
        while b.addr() < fence_at {
            steps += 1;
            ensure(steps <= limit, "1: blocks tile the span", b.addr(), steps)?;
            // SAFETY: `b` is below the fence, at a header the previous
            // block's size led to (checked to stay inside the span).
            let h = unsafe { header(b) };
            let size = h & !FLAGS;
            ensure(
                h & FENCE == 0,
                "2: only the last word is a fence",
                b.addr(),
                h,
            )?;
            ensure(
                size % GRAN == 0,
                "1: block sizes are multiples of GRAN",
                b.addr(),
                size,
            )?;
            ensure(
                size >= MIN_BLOCK,
                "1: blocks are at least MIN_BLOCK",
                b.addr(),
                size,
            )?;
            ensure(
                size <= fence_at - b.addr(),
                "1: blocks end at or before the fence",
                b.addr(),
                size,
            )?;
            ensure(
                (h & PREV_USED != 0) == prev_used,
                "2: PREV_USED is set exactly when the block before is used",
                b.addr(),
                h,
            )?;
            let used = h & USED != 0;
            if !used {
                free += 1;
                ensure(prev_used, "3: no two free blocks are adjacent", b.addr(), h)?;
                // SAFETY: the footer is the block's last word.
                let footer = unsafe { b.add(size - WORD).cast::<usize>().read() };
                ensure(
                    footer == size,
                    "4: a free block's footer is its size",
                    b.addr(),
                    footer,
                )?;
                self.on_its_list(b, size, limit)?;
            }
            prev_used = used;
            // SAFETY: `size` keeps `b` at or below the fence (checked above).
            b = unsafe { b.add(size) };
        }
        ensure(
            b.addr() == fence_at,
            "1: blocks tile the span up to its fence",
            b.addr(),
            fence_at,
        )?;
        // SAFETY: the fence is the span's last word.
        let fence = unsafe { header(b) };
        ensure(
            fence & !FLAGS == len && fence & (USED | FENCE) == USED | FENCE,
            "2: the fence is USED | FENCE and holds the span length",
            b.addr(),
            fence,
        )?;
        ensure(
            (fence & PREV_USED != 0) == prev_used,
            "2: the fence's PREV_USED matches the last block",
            b.addr(),
            fence,
        )?;
        Ok(free)
    }

    /// Whether free block `b` is on the list of its bin.
    fn on_its_list(&self, b: *mut u8, size: usize, limit: usize) -> Result<(), CheckError> {
        if b == self.dv {
            // The victim is on no list; `walk_bins` would count it if it were.
            return Ok(());
        }
        let (fl, sl) = bin_of(size);
        let mut e = self.heads[fl][sl];
        let mut steps = 0;
        while !e.is_null() && steps <= limit {
            if e == b {
                return Ok(());
            }
            steps += 1;
            // SAFETY: `walk_bins` has checked every list entry to be a
            // header in a live span.
            e = unsafe { next_free(e) };
        }
        Err(CheckError::new(
            "5: every free block is on the list of its bin",
            b.addr(),
            size,
        ))
    }

    /// Walks every bin; returns the number of entries.
    fn walk_bins(&self, limit: usize, table: &SpanTable) -> Result<usize, CheckError> {
        let mut count = 0;
        let mut fl_expected = 0usize;
        for fl in 0..FL_COUNT {
            if self.sl_bitmap[fl] == 0 {
                // A row the bitmap calls empty: its heads OR together to
                // null, one test for the row instead of one per bin (the
                // heap walk runs after every step of the model and the
                // fuzz targets, where a test per bin dominated).
                let any = self.heads[fl].iter().fold(0, |any, h| any | h.addr());
                ensure(
                    any == 0,
                    "6: sl_bitmap marks exactly the non-empty bins",
                    fl,
                    0,
                )?;
                continue;
            }
            let mut sl_expected = 0u32;
            for sl in 0..SL_COUNT {
                let head = self.heads[fl][sl];
                if !head.is_null() {
                    sl_expected |= 1 << sl;
                }
                let mut e = head;
                let mut prev: *mut u8 = core::ptr::null_mut();
                while !e.is_null() {
                    count += 1;
                    ensure(count <= limit, "5: the lists are acyclic", e.addr(), count)?;
                    ensure(
                        e.addr() % GRAN == WORD && self.in_some_span(e.addr(), table),
                        "5: list entries are block headers in a span",
                        e.addr(),
                        0,
                    )?;
                    // SAFETY: `e` lies inside a live span (just checked).
                    let (h, back, next) = unsafe { (header(e), prev_free(e), next_free(e)) };
                    ensure(h & USED == 0, "5: list entries are free", e.addr(), h)?;
                    ensure(
                        bin_of(h & !FLAGS) == (fl, sl),
                        "5: a free block is in the bin of its size",
                        e.addr(),
                        h & !FLAGS,
                    )?;
                    ensure(
                        back == prev,
                        "5: prev links mirror next links",
                        e.addr(),
                        back.addr(),
                    )?;
                    prev = e;
                    e = next;
                }
            }
            ensure(
                self.sl_bitmap[fl] == sl_expected,
                "6: sl_bitmap marks exactly the non-empty bins",
                fl,
                self.sl_bitmap[fl] as usize,
            )?;
            if sl_expected != 0 {
                fl_expected |= 1 << fl;
            }
        }
        ensure(
            self.fl_bitmap == fl_expected,
            "6: fl_bitmap marks exactly the non-empty rows",
            fl_expected,
            self.fl_bitmap,
        )?;
        Ok(count)
    }

    /// Whether `addr` is inside a span's blocks: a binary search of
    /// `table` when it holds every span, else a search of the span list (a
    /// search of the list for each free block was the walk's largest cost
    /// under the fuzzer).
    fn in_some_span(&self, addr: usize, table: &SpanTable) -> bool {
        if let Some(found) = table.holds(addr) {
            return found;
        }
        self.span_iter().any(|span| {
            // SAFETY: every span on the list is live.
            let len = unsafe { (*span).len };
            addr >= span.addr() + SPAN_HEADER && addr + MIN_BLOCK <= span.addr() + len - WORD
        })
    }
}

/// Spans in a table for the heap walk: the first [`SpanTable::CAP`] spans'
/// block ranges, sorted by address (on the stack: the walk allocates
/// nothing).
struct SpanTable {
    /// How many ranges are held, or `CAP + 1` once a span did not fit.
    n: usize,
    /// Where each span's first block header may be.
    start: [usize; SpanTable::CAP],
    /// How far each span's blocks reach (its fence).
    end: [usize; SpanTable::CAP],
}

impl SpanTable {
    /// Spans held; a heap with more is searched span by span.
    const CAP: usize = 64;

    /// A table holding no span (asked, it says nothing is held).
    fn new() -> Self {
        Self {
            n: 0,
            start: [0; Self::CAP],
            end: [0; Self::CAP],
        }
    }

    /// Adds `span` (live), kept in address order: spans come newest first,
    /// which is mostly one address order or the other, so the shifting is
    /// short.
    fn insert(&mut self, span: *mut SpanHeader) {
        if self.n >= Self::CAP {
            self.n = Self::CAP + 1;
            return;
        }
        // SAFETY: the caller passes a span of the list, which is live.
        let len = unsafe { (*span).len };
        let (lo, hi) = (span.addr() + SPAN_HEADER, span.addr() + len - WORD);
        let mut i = self.n;
        while i > 0 && self.start[i - 1] > lo {
            self.start[i] = self.start[i - 1];
            self.end[i] = self.end[i - 1];
            i -= 1;
        }
        self.start[i] = lo;
        self.end[i] = hi;
        self.n += 1;
    }

    /// Whether `addr` is inside a span's blocks, or `None` when the table
    /// does not hold every span (or holds none).
    fn holds(&self, addr: usize) -> Option<bool> {
        if self.n == 0 || self.n > Self::CAP {
            return None;
        }
        let i = self.start[..self.n].partition_point(|&lo| lo <= addr);
        Some(i > 0 && addr + MIN_BLOCK <= self.end[i - 1])
    }
}
