//! The general-purpose group: allocators that free any block in any order.
//!
//! | key | contestant | how it is called | OS memory through |
//! |---|---|---|---|
//! | `freelist` | `FreeListHeap<CountingSource>` | the strategy core's `Heap` methods, directly on `&mut` | [`CountingSource`] over `MmapSource` |
//! | `freelist-global` | `FreeListAlloc` (an instance, not the process's allocator) | the `GlobalAlloc` trait: lock + core | `MmapSource` (counted in the peak pass, see below) |
//! | `talc` | `talc::Talc` 4 | its `malloc` / `free` / `grow` | [`TalcMmap`] |
//! | `dlmalloc` | `dlmalloc::Dlmalloc` (the Rust port; wasm's default) | its `malloc` / `free` / `realloc` | [`DlmallocMmap`] |
//! | `rlsf` | `rlsf::FlexTlsf` (as `GlobalTlsf` configures it) | its `allocate` / `deallocate` / `reallocate` | [`RlsfMmap`] |
//! | `linked-list` | `linked_list_allocator::Heap` | `allocate_first_fit` / `deallocate` (grow = move) | [`Region`] |
//! | `system` | `std::alloc::System` (glibc malloc here) | the `GlobalAlloc` trait | glibc's own (`mallinfo2`) |
//!
//! Every contestant frees each block (none has a reset here). The collection
//! workloads reach the peers through [`Local`] (their own reallocation on a
//! grow), the core through `HeapCell`, and the `GlobalAlloc` rows through
//! [`ViaGlobal`] (`realloc`).
//!
//! **Peak reserved bytes** come from a separate, untimed pass over
//! [`for_each_peak`]: one round on a fresh allocator, reading its meter. That
//! list is the timed one except for two rows. `FreeListAlloc` is measured as
//! `LockedHeap<FreeListHeap<CountingSource>>`: the same lock, adapter and
//! core over a counting source (`FreeListAlloc` itself names its source).
//! The system allocator is [`SystemProbe`]: glibc's `mallinfo2` read after
//! every allocating call, in a process of its own (see `main.rs`).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use std::alloc::{System, handle_alloc_error};

use polyalloc_core::source::{DefaultSource, MmapSource};
use polyalloc_freelist::{FreeListAlloc, FreeListHeap};

use super::strategy::{Core, Global};
use super::{Contestant, SystemAlloc, Visitor, alloc_via, grow_via, grown};
use crate::adapters::{Local, RawHeap, ViaGlobal};
use crate::backing::{CountingSource, DlmallocMmap, Region, RlsfMmap, TalcMmap, glibc_heap_bytes};

super::strategy::source_strategy!(
    FreeListHeap,
    "freelist",
    "FreeListHeap (core, direct)",
    "freelist-global",
    "FreeListAlloc (GlobalAlloc)"
);

/// polyalloc's free-list core, its `Heap` methods called directly, over a
/// source that counts what it reserves.
pub type CoreFreeList = Core<FreeListHeap<CountingSource<MmapSource>>>;

/// polyalloc's ready-to-use free-list allocator (lock + core) over source
/// `S`, called through `GlobalAlloc`.
pub type GlobalFreeListOn<S> = Global<FreeListHeap<S>>;

/// `FreeListAlloc`, the type a program names in `#[global_allocator]`.
pub type GlobalFreeList = GlobalFreeListOn<DefaultSource>;

// `GlobalFreeList` wraps exactly `FreeListAlloc`.
const _: fn(FreeListAlloc) -> GlobalFreeList = Global::of;

/// A peer's heap as a contestant: its table names, how to make one, and
/// what it reserved.
pub trait PeerHeap: RawHeap + 'static {
    /// Key on command lines.
    const KEY: &'static str;
    /// Name in the tables.
    const NAME: &'static str;
    /// A fresh heap with nothing reserved.
    fn new() -> Self;
    /// Peak bytes held from the OS since [`new`](PeerHeap::new).
    fn peak_reserved(&self) -> usize;
}

/// A peer, called through its own `&mut self` methods; collections reach it
/// through [`Local`].
pub struct Peer<T>(Local<T>);

impl<T: PeerHeap> Contestant for Peer<T> {
    const KEY: &'static str = T::KEY;
    const NAME: &'static str = T::NAME;
    const RESETS: bool = false;
    type Api<'a> = &'a Local<T>;

