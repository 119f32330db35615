//! A source over a region the caller owns: a static array, a slice of guest
//! memory managed by a host, a test buffer.

use core::ptr::NonNull;

use super::{Source, Span};
use crate::layout::align_up;

/// Hands out consecutive spans of one caller-provided region.
///
/// Spans are carved from the front of what is left; only the most recently
/// handed out span can be given back (the cursor then moves back to its
/// start), so a heap that grows and shrinks at its top can still return
/// memory. When the region is used up, `acquire` fails cleanly.
///
/// ```
/// use polyalloc_core::source::{RegionSource, Source};
///
/// let mut buf = [0u8; 1024];
/// // SAFETY: `buf` outlives `region` and is not touched while it is in use.
/// let mut region = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
/// let span = region.acquire(100, 8).unwrap();
/// assert!(span.len() >= 100 && span.start() % 8 == 0);
/// assert!(region.acquire(4096, 8).is_none());
/// ```
#[derive(Debug)]
pub struct RegionSource {
    /// Start of the unused part of the region; carries the region's
    /// provenance.
    cursor: *mut u8,
    /// Bytes from `cursor` to the region's end.
    remaining: usize,
    /// Start of the most recently handed out span, for `release`.
    last: Option<Span>,
}

// SAFETY: a `RegionSource` is the exclusive owner of its region (the contract
// of `new`), so moving it to another thread moves that ownership.
unsafe impl Send for RegionSource {}

impl RegionSource {
    /// A source over `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// The `len` bytes at `ptr` must be valid for reads and writes, must not
    /// be used by anything else while this source or any heap built on it is
    /// alive, and `ptr as usize + len` must not overflow.
    #[must_use]
    pub const unsafe fn new(ptr: *mut u8, len: usize) -> Self {
        Self {
            cursor: ptr,
            remaining: len,
            last: None,
        }
    }

    /// A source over a `'static` buffer, which it borrows for good.
    #[must_use]
    pub fn from_static(buf: &'static mut [u8]) -> Self {
        let len = buf.len();
        // SAFETY: the buffer is borrowed mutably forever, so nothing else can
        // use it, and a slice never wraps the address space.
        unsafe { Self::new(buf.as_mut_ptr(), len) }
    }

    /// Bytes not yet handed out (before alignment padding).
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

// SAFETY: spans are carved from disjoint, consecutive parts of a region the
// caller guaranteed valid and exclusive; each is aligned as asked and fits in
// the `remaining` bytes before the region's end.
unsafe impl Source for RegionSource {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let size = size.max(1);
        let start = align_up(self.cursor.addr(), align)?;
        let used = (start - self.cursor.addr()).checked_add(size)?;
        if used > self.remaining {
            return None;
        }
        let ptr = NonNull::new(self.cursor.with_addr(start))?;
        self.cursor = self.cursor.with_addr(start + size);
        self.remaining -= used;
        let span = Span::new(ptr, size);
        self.last = Some(span);
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        if self.last == Some(span) {
            self.cursor = span.ptr().as_ptr();
            self.remaining += span.len();
            self.last = None;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carves_aligned_disjoint_spans_until_empty() {
        let mut buf = [0u8; 256];
        // SAFETY: `buf` outlives the source and is used only through it.
        let mut src = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
        let a = src.acquire(10, 16).unwrap();
        let b = src.acquire(10, 16).unwrap();
        assert_eq!(a.start() % 16, 0);
        assert_eq!(b.start() % 16, 0);
        assert!(a.end() <= b.start());
        assert!(src.acquire(1000, 1).is_none());
        assert!(src.acquire(usize::MAX, 1).is_none());
        assert!(src.acquire(1, 1 << (usize::BITS - 2)).is_none());
    }

    #[test]
    fn only_the_last_span_comes_back() {
        let mut buf = [0u8; 64];
        // SAFETY: `buf` outlives the source and is used only through it.
        let mut src = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
        let a = src.acquire(16, 1).unwrap();
        let b = src.acquire(16, 1).unwrap();
        // SAFETY: both spans came from `src` and are not used afterwards.
        unsafe {
            assert!(!src.release(a));
            assert!(src.release(b));
        }
        assert_eq!(src.remaining(), 48);
        let c = src.acquire(48, 1).unwrap();
        assert_eq!(c.start(), b.start());
    }

    #[test]
    fn spans_are_writable() {
        let mut buf = [0u8; 64];
        // SAFETY: `buf` outlives the source and is used only through it.
        let mut src = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
        let s = src.acquire(64, 1).unwrap();
        // SAFETY: the span is valid for `s.len()` bytes.
        unsafe { s.ptr().as_ptr().write_bytes(0xAB, s.len()) };
        assert!(buf.iter().all(|&b| b == 0xAB));
    }
}
