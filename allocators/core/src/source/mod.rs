//! Where raw spans of memory come from.
//!
//! A [`Source`] hands out spans and, where it can, takes them back. It knows
//! nothing of strategies. This module is the only place in polyalloc that
//! talks to the platform:
//!
//! | source | where | takes memory back |
//! |---|---|---|
//! | [`MmapSource`] | unix: `mmap` / `munmap` through libc | yes |
//! | `MemoryGrowSource` | wasm32: `memory.grow` | no (linear memory never shrinks) |
//! | [`RegionSource`] | any target: a region the caller owns | the most recent span only |
//!
//! The same platform modules also end the process for a checking-mode
//! report ([`crate::checking::report`]): `write` to standard error and
//! `abort` on unix, a trap on wasm32.
//!
//! [`DefaultSource`] is the platform's pick, so `const fn new()` constructors
//! work on host and guest alike.

mod region;
pub use region::RegionSource;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::MmapSource;
#[cfg(unix)]
pub(crate) use unix::abort_with;

#[cfg(target_arch = "wasm32")]
mod wasm32;
#[cfg(target_arch = "wasm32")]
pub use wasm32::MemoryGrowSource;
#[cfg(all(target_arch = "wasm32", not(unix)))]
pub(crate) use wasm32::abort_with;

#[cfg(not(any(unix, target_arch = "wasm32")))]
compile_error!(
    "polyalloc has no default memory source for this target: it supports unix (mmap) and \
     wasm32 (memory.grow); open an issue to add one"
);

use core::ptr::NonNull;

/// The platform's default source: `mmap` on unix.
#[cfg(all(unix, not(target_arch = "wasm32")))]
pub type DefaultSource = MmapSource;

/// The platform's default source: `memory.grow` on wasm32.
#[cfg(target_arch = "wasm32")]
pub type DefaultSource = MemoryGrowSource;

/// A contiguous span of memory handed out by a [`Source`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    ptr: NonNull<u8>,
    len: usize,
}

impl Span {
    /// Describes `len` bytes starting at `ptr`.
    #[inline]
    #[must_use]
    pub const fn new(ptr: NonNull<u8>, len: usize) -> Self {
        Self { ptr, len }
    }

    /// The first byte, with provenance over the whole span.
    #[inline]
    #[must_use]
    pub const fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The length in bytes.
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the span has no bytes.
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of the first byte.
    #[inline]
    #[must_use]
    pub fn start(&self) -> usize {
        self.ptr.as_ptr().addr()
    }

    /// The address one past the last byte. Sources never hand out a span
    /// that ends past `usize::MAX`, so this does not overflow.
    #[inline]
    #[must_use]
    pub fn end(&self) -> usize {
        self.start() + self.len
    }

    /// Whether `addr` lies inside the span.
    #[inline]
    #[must_use]
    pub fn contains(&self, addr: usize) -> bool {
        addr >= self.start() && addr < self.end()
    }
}

/// Something that hands out spans of raw memory.
///
/// # Safety
///
/// A span returned by [`acquire`](Source::acquire) must be valid for reads and
/// writes for its whole length, start at a multiple of the requested
/// alignment, be at least the requested size, end at or below `usize::MAX`,
/// be disjoint from every other span the source has handed out and not taken
/// back, and stay valid until it is passed to [`release`](Source::release)
/// (when that returns `true`) or the program ends. A source whose
/// [`merges`](Source::merges) says `true` promises that any two of its spans
/// that are adjacent may be used as one piece of memory (parts of one
/// allocation, or memory without provenance such as wasm32's linear memory);
/// the default says so exactly when [`can_release`](Source::can_release)
/// does not, as polyalloc's own sources that cannot take memory back are
/// such memory.
pub unsafe trait Source {
    /// Hands out a span of at least `size` bytes starting at a multiple of
    /// `align` (a power of two), or `None` if the platform or region has no
    /// more. The span may be longer than asked (rounded up to pages, say):
    /// its whole length is the caller's.
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span>;

    /// Offers a span back. Returns `true` if the source took it (the span is
    /// then invalid), `false` if it cannot take memory back (the caller keeps
    /// the span and may reuse it).
    ///
    /// # Safety
    ///
    /// `span` must be exactly a span this source handed out, or, where
    /// [`merges`](Source::merges) is true, the union of adjacent spans it
    /// handed out; no block in it may be used afterwards if this returns
    /// `true`.
    unsafe fn release(&mut self, span: Span) -> bool;

    /// Whether [`release`](Source::release) can ever succeed for a span other
    /// than the most recent one; strategies use it to decide whether keeping
    /// surplus memory is their only option.
    fn can_release(&self) -> bool {
        false
    }

    /// Whether spans this source hands out that happen to be adjacent may
    /// be joined by the caller into one: used as one piece of memory (a
    /// block may run across the join) and given back with one
    /// [`release`](Source::release) of their union. By default, exactly
    /// when the source cannot take memory back: wasm32's `memory.grow` and
    /// a caller's region are one address range with one provenance, where
    /// nothing is released; `mmap`'s mappings are separate allocations,
    /// which must never be joined.
    fn merges(&self) -> bool {
        !self.can_release()
    }
}

/// Types with a value usable in `const` context, so that a `static` allocator
/// can be built with `const fn new()` for any strategy over any such source.
pub trait ConstDefault: Sized {
    /// The default value.
    const DEFAULT: Self;
}