    fn new() -> Self {
        Self(Local::new(T::new()))
    }

    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        match self.0.get_mut().allocate(layout) {
            Some(p) => p,
            None => handle_alloc_error(layout),
        }
    }

    #[inline(always)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.get_mut().deallocate(ptr, layout) }
    }

    #[inline(always)]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        // SAFETY: forwarded from the caller.
        match unsafe { self.0.get_mut().grow(ptr, old, new_size) } {
            Some(p) => p,
            None => handle_alloc_error(grown(old, new_size)),
        }
    }

    fn api(&mut self) -> Self::Api<'_> {
        &self.0
    }

    unsafe fn reset(&mut self) {}

    fn peak_reserved(&mut self) -> Option<usize> {
        Some(self.0.get_mut().peak_reserved())
    }
}

/// talc 4's `Talc`, growing on out-of-memory through [`TalcMmap`].
pub struct TalcHeap(talc::Talc<TalcMmap>);

/// talc, the published free-list allocator to beat (the A/A baseline).
pub type Talc = Peer<TalcHeap>;

impl RawHeap for TalcHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: callers pass non-zero sizes only (`RawHeap` contract).
        unsafe { self.0.malloc(layout) }.ok()
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.free(ptr, layout) }
    }

    #[inline(always)]
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.grow(ptr, old, new_size) }.ok()
    }
}

impl PeerHeap for TalcHeap {
    const KEY: &'static str = "talc";
    const NAME: &'static str = "talc";

    fn new() -> Self {
        Self(talc::Talc::new(TalcMmap::new()))
    }

    fn peak_reserved(&self) -> usize {
        self.0.oom_handler.meter().peak()
    }
}

impl Drop for TalcHeap {
    fn drop(&mut self) {
        // SAFETY: the heap goes with `self`; no block of it is used again.
        unsafe { self.0.oom_handler.release_all() }
    }
}

/// The Rust port of dlmalloc (the default allocator of Rust's wasm32
/// targets), its system memory through [`DlmallocMmap`].
pub struct DlmallocHeap(ManuallyDrop<dlmalloc::Dlmalloc<DlmallocMmap>>);

/// dlmalloc, wasm's default.
pub type Dlmalloc = Peer<DlmallocHeap>;

impl RawHeap for DlmallocHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: a valid layout; dlmalloc's `malloc` accepts any.
        NonNull::new(unsafe { self.0.malloc(layout.size(), layout.align()) })
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.free(ptr.as_ptr(), layout.size(), layout.align()) }
    }

    #[inline(always)]
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        NonNull::new(unsafe {
            self.0
                .realloc(ptr.as_ptr(), old.size(), old.align(), new_size)
        })
    }
}

impl PeerHeap for DlmallocHeap {
    const KEY: &'static str = "dlmalloc";
    const NAME: &'static str = "dlmalloc";

    fn new() -> Self {
        Self(ManuallyDrop::new(dlmalloc::Dlmalloc::new_with_allocator(
            DlmallocMmap::new(),
        )))
    }

    fn peak_reserved(&self) -> usize {
        self.0.allocator().meter().peak()
    }
}

impl Drop for DlmallocHeap {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and `self.0` is not used again.
        let dl = unsafe { ManuallyDrop::take(&mut self.0) };
        // SAFETY: the heap goes with `self`; no block of it is used again.
        unsafe { dl.destroy() };
    }
}

/// rlsf's TLSF over memory it asks for as it needs it, with the bitmap sizes
/// its `GlobalTlsf` uses.
pub struct RlsfHeap(
    rlsf::FlexTlsf<RlsfMmap, usize, usize, { usize::BITS as usize }, { usize::BITS as usize }>,
);

/// rlsf, a published TLSF.
pub type Rlsf = Peer<RlsfHeap>;

impl RawHeap for RlsfHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate(layout)
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller, with the block's alignment.
        unsafe { self.0.deallocate(ptr, layout.align()) }
    }

    #[inline(always)]
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller; the alignment is kept.
        unsafe { self.0.reallocate(ptr, grown(old, new_size)) }
    }
}

impl PeerHeap for RlsfHeap {
    const KEY: &'static str = "rlsf";
    const NAME: &'static str = "rlsf";

    fn new() -> Self {
        Self(rlsf::FlexTlsf::new(RlsfMmap::new()))
    }

    fn peak_reserved(&self) -> usize {
        self.0.source_ref().meter().peak()
    }
}

