//! Unix: anonymous private mappings through `mmap`, returned with `munmap`.

use core::ptr::NonNull;

use super::{ConstDefault, Source, Span};
use crate::layout::align_up;

/// Memory from the operating system through `mmap`; spans go back with
/// `munmap`.
///
/// Spans are rounded up to whole pages. An alignment above the page size is
/// met by mapping extra and unmapping the ends, so nothing is wasted.
#[derive(Debug)]
pub struct MmapSource {
    /// The page size, read once on first use (0 until then).
    page: usize,
}

impl MmapSource {
    /// A source with nothing mapped yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { page: 0 }
    }

    fn page_size(&mut self) -> usize {
        if self.page == 0 {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            self.page = if size > 0 && (size as usize).is_power_of_two() {
                size as usize
            } else {
                4096
            };
        }
        self.page
    }

    fn map(len: usize) -> Option<NonNull<u8>> {
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing has no preconditions; failure is reported as MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            None
        } else {
            NonNull::new(ptr.cast::<u8>())
        }
    }

    /// # Safety
    ///
    /// `len` bytes at `ptr` must be whole pages this source mapped and no
    /// longer in use.
    unsafe fn unmap(ptr: *mut u8, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        // SAFETY: the caller guarantees the range is ours and unused.
        unsafe { libc::munmap(ptr.cast(), len) == 0 }
    }
}

impl Default for MmapSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ConstDefault for MmapSource {
    const DEFAULT: Self = Self::new();
}

// SAFETY: each span is a fresh private mapping (or a page-aligned part of
// one), readable and writable, aligned as asked, at least `size` long, and
// unmapped only through `release`.
unsafe impl Source for MmapSource {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let page = self.page_size();
        let len = align_up(size.max(1), page)?;
        if len > isize::MAX as usize {
            return None;
        }
        if align <= page {
            let ptr = Self::map(len)?;
            return Some(Span::new(ptr, len));
        }
        // Over-map by the alignment and trim both ends.
        let padded = len.checked_add(align)?;
        if padded > isize::MAX as usize {
            return None;
        }
        let raw = Self::map(padded)?;
        let base = raw.as_ptr().addr();
        let start = align_up(base, align)?;
        let head = start - base;
        let tail = padded - head - len;
        // SAFETY: head and tail are whole pages (every value involved is a
        // multiple of the page size) of the mapping just made, unused.
        unsafe {
            Self::unmap(raw.as_ptr(), head);
            Self::unmap(raw.as_ptr().add(head + len), tail);
        }
        // SAFETY: `start` lies inside the mapping, which is not at address 0.
        let ptr = unsafe { NonNull::new_unchecked(raw.as_ptr().add(head)) };
        Some(Span::new(ptr, len))
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        // SAFETY: the caller passes back a span exactly as handed out, which
        // is whole pages of our mapping, and promises not to use it again.
        unsafe { Self::unmap(span.ptr().as_ptr(), span.len()) }
    }

    fn can_release(&self) -> bool {
        true
    }
}

/// Writes `message` to standard error and aborts the process: the end of a
/// checking-mode report ([`crate::checking::report`]). Allocates nothing.
pub(crate) fn abort_with(message: &[u8]) -> ! {
    let mut rest = message;
    while !rest.is_empty() {
        // SAFETY: `rest` is a live slice of `rest.len()` bytes; `write` reads
        // no more.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            break;
        }
        rest = &rest[n as usize..];
    }
    // SAFETY: `abort` has no preconditions; it does not return.
    unsafe { libc::abort() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_writable_pages_and_unmaps_them() {
        let mut src = MmapSource::new();
        let span = src.acquire(10_000, 8).unwrap();
        assert!(span.len() >= 10_000);
        assert_eq!(span.len() % src.page_size(), 0);
        // SAFETY: the span is valid for its length.
        unsafe {
            span.ptr().as_ptr().write_bytes(7, span.len());
            assert_eq!(*span.ptr().as_ptr().add(span.len() - 1), 7);
            assert!(src.release(span));
        }
    }

    // Miri's munmap cannot unmap part of a mapping, which is how alignments
    // above a page are met; this path runs natively only.
    #[cfg(not(miri))]
    #[test]
    fn honours_alignment_above_a_page() {
        let mut src = MmapSource::new();
        for shift in 13..=21 {
            let align = 1usize << shift;
            let span = src.acquire(4096, align).unwrap();
            assert_eq!(span.start() % align, 0, "align {align}");
            // SAFETY: the span came from `src` and is not used again.
            unsafe { assert!(src.release(span)) };
        }
    }

    #[test]
    fn impossible_requests_fail_cleanly() {
        let mut src = MmapSource::new();
        assert!(src.acquire(usize::MAX, 8).is_none());
        assert!(src.acquire(isize::MAX as usize, 8).is_none());
        // Miri stops the program on a mapping larger than the machine instead
        // of failing it as the kernel does.
        if !cfg!(miri) {
            assert!(src.acquire(4096, 1 << 62).is_none());
        }
    }
}
