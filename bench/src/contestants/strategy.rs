//! polyalloc's strategy cores as contestants, written once for every
//! strategy that frees blocks one by one (the free list, the buddy system):
//!
//! - [`Core`]: the core's `Heap` methods called directly on `&mut`, no lock,
//!   no adapter; collections reach it through `&HeapCell`, polyalloc's
//!   single-threaded `Allocator` wrapper;
//! - [`Global`]: the ready-to-use allocator (lock + core), called through
//!   `GlobalAlloc` as a `#[global_allocator]` is: a separate instance, not
//!   this process's allocator. Timed over the platform's source, exactly the
//!   type a program names; the peak pass uses the same lock and core over a
//!   [`CountingSource`].
//!
//! A strategy joins by implementing [`Strategy`] for its heap type.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use polyalloc_core::source::{MmapSource, Source};
use polyalloc_core::{Heap, HeapCell, LockedHeap};

use super::{Contestant, alloc_in, alloc_via, grow_in, grow_via};
use crate::adapters::ViaGlobal;
use crate::backing::CountingSource;

/// What a source can say about the memory it reserved.
pub trait Reserved: Source + Default + Send + 'static {
    /// Peak bytes held from the OS, if the source counts them.
    fn peak_reserved(&self) -> Option<usize>;
}

impl Reserved for MmapSource {
    fn peak_reserved(&self) -> Option<usize> {
        None
    }
}

impl Reserved for CountingSource<MmapSource> {
    fn peak_reserved(&self) -> Option<usize> {
        Some(self.meter().peak())
    }
}

/// A polyalloc strategy core over some source: its rows' names, how to make
/// one, and what it reserved.
pub trait Strategy: Heap + Send + 'static {
    /// Key of the [`Core`] row, on command lines.
    const CORE_KEY: &'static str;
    /// Name of the [`Core`] row in the tables.
    const CORE_NAME: &'static str;
    /// Key of the [`Global`] row.
    const GLOBAL_KEY: &'static str;
    /// Name of the [`Global`] row.
    const GLOBAL_NAME: &'static str;
    /// Whether the rows end a round with a reset, forgetting every block at
    /// once (an arena), rather than freeing each block.
    const RESETS: bool = false;

    /// A fresh, empty heap over a fresh source.
    fn fresh() -> Self;

    /// Ends a round of a strategy that [`RESETS`](Strategy::RESETS): every
    /// block is forgotten at once. `Heap::reset` unless the strategy has a
    /// reset of its own for this (the adaptive heap's end of invocation).
    fn end_round(&mut self) {
        self.reset();
    }

    /// Peak bytes held from the OS, where the source counts them.
    fn peak_reserved(&self) -> Option<usize>;
}

/// A strategy core, its `Heap` methods called directly.
pub struct Core<H>(HeapCell<H>);

impl<H: Strategy> Contestant for Core<H> {
    const KEY: &'static str = H::CORE_KEY;
    const NAME: &'static str = H::CORE_NAME;
    const RESETS: bool = H::RESETS;
    type Api<'a> = &'a HeapCell<H>;

    fn new() -> Self {
        Self(HeapCell::new(H::fresh()))
    }

    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        alloc_in(self.0.get_mut(), layout)
    }

    #[inline(always)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.get_mut().deallocate(ptr, layout) }
    }

    #[inline(always)]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        // SAFETY: forwarded from the caller.
        unsafe { grow_in(self.0.get_mut(), ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        &self.0
    }

    unsafe fn reset(&mut self) {
        if H::RESETS {
            self.0.get_mut().end_round();
        }
    }

    fn peak_reserved(&mut self) -> Option<usize> {
        self.0.get_mut().peak_reserved()
    }
}

impl<H> Core<H> {
    /// The core itself, for settings a contestant does not have (the
    /// adaptive heap's policy) and for reading its state after a round.
    pub fn heap_mut(&mut self) -> &mut H {
        self.0.get_mut()
    }
}

/// A strategy's ready-to-use allocator (lock + core), called through
/// `GlobalAlloc`.
pub struct Global<H>(LockedHeap<H>);

impl<H> Global<H> {
    /// Wraps `alloc`, the type a program names in `#[global_allocator]`.
    pub const fn of(alloc: LockedHeap<H>) -> Self {
        Self(alloc)
    }
}

impl<H: Strategy> Contestant for Global<H> {
    const KEY: &'static str = H::GLOBAL_KEY;
    const NAME: &'static str = H::GLOBAL_NAME;
    const RESETS: bool = H::RESETS;
    type Api<'a> = ViaGlobal<'a, LockedHeap<H>>;

    fn new() -> Self {
        Self(LockedHeap::with_heap(H::fresh()))
    }

    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        alloc_via(&self.0, layout)
    }

    #[inline(always)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { GlobalAlloc::dealloc(&self.0, ptr.as_ptr(), layout) }
    }

    #[inline(always)]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        // SAFETY: forwarded from the caller.
        unsafe { grow_via(&self.0, ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        ViaGlobal(&self.0)
    }

    unsafe fn reset(&mut self) {
        if H::RESETS {
            // SAFETY: forwarded from the caller: no block is used again.
            unsafe { self.0.reset() }
        }
    }

    fn peak_reserved(&mut self) -> Option<usize> {
        self.0.get_mut().peak_reserved()
    }
}

/// Implements [`Strategy`] for a strategy core generic over its source, made
/// with `with_source(S::default())`, whose source counts what it reserves:
/// the free-list, buddy and slab heaps' shape, written once.
macro_rules! source_strategy {
    ($heap:ident, $core_key:literal, $core_name:literal, $global_key:literal, $global_name:literal) => {
        impl<S: $crate::contestants::strategy::Reserved> $crate::contestants::strategy::Strategy
            for $heap<S>
        {
            const CORE_KEY: &'static str = $core_key;
            const CORE_NAME: &'static str = $core_name;
            const GLOBAL_KEY: &'static str = $global_key;
            const GLOBAL_NAME: &'static str = $global_name;

            fn fresh() -> Self {
                Self::with_source(S::default())
            }

            fn peak_reserved(&self) -> Option<usize> {
                self.source().peak_reserved()
            }
        }
    };
}
pub(crate) use source_strategy;
