//! The small-object group: size-class allocators against mimalloc (the
//! published size-class allocator to beat), talc and the system allocator.
//!
//! | key | contestant | how it is called | OS memory through |
//! |---|---|---|---|
//! | `slab` | `SlabHeap<CountingSource>` | the strategy core's `Heap` methods, directly on `&mut` | [`CountingSource`] over `MmapSource` |
//! | `slab-global` | `SlabAlloc` (an instance, not the process's allocator) | the `GlobalAlloc` trait: lock + core | `MmapSource` (counted in the peak pass over a [`CountingSource`]) |
//! | `mimalloc` | a heap of its own (`mi_heap_new`), libmimalloc-sys 0.1 | `mi_heap_malloc` / `mi_free` / `mi_heap_realloc_aligned` | mimalloc's own (`mi_process_info`'s peak commit) |
//! | `talc` | the general group's [`Talc`] | its `malloc` / `free` / `grow` | `TalcMmap` |
//! | `system` | `std::alloc::System` (glibc malloc here) | the `GlobalAlloc` trait | glibc's own (`mallinfo2`) |
//!
//! mimalloc is C, linked in as a library: its heap is an object of its own
//! (the process's allocator stays glibc), so it runs in-process like the
//! other peers. Its peak is its own committed-memory statistic, which the
//! peak pass reads in a process of its own per workload.

use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr::NonNull;

use libmimalloc_sys as mi;
use polyalloc_core::source::{DefaultSource, MmapSource};
use polyalloc_slab::{SlabAlloc, SlabHeap};

use super::general::{Peer, PeerHeap, SystemProbe, Talc, TalcHeap};
use super::strategy::{Core, Global};
use super::{Contestant, SystemAlloc, Visitor};
use crate::adapters::RawHeap;
use crate::backing::CountingSource;

super::strategy::source_strategy!(
    SlabHeap,
    "slab",
    "SlabHeap (core, direct)",
    "slab-global",
    "SlabAlloc (GlobalAlloc)"
);

/// polyalloc's slab core, its `Heap` methods called directly, over a source
/// that counts what it reserves.
pub type CoreSlab = Core<SlabHeap<CountingSource<MmapSource>>>;

/// polyalloc's ready-to-use slab allocator (lock + core) over source `S`,
/// called through `GlobalAlloc`.
pub type GlobalSlabOn<S> = Global<SlabHeap<S>>;

/// `SlabAlloc`, the type a program names in `#[global_allocator]`.
pub type GlobalSlab = GlobalSlabOn<DefaultSource>;

// `GlobalSlab` wraps exactly `SlabAlloc`.
const _: fn(SlabAlloc) -> GlobalSlab = Global::of;

/// The alignment every mimalloc block has without asking (`MI_MAX_ALIGN_SIZE`).
const MI_MIN_ALIGN: usize = 16;

/// A mimalloc heap of its own, destroyed (every block with it) on drop.
pub struct MimallocHeap(NonNull<mi::mi_heap_t>);

/// mimalloc, the published size-class allocator to beat (the A/A baseline).
pub type Mimalloc = Peer<MimallocHeap>;

impl RawHeap for MimallocHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the heap is live and used from this thread only.
        let p = unsafe {
            if layout.align() <= MI_MIN_ALIGN {
                mi::mi_heap_malloc(self.0.as_ptr(), layout.size())
            } else {
                mi::mi_heap_malloc_aligned(self.0.as_ptr(), layout.size(), layout.align())
            }
        };
        NonNull::new(p.cast())
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: `ptr` is a live block of this heap (the caller).
        unsafe { mi::mi_free(ptr.as_ptr().cast::<c_void>()) }
    }

    #[inline(always)]
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: `ptr` is a live block of this heap allocated with `old`.
        let p = unsafe {
            mi::mi_heap_realloc_aligned(
                self.0.as_ptr(),
                ptr.as_ptr().cast(),
                new_size,
                old.align().max(MI_MIN_ALIGN),
            )
        };
        NonNull::new(p.cast())
    }
}

impl PeerHeap for MimallocHeap {
    const KEY: &'static str = "mimalloc";
    const NAME: &'static str = "mimalloc (own heap)";

    fn new() -> Self {
        // SAFETY: no preconditions; a null heap stops the benchmark.
        let heap = unsafe { mi::mi_heap_new() };
        Self(NonNull::new(heap).expect("mi_heap_new failed"))
    }

    fn peak_reserved(&self) -> usize {
        let mut peak_commit = 0usize;
        let mut ignore = [0usize; 7];
        let [a, b, c, d, e, f, g] = &mut ignore;
        // SAFETY: every out-pointer is valid for a write.
        unsafe { mi::mi_process_info(a, b, c, d, e, f, &mut peak_commit, g) };
        peak_commit
    }
}

impl Drop for MimallocHeap {
    fn drop(&mut self) {
        // SAFETY: the heap is live; no block of it is used again.
        unsafe { mi::mi_heap_destroy(self.0.as_ptr()) };
    }
}

/// Calls `v` for every timed contestant of the group, in table order. The
/// first is the subject of the run.
pub fn for_each<V: Visitor>(v: &mut V) {
    v.visit::<CoreSlab>();
    v.visit::<GlobalSlab>();
    v.visit::<Mimalloc>();
    v.visit::<Talc>();
    v.visit::<SystemAlloc>();
}

/// Calls `v` for every contestant of the peak pass: the keys of
/// [`for_each`], the system allocator first (it reads the process's heap,
/// which is then freshest), `SlabAlloc` over a counting source.
pub fn for_each_peak<V: Visitor>(v: &mut V) {
    v.visit::<SystemProbe>();
    v.visit::<CoreSlab>();
    v.visit::<GlobalSlabOn<CountingSource<MmapSource>>>();
    v.visit::<Mimalloc>();
    v.visit::<Talc>();
}

/// The peer measured twice in every comparison of the group (the A/A row).
pub type AaBaseline = Mimalloc;

/// The keys every other row is divided by, one column each.
pub const RATIO_BASES: [&str; 3] = [MimallocHeap::KEY, TalcHeap::KEY, SystemAlloc::KEY];
