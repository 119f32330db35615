//! A strategy core usable as an `Allocator` on one thread, with no lock.

use core::cell::UnsafeCell;
use core::fmt;

use super::Access;
use crate::heap::Heap;

/// A strategy core shared by reference on one thread: `&HeapCell<H>` is an
/// allocator-api2 `Allocator` with no lock and no atomic instruction.
///
/// For an arena or pool that one thread owns (a parser's nodes, a request's
/// scratch space). It is not `Sync`, so it cannot be a global allocator or
/// be shared between threads; use [`LockedHeap`](super::LockedHeap) there.
///
/// ```
/// use allocator_api2::vec::Vec;
/// use polyalloc_core::HeapCell;
/// # use polyalloc_core::{Heap, Stats};
/// # use core::{alloc::Layout, ptr::NonNull};
/// # struct OneBlock([u64; 8], bool);
/// # unsafe impl Heap for OneBlock {
/// #     fn allocate(&mut self, l: Layout) -> Option<NonNull<u8>> {
/// #         if self.1 || l.size() > 64 || l.align() > 8 { return None; }
/// #         self.1 = true;
/// #         Some(NonNull::from(&mut self.0).cast())
/// #     }
/// #     unsafe fn deallocate(&mut self, _: NonNull<u8>, _: Layout) { self.1 = false; }
/// #     fn owns(&self, _: NonNull<u8>) -> bool { self.1 }
/// #     fn reset(&mut self) { self.1 = false; }
/// #     fn stats(&self) -> Stats { Stats::new() }
/// # }
/// # let core = OneBlock([0; 8], false);
/// // `core` is any strategy core, e.g. `polyalloc_bump::BumpHeap`.
/// let arena = HeapCell::new(core);
/// let mut v: Vec<u8, _> = Vec::with_capacity_in(16, &arena);
/// v.extend_from_slice(b"on one thread");
/// assert_eq!(&v[..], b"on one thread");
/// ```
pub struct HeapCell<H> {
    heap: UnsafeCell<H>,
}

impl<H> HeapCell<H> {
    /// Wraps a core.
    #[must_use]
    pub const fn new(heap: H) -> Self {
        Self {
            heap: UnsafeCell::new(heap),
        }
    }

    /// The core, through an exclusive borrow.
    pub fn get_mut(&mut self) -> &mut H {
        self.heap.get_mut()
    }

    /// The core, unwrapped.
    pub fn into_inner(self) -> H {
        self.heap.into_inner()
    }
}

impl<H: Heap> Access for HeapCell<H> {
    type Heap = H;

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut H) -> R) -> R {
        // SAFETY: `HeapCell` is not `Sync`, so every reference to it is on
        // this thread; `with` is private to the crate and never re-entered
        // while `f` runs (cores never call back into their wrapper), so this
        // is the only reference to the core for `f`'s duration.
        f(unsafe { &mut *self.heap.get() })
    }
}

impl<H: Heap> HeapCell<H> {
    super::access::heap_queries!();
}

impl<H: Heap> fmt::Debug for HeapCell<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeapCell")
            .field("stats", &self.stats())
            .finish()
    }
}
