//! The contract between a strategy core and the layers above it.
//!
//! A strategy (bump, buddy, slab, free list) is a single-threaded heap with
//! `&mut self` methods. It knows nothing of locks or of the standard traits:
//! [`LockedHeap`](crate::LockedHeap) makes it `Sync`, and the adapters in
//! [`adapter`](crate::adapter) give it `GlobalAlloc` and allocator-api2's
//! `Allocator`, once for every strategy.

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

use crate::layout::is_aligned;
use crate::stats::Stats;

/// A single-threaded heap: the strategy core.
///
/// Zero-size layouts may be passed to every method, and a strategy serves
/// them like any other request. The `GlobalAlloc` adapter passes every call
/// straight on (zero sizes are the caller's undefined behaviour there, so it
/// spends no test on them); the `Allocator` adapter answers zero-size
/// requests itself with [`dangling`](crate::layout::dangling) pointers. A
/// program may free such a dangling pointer through `GlobalAlloc`, so
/// **`deallocate` with a zero-size layout must do nothing when the pointer is
/// not one the heap handed out** (for a bump heap this holds by
/// construction; a strategy that reads a header before the block must test
/// the size first).
///
/// # Safety
///
/// Implementors promise what the adapters rely on to be sound:
/// - a block returned by [`allocate`](Heap::allocate) (or by a successful
///   grow or shrink) is aligned to the layout's alignment, at least the
///   layout's size long, inside memory the heap owns, and disjoint from every
///   other live block;
/// - it stays valid until it is passed to `deallocate`, moved by a grow or
///   shrink, or the heap is reset, rewound or dropped;
/// - a failed request (`None` / `false`) leaves every live block and the heap
///   itself valid;
/// - no method panics on any input its safety contract allows.
pub unsafe trait Heap {
    /// Allocates a block for `layout`, or `None` when the heap and its source
    /// cannot provide one.
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>>;

    /// Gives a block back.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live block of this heap and `layout` the layout it was
    /// allocated (or last resized) with; or `layout` has size zero and `ptr`
    /// is any non-null, aligned pointer (see the trait docs).
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Tries to resize the block at `ptr` to `new` without moving it. Returns
    /// `false`, changing nothing, when it cannot (for example when `ptr` is
    /// not aligned to `new.align()`).
    ///
    /// # Safety
    ///
    /// `ptr` must be a live block of this heap allocated with `old`, and
    /// `new.size() >= old.size()`.
    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        let _ = (ptr, old, new);
        false
    }

    /// Tries to shrink the block at `ptr` to `new` without moving it. Returns
    /// `false`, changing nothing, when it cannot.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live block of this heap allocated with `old`, and
    /// `new.size() <= old.size()`.
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        let _ = (ptr, old, new);
        false
    }

    /// Grows the block at `ptr` to `new`: in place if the strategy can,
    /// otherwise by allocating a new block, copying `old.size()` bytes and
    /// freeing the old one. On `None` the old block is untouched and live.
    ///
    /// # Safety
    ///
    /// As for [`grow_in_place`](Heap::grow_in_place).
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        debug_assert!(new.size() >= old.size());
        // SAFETY: forwarded from the caller.
        if unsafe { self.grow_in_place(ptr, old, new) } {
            return Some(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { relocate(self, ptr, old, new) }
    }

    /// Shrinks the block at `ptr` to `new`: in place if the strategy can,
    /// otherwise by moving `new.size()` bytes to a new block. On `None` the
    /// old block is untouched and live.
    ///
    /// # Safety
    ///
    /// As for [`shrink_in_place`](Heap::shrink_in_place).
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        debug_assert!(new.size() <= old.size());
        // SAFETY: forwarded from the caller.
        if unsafe { self.shrink_in_place(ptr, old, new) } {
            return Some(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { relocate(self, ptr, old, new) }
    }

    /// Resizes the block at `ptr` to `new`: [`grow`](Heap::grow) or
    /// [`shrink`](Heap::shrink), whichever the sizes call for. On `None` the
    /// old block is untouched and live.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live block of this heap allocated with `old`.
    #[inline]
    unsafe fn resize(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        if new.size() >= old.size() {
            // SAFETY: forwarded from the caller; the sizes were just compared.
            unsafe { self.grow(ptr, old, new) }
        } else {
            // SAFETY: as above.
            unsafe { self.shrink(ptr, old, new) }
        }
    }

    /// Whether `ptr` may belong to this heap; used to route a free to the
    /// heap that owns it.
    ///
    /// True for every byte of every live block; false for addresses outside
    /// the memory the heap holds and for blocks a reset took back. In
    /// between, a strategy may answer by address range: memory freed inside
    /// a region that still holds live blocks may read as owned.
    fn owns(&self, ptr: NonNull<u8>) -> bool;

    /// Forgets every block at once, keeping the memory reserved from the
    /// source for reuse (surplus may go back to a source that takes it).
    ///
    /// This is safe on a `&mut` heap: every block it handed out was a raw
    /// pointer, and using one after a reset is the caller's `unsafe` mistake.
    fn reset(&mut self);

    /// The heap's counters.
    fn stats(&self) -> Stats;

    /// Walks the heap and checks the invariants its module documents.
    ///
    /// Meant for tests after every operation. Strategies compile the walk in
    /// debug builds only; in release this returns `Ok(())` at no cost.
    fn check(&self) -> Result<(), CheckError> {
        Ok(())
    }
}

/// Moves a block that could not be resized in place: allocates a block for
/// `new`, copies the bytes both layouts cover, frees the old one. On `None`
/// the old block is untouched and live.
///
/// # Safety
///
/// `ptr` must be a live block of `heap` allocated with `old`.
unsafe fn relocate<H: Heap + ?Sized>(
    heap: &mut H,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Option<NonNull<u8>> {
    let moved = heap.allocate(new)?;
    // SAFETY: `ptr` is live for `old.size()` bytes and `moved` is a fresh
    // block of `new.size()` bytes, disjoint from it (live blocks never
    // overlap); `ptr` is then freed with the layout it was given.
    unsafe {
        ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), old.size().min(new.size()));
        heap.deallocate(ptr, old);
    }
    Some(moved)
}