/// linked_list_allocator's first-fit `Heap`, extended at its top from a
/// [`Region`]. It has no reallocation: a grow moves the block.
pub struct LinkedListHeap {
    // Declared first: dropped before the memory it lives in.
    heap: linked_list_allocator::Heap,
    region: Region,
}

/// linked_list_allocator, the classic `no_std` first-fit list.
pub type LinkedList = Peer<LinkedListHeap>;

impl RawHeap for LinkedListHeap {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        loop {
            if let Ok(p) = self.heap.allocate_first_fit(layout) {
                return Some(p);
            }
            if !self.region.grow(&mut self.heap, layout) {
                return None;
            }
        }
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.deallocate(ptr, layout) }
    }

    // No reallocation of its own: `grow` moves the block (the default).
}

impl PeerHeap for LinkedListHeap {
    const KEY: &'static str = "linked-list";
    const NAME: &'static str = "linked_list_allocator";

    fn new() -> Self {
        Self {
            heap: linked_list_allocator::Heap::empty(),
            region: Region::new(),
        }
    }

    fn peak_reserved(&self) -> usize {
        self.region.meter().peak()
    }
}

/// The system allocator, reading glibc's figures after every call that can
/// take memory from the OS: the `system` row of the peak pass only.
///
/// The figure is the most glibc held from the OS during the round
/// (`arena + hblkhd`) less what the process had in use before it
/// (`uordblks + hblkhd`): meaningful in a process that has done little else,
/// which is how `main.rs` runs it.
pub struct SystemProbe(SampledSystem);

/// `System`, noting glibc's peak after each allocating call.
pub struct SampledSystem {
    /// Bytes in use before the round.
    base: usize,
    /// The most bytes held from the OS seen so far.
    peak: Cell<usize>,
}

impl SampledSystem {
    fn sample(&self) {
        if let Some((held, _)) = glibc_heap_bytes() {
            self.peak.set(self.peak.get().max(held));
        }
    }
}

// SAFETY: every call goes to `System` unchanged; sampling only reads
// glibc's statistics.
unsafe impl GlobalAlloc for SampledSystem {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        self.sample();
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        self.sample();
        p
    }
}

impl Contestant for SystemProbe {
    const KEY: &'static str = SystemAlloc::KEY;
    const NAME: &'static str = SystemAlloc::NAME;
    const RESETS: bool = false;
    type Api<'a> = ViaGlobal<'a, SampledSystem>;

    fn new() -> Self {
        let (held, used) = glibc_heap_bytes().unwrap_or((0, 0));
        Self(SampledSystem {
            base: used,
            peak: Cell::new(held),
        })
    }

    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        alloc_via(&self.0, layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr.as_ptr(), layout) }
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        // SAFETY: forwarded from the caller.
        unsafe { grow_via(&self.0, ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        ViaGlobal(&self.0)
    }

    unsafe fn reset(&mut self) {}

    fn peak_reserved(&mut self) -> Option<usize> {
        glibc_heap_bytes()?;
        Some(self.0.peak.get().saturating_sub(self.0.base))
    }
}

/// Calls `v` for every timed contestant of the group, in table order. The
/// first is the subject of the run.
pub fn for_each<V: Visitor>(v: &mut V) {
    v.visit::<CoreFreeList>();
    v.visit::<GlobalFreeList>();
    v.visit::<Talc>();
    v.visit::<Dlmalloc>();
    v.visit::<Rlsf>();
    v.visit::<LinkedList>();
    v.visit::<SystemAlloc>();
}

/// Calls `v` for every contestant of the peak pass: the same keys as
/// [`for_each`], the system allocator first (it reads the process's heap,
/// which is then freshest), `FreeListAlloc` over a counting source.
pub fn for_each_peak<V: Visitor>(v: &mut V) {
    v.visit::<SystemProbe>();
    v.visit::<CoreFreeList>();
    v.visit::<GlobalFreeListOn<CountingSource<MmapSource>>>();
    v.visit::<Talc>();
    v.visit::<Dlmalloc>();
    v.visit::<Rlsf>();
    v.visit::<LinkedList>();
}

/// The peer measured twice in every comparison of the group (the A/A row).
pub type AaBaseline = Talc;

/// The keys every other row is divided by, one column each.
pub const RATIO_BASES: [&str; 3] = [TalcHeap::KEY, DlmallocHeap::KEY, SystemAlloc::KEY];
