//! The debug-only heap walk behind [`Heap::check`](polyalloc_core::Heap::check):
//! verifies invariants 1 to 5 of the parent module.

use core::mem::align_of;
use core::ptr;

use polyalloc_core::heap::ensure;
use polyalloc_core::source::Source;
use polyalloc_core::{CheckError, Recorder};

use super::{BumpHeap, ChunkHeader, EMPTY, HEADER};

impl<S: Source, R: Recorder> BumpHeap<S, R> {
    /// The heap walk behind [`Heap::check`]: invariants 1–5 of the module.
    pub(super) fn check_invariants(&self) -> Result<(), CheckError> {
        if self.current.is_null() {
            for (value, what) in [
                (self.top, "1: empty heap has top == 0"),
                (self.limit, "1: empty heap has limit == 0"),
                (self.start, "1: empty heap has start == 0"),
            ] {
                ensure(value == EMPTY, what, EMPTY, value)?;
            }
        } else {
            let c = self.current.addr();
            ensure(
                self.start == c + HEADER,
                "2: start == current + HEADER",
                c,
                self.start,
            )?;
            // SAFETY: the current chunk is live.
            let len = unsafe { (*self.current).len };
            ensure(
                self.limit == c + len + 1,
                "2: limit == current + len + 1",
                c,
                self.limit,
            )?;
            ensure(
                self.start <= self.top,
                "2: start <= top",
                self.start,
                self.top,
            )?;
            ensure(self.top < self.limit, "2: top <= end", self.limit, self.top)?;
        }
        // Bound every walk by the number of headers that could fit in the
        // reserved bytes, so a cycle is reported instead of looping forever.
        let limit = self.stats.bytes_reserved() / HEADER + 1;
        let mut reserved = 0usize;
        for (list, head) in [(0, self.current), (1, self.spare)] {
            let mut chunk = head;
            let mut steps = 0;
            while !chunk.is_null() {
                steps += 1;
                ensure(
                    steps <= limit,
                    "3/4: chunk lists are acyclic",
                    chunk.addr(),
                    steps,
                )?;
                let c = chunk.addr();
                ensure(
                    c % align_of::<ChunkHeader>() == 0,
                    "chunk headers are aligned",
                    c,
                    c % align_of::<ChunkHeader>(),
                )?;
                // SAFETY: nodes of the heap's lists are live headers.
                let (len, top, next) = unsafe { ((*chunk).len, (*chunk).top, (*chunk).next) };
                ensure(len >= HEADER, "chunks hold at least a header", c, len)?;
                if list == 0 && chunk != self.current {
                    ensure(
                        top >= c + HEADER && top <= c + len,
                        "3: a used chunk's saved top lies inside it",
                        c,
                        top,
                    )?;
                }
                // Disjoint from every chunk after it on either list.
                for other_head in [
                    next,
                    if list == 0 {
                        self.spare
                    } else {
                        ptr::null_mut()
                    },
                ] {
                    let mut other = other_head;
                    let mut inner = 0;
                    while !other.is_null() && inner <= limit {
                        inner += 1;
                        // SAFETY: as above.
                        let olen = unsafe { (*other).len };
                        let o = other.addr();
                        ensure(
                            o + olen <= c || c + len <= o,
                            "4: chunks do not overlap",
                            c,
                            o,
                        )?;
                        // SAFETY: as above.
                        other = unsafe { (*other).next };
                    }
                }
                reserved += len;
                chunk = next;
            }
        }
        ensure(
            reserved == self.stats.bytes_reserved(),
            "5: bytes_reserved is the sum of chunk lengths",
            self.stats.bytes_reserved(),
            reserved,
        )
    }
}
