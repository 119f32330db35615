//! The power-of-two group: buddy allocators, which round every block up to
//! a power of two aligned to its size, against a free-list peer and the
//! system allocator.
//!
//! | key | contestant | how it is called | OS memory through |
//! |---|---|---|---|
//! | `buddy` | `BuddyHeap<CountingSource>` | the strategy core's `Heap` methods, directly on `&mut` | [`CountingSource`] over `MmapSource` |
//! | `buddy-global` | `BuddyAlloc` (an instance, not the process's allocator) | the `GlobalAlloc` trait: lock + core | `MmapSource` (counted in the peak pass over a [`CountingSource`]) |
//! | `buddy-system` | `buddy_system_allocator::Heap<33>` (its own benchmarks' order) | its `alloc` / `dealloc` (grow = move, as its `GlobalAlloc` does) | [`BuddyChunks`] |
//! | `talc` | the general group's [`Talc`] | its `malloc` / `free` / `grow` | `TalcMmap` |
//! | `system` | `std::alloc::System` (glibc malloc here) | the `GlobalAlloc` trait | glibc's own (`mallinfo2`) |
//!
//! The peak pass ([`for_each_peak`]) is the timed list with the general
//! group's substitutions: `BuddyAlloc` over a counting source, the system
//! allocator as `SystemProbe`.
//!
//! [`for_each_matrix`] is the list of the `matrix` measurement (where blocks
//! are placed, not how fast they are handed out): the buddy core, its peer,
//! talc, polyalloc's free list and the system allocator.

use core::alloc::Layout;
use core::ptr::NonNull;

use polyalloc_buddy::{BuddyAlloc, BuddyHeap};
use polyalloc_core::source::{DefaultSource, MmapSource};

use super::general::{CoreFreeList, Peer, PeerHeap, SystemProbe, Talc, TalcHeap};
use super::strategy::{Core, Global};
use super::{Contestant, SystemAlloc, Visitor};
use crate::adapters::RawHeap;
use crate::backing::{BuddyChunks, CountingSource};

super::strategy::source_strategy!(
    BuddyHeap,
    "buddy",
    "BuddyHeap (core, direct)",
    "buddy-global",
    "BuddyAlloc (GlobalAlloc)"
);

/// polyalloc's buddy core, its `Heap` methods called directly, over a
/// source that counts what it reserves.
pub type CoreBuddy = Core<BuddyHeap<CountingSource<MmapSource>>>;

/// polyalloc's ready-to-use buddy allocator (lock + core) over source `S`,
/// called through `GlobalAlloc`.
pub type GlobalBuddyOn<S> = Global<BuddyHeap<S>>;

/// `BuddyAlloc`, the type a program names in `#[global_allocator]`.
pub type GlobalBuddy = GlobalBuddyOn<DefaultSource>;

// `GlobalBuddy` wraps exactly `BuddyAlloc`.
const _: fn(BuddyAlloc) -> GlobalBuddy = Global::of;

/// The order parameter of buddy_system_allocator's `Heap`: blocks up to
/// 2^32 bytes, as in its own benchmarks and documentation.
const BSA_ORDER: usize = 33;

/// buddy_system_allocator's `Heap`, given a chunk from [`BuddyChunks`]
/// whenever an allocation fails.
pub struct BuddySystemHeap {
    // Declared first: dropped before the memory it lives in (it has no
    // drop of its own).
    heap: buddy_system_allocator::Heap<BSA_ORDER>,
    chunks: BuddyChunks,
}

/// buddy_system_allocator, the published buddy allocator to beat (the A/A
/// baseline).
pub type BuddySystem = Peer<BuddySystemHeap>;

impl BuddySystemHeap {
    /// The block buddy_system_allocator serves `layout` with: the size
    /// rounded up to a power of two, at least the alignment and a word.
    fn block(layout: Layout) -> usize {
        layout
            .size()
            .next_power_of_two()
            .max(layout.align())
            .max(size_of::<usize>())
    }
}

impl RawHeap for BuddySystemHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        loop {
            if let Ok(p) = self.heap.alloc(layout) {
                return Some(p);
            }
            let (start, end) = self.chunks.chunk(Self::block(layout))?;
            // SAFETY: fresh pages of the region, readable and writable,
            // right after every range given before, kept until the heap is
            // dropped.
            unsafe { self.heap.add_to_heap(start, end) };
        }
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    // No reallocation of its own: `grow` moves the block (the default), as
    // its `GlobalAlloc`'s `realloc` does.
}

impl PeerHeap for BuddySystemHeap {
    const KEY: &'static str = "buddy-system";
    const NAME: &'static str = "buddy_system_allocator";

    fn new() -> Self {
        Self {
            heap: buddy_system_allocator::Heap::new(),
            chunks: BuddyChunks::new(),
        }
    }

    fn peak_reserved(&self) -> usize {
        self.chunks.meter().peak()
    }
}

/// Calls `v` for every timed contestant of the group, in table order. The
/// first is the subject of the run.
pub fn for_each<V: Visitor>(v: &mut V) {
    v.visit::<CoreBuddy>();
    v.visit::<GlobalBuddy>();
    v.visit::<BuddySystem>();
    v.visit::<Talc>();
    v.visit::<SystemAlloc>();
}

/// Calls `v` for every contestant of the peak pass: the keys of
/// [`for_each`], the system allocator first (it reads the process's heap,
/// which is then freshest), `BuddyAlloc` over a counting source.
pub fn for_each_peak<V: Visitor>(v: &mut V) {
    v.visit::<SystemProbe>();
    v.visit::<CoreBuddy>();
    v.visit::<GlobalBuddyOn<CountingSource<MmapSource>>>();
    v.visit::<BuddySystem>();
    v.visit::<Talc>();
}

/// Calls `v` for every contestant of the `matrix` measurement, in table
/// order; the system allocator, the column every row is divided by, last.
pub fn for_each_matrix<V: Visitor>(v: &mut V) {
    v.visit::<CoreBuddy>();
    v.visit::<BuddySystem>();
    v.visit::<Talc>();
    v.visit::<CoreFreeList>();
    v.visit::<super::slab::CoreSlab>();
    v.visit::<SystemAlloc>();
}

/// The peer measured twice in every comparison of the group (the A/A row).
pub type AaBaseline = BuddySystem;

/// The keys every other row is divided by, one column each.
pub const RATIO_BASES: [&str; 3] = [BuddySystemHeap::KEY, TalcHeap::KEY, SystemAlloc::KEY];

/// The contestant every `matrix` row is divided by, measured twice there
/// (its A/A row).
pub type MatrixBase = SystemAlloc;