/// Whether a block at `ptr` already satisfies an alignment: the test every
/// in-place resize with a new layout starts with.
#[inline(always)]
#[must_use]
pub fn fits_alignment(ptr: NonNull<u8>, layout: Layout) -> bool {
    is_aligned(ptr.as_ptr().addr(), layout.align())
}

/// A broken heap invariant found by [`Heap::check`], with the values that
/// show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// The invariant that does not hold, in the words of the module docs.
    pub invariant: &'static str,
    /// The address (or other value) where it was found.
    pub at: usize,
    /// The value that breaks it.
    pub found: usize,
}

impl CheckError {
    /// Makes an error for `invariant` found at `at` with value `found`.
    #[must_use]
    pub const fn new(invariant: &'static str, at: usize, found: usize) -> Self {
        Self {
            invariant,
            at,
            found,
        }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "heap invariant broken: {} (at {:#x}, found {:#x})",
            self.invariant, self.at, self.found
        )
    }
}

/// Returns `Err` with `invariant` unless `cond` holds; a shorthand for heap
/// walks.
#[inline]
pub fn ensure(
    cond: bool,
    invariant: &'static str,
    at: usize,
    found: usize,
) -> Result<(), CheckError> {
    if cond {
        Ok(())
    } else {
        Err(CheckError::new(invariant, at, found))
    }
}

/// Writes the constructors every strategy core of the family offers, given
/// its own `const fn with_recorder(source: S) -> Self` (an empty heap over
/// `source`, reserving nothing): `new()` on the platform's default source,
/// `with_source(source)` uncounted, `counting(source)` keeping every counter,
/// `Default`, and [`ConstDefault`](crate::ConstDefault) so that `LockedHeap`'s
/// `const fn new()` works for it.
///
/// The heap type must be `Name<S: Source = DefaultSource, R: Recorder =
/// Uncounted>`:
///
/// ```
/// use polyalloc_core::{Counting, DefaultSource, Recorder, Source, Uncounted};
///
/// pub struct MyHeap<S: Source = DefaultSource, R: Recorder = Uncounted> {
///     source: S,
///     stats: R,
/// }
///
/// impl<S: Source, R: Recorder> MyHeap<S, R> {
///     pub const fn with_recorder(source: S) -> Self {
///         Self { source, stats: R::NEW }
///     }
/// }
///
/// polyalloc_core::heap_constructors!(MyHeap);
///
/// let plain: MyHeap = MyHeap::new();
/// let counted: MyHeap<DefaultSource, Counting> = MyHeap::counting(DefaultSource::new());
/// # let _ = (plain, counted);
/// ```
#[macro_export]
macro_rules! heap_constructors {
    ($heap:ident) => {
        impl $heap {
            /// An empty, uncounted heap on the platform's default source.
            /// Reserves nothing until the first allocation.
            #[must_use]
            pub const fn new() -> Self {
                Self::with_source(<$crate::DefaultSource as $crate::ConstDefault>::DEFAULT)
            }
        }

        impl<S: $crate::Source> $heap<S> {
            /// An empty, uncounted heap over `source`. Reserves nothing until
            /// the first allocation.
            #[must_use]
            pub const fn with_source(source: S) -> Self {
                Self::with_recorder(source)
            }
        }

        impl<S: $crate::Source> $heap<S, $crate::Counting> {
            /// An empty heap over `source` that keeps every counter of
            /// [`Stats`](polyalloc_core::Stats).
            #[must_use]
            pub const fn counting(source: S) -> Self {
                Self::with_recorder(source)
            }
        }

        impl<R: $crate::Recorder> Default for $heap<$crate::DefaultSource, R> {
            fn default() -> Self {
                Self::with_recorder(<$crate::DefaultSource as $crate::ConstDefault>::DEFAULT)
            }
        }

        impl<S: $crate::Source + $crate::ConstDefault, R: $crate::Recorder> $crate::ConstDefault
            for $heap<S, R>
        {
            const DEFAULT: Self = Self::with_recorder(S::DEFAULT);
        }
    };
}
