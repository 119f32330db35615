//! The allocators being compared, each behind one small trait, in groups
//! measured by the same run: the bump group (this module), the
//! general-purpose group ([`general`]), the power-of-two group ([`buddy`]),
//! the small-object group ([`slab`]) and the adaptive group ([`adaptive`]). polyalloc's free-list and buddy cores are contestants through
//! the wrappers of [`strategy`], written once for both.
//!
//! The bump group:
//!
//! | key | contestant | how it is called |
//! |---|---|---|
//! | `core` | `BumpHeap<MmapSource>` | the strategy core's `Heap` methods, directly on `&mut` |
//! | `core-counting` | `BumpHeap<MmapSource, Counting>` | the same, keeping every counter of `Stats` |
//! | `global` | `BumpAlloc` (an instance, not the process's allocator) | the `GlobalAlloc` trait: lock + core |
//! | `bumpalo` | `bumpalo::Bump` | its own `alloc_layout`; frees and grows through its allocator-api2 impl |
//! | `system` | `std::alloc::System` (glibc malloc here) | the `GlobalAlloc` trait |
//!
//! Adding an allocator: implement [`Contestant`] and add one line to
//! [`for_each`] (or [`general::for_each`], [`buddy::for_each`]).

pub mod adaptive;
pub mod buddy;
pub mod general;
pub mod slab;
pub mod strategy;

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use std::alloc::{System, handle_alloc_error};

use allocator_api2::alloc::Allocator;
use bumpalo::Bump;
use polyalloc_bump::BumpHeap;
use polyalloc_core::source::MmapSource;
use polyalloc_core::{Counting, Heap, Recorder, Uncounted};

use crate::adapters::ViaGlobal;
use strategy::{Core, Global, Strategy};

/// An allocator as the workloads see it.
///
/// Methods take `&mut self` so a strategy core can be called exactly as its
/// owner would call it; the others simply ignore the exclusivity. A failed
/// allocation stops the benchmark (`handle_alloc_error`): no workload comes
/// near running out of memory.
pub trait Contestant {
    /// Short name, for command lines (`instr core arena`).
    const KEY: &'static str;
    /// Name in the tables.
    const NAME: &'static str;
    /// Whether [`reset`](Contestant::reset) frees every block. Workloads
    /// that drop everything at once then skip the individual frees.
    const RESETS: bool;

    /// The `Allocator` the collection workloads build `Vec`s and `Box`es
    /// with: a cheap handle borrowing the contestant.
    type Api<'a>: Allocator + Copy
    where
        Self: 'a;

    /// A fresh, empty allocator.
    fn new() -> Self;

    /// Allocates a block for `layout` (non-zero size).
    fn alloc(&mut self, layout: Layout) -> NonNull<u8>;

    /// Frees a block.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this contestant allocated with `layout`.
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Grows a block to `new_size` bytes, keeping its alignment and contents;
    /// the old pointer is then dead.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block allocated with `old`, and
    /// `new_size >= old.size()` is a valid size for `old.align()`.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8>;

    /// The handle collections are built with.
    fn api(&mut self) -> Self::Api<'_>;

    /// Ends a round: an arena forgets every block, keeping its memory; an
    /// allocator without a reset does nothing.
    ///
    /// # Safety
    ///
    /// No block from this contestant is used afterwards (for one without a
    /// reset, every block was freed individually).
    unsafe fn reset(&mut self);

    /// The most bytes this contestant has held from the OS at once since
    /// [`new`](Contestant::new), where its backing counts them (see
    /// [`backing`](crate::backing)); `None` where nothing counts.
    fn peak_reserved(&mut self) -> Option<usize> {
        None
    }
}

/// The layout a grow ends at. Sizes in the workloads are far below the
/// `Layout` limit, so this never fails there.
#[inline(always)]
fn grown(old: Layout, new_size: usize) -> Layout {
    match Layout::from_size_align(new_size, old.align()) {
        Ok(l) => l,
        Err(_) => handle_alloc_error(old),
    }
}

/// A polyalloc core's `allocate`, stopping the benchmark on failure.
#[inline(always)]
fn alloc_in<H: Heap>(heap: &mut H, layout: Layout) -> NonNull<u8> {
    match heap.allocate(layout) {
        Some(p) => p,
        None => handle_alloc_error(layout),
    }
}

/// A polyalloc core's `grow` to a larger size with the same alignment,
/// stopping the benchmark on failure.
///
/// # Safety
///
/// As [`Contestant::grow`], for a block of `heap`.
#[inline(always)]
unsafe fn grow_in<H: Heap>(
    heap: &mut H,
    ptr: NonNull<u8>,
    old: Layout,
    new_size: usize,
) -> NonNull<u8> {
    let new = grown(old, new_size);
    // SAFETY: forwarded from the caller; `new` is at least as large.
    match unsafe { heap.grow(ptr, old, new) } {
        Some(p) => p,
        None => handle_alloc_error(new),
    }
}

/// `GlobalAlloc::alloc` on `g`, stopping the benchmark on failure.
#[inline(always)]
fn alloc_via<G: GlobalAlloc>(g: &G, layout: Layout) -> NonNull<u8> {
    // SAFETY: workloads only allocate non-zero sizes.
    match NonNull::new(unsafe { g.alloc(layout) }) {
        Some(p) => p,
        None => handle_alloc_error(layout),
    }
}

/// `GlobalAlloc::realloc` on `g` to a larger size, stopping the benchmark
/// on failure.
///
/// # Safety
///
/// As [`Contestant::grow`], for a block of `g`.
#[inline(always)]
unsafe fn grow_via<G: GlobalAlloc>(
    g: &G,
    ptr: NonNull<u8>,
    old: Layout,
    new_size: usize,
) -> NonNull<u8> {
    // SAFETY: forwarded from the caller.
    let p = unsafe { g.realloc(ptr.as_ptr(), old, new_size) };
    match NonNull::new(p) {
        Some(p) => p,
        None => handle_alloc_error(grown(old, new_size)),
    }
}

/// How a core contestant is named, per recorder.
pub trait CoreName {
    /// Key on command lines.
    const KEY: &'static str;
    /// Name in the tables.
    const NAME: &'static str;
}

impl CoreName for Uncounted {
    const KEY: &'static str = "core";
    const NAME: &'static str = "BumpHeap (core, direct)";
}

impl CoreName for Counting {
    const KEY: &'static str = "core-counting";
    const NAME: &'static str = "BumpHeap<Counting> (core)";
}

/// polyalloc's bump core as a strategy: its rows reset the heap at the end
/// of a round, as an arena's owner does.
impl<R: Recorder + CoreName + 'static> Strategy for BumpHeap<MmapSource, R> {
    const CORE_KEY: &'static str = R::KEY;
    const CORE_NAME: &'static str = R::NAME;
    const GLOBAL_KEY: &'static str = "global";
    const GLOBAL_NAME: &'static str = "BumpAlloc (GlobalAlloc)";
    const RESETS: bool = true;

    fn fresh() -> Self {
        Self::with_recorder(MmapSource::new())
    }

    fn peak_reserved(&self) -> Option<usize> {
        None
    }
}

/// polyalloc's bump core, its `Heap` methods called directly: no lock, no
/// trait object, no adapter. The collection workloads reach it through
/// `&HeapCell`, polyalloc's single-threaded `Allocator` wrapper.
pub type CoreBump<R = Uncounted> = Core<BumpHeap<MmapSource, R>>;

/// polyalloc's ready-to-use `BumpAlloc` (lock + core; `BumpAlloc` is
/// `LockedHeap<BumpHeap<MmapSource>>` on unix), called through the
/// `GlobalAlloc` trait as a `#[global_allocator]` is. A separate instance,
/// not this process's allocator.
pub type GlobalBump = Global<BumpHeap<MmapSource>>;

/// bumpalo's `Bump`, the published bump allocator to beat. Allocation is its
/// own `alloc_layout`; frees (the most recent block rolls back) and grows go
/// through its allocator-api2 impl, as bumpalo's own collections do.
pub struct Bumpalo(Bump);

impl Contestant for Bumpalo {
    const KEY: &'static str = "bumpalo";
    const NAME: &'static str = "bumpalo";
    const RESETS: bool = true;
    type Api<'a> = &'a Bump;

    fn new() -> Self {
        Self(Bump::new())
    }

    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        self.0.alloc_layout(layout)
    }

    #[inline(always)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { (&self.0).deallocate(ptr, layout) }
    }

    #[inline(always)]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        let new = grown(old, new_size);
        // SAFETY: forwarded from the caller; `new` is at least as large.
        match unsafe { (&self.0).grow(ptr, old, new) } {
            Ok(p) => p.cast(),
            Err(_) => handle_alloc_error(new),
        }
    }

    fn api(&mut self) -> Self::Api<'_> {
        &self.0
    }

    unsafe fn reset(&mut self) {
        self.0.reset();
    }
}

/// The system allocator (`std::alloc::System`: glibc's malloc on this
/// machine) through `GlobalAlloc`. It has no reset: workloads free every
/// block one by one.
pub struct SystemAlloc;

impl Contestant for SystemAlloc {
    const KEY: &'static str = "system";
    const NAME: &'static str = "System (glibc malloc)";
    const RESETS: bool = false;
    type Api<'a> = ViaGlobal<'static, System>;

    fn new() -> Self {
        Self
    }

    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        alloc_via(&System, layout)
    }

    #[inline(always)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr.as_ptr(), layout) }
    }

    #[inline(always)]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        // SAFETY: forwarded from the caller.
        unsafe { grow_via(&System, ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        ViaGlobal(&System)
    }

    unsafe fn reset(&mut self) {}
}

/// Something done once per contestant type: how callers iterate over the
/// list without naming the types.
pub trait Visitor {
    /// Called once for each contestant, in the order of [`for_each`].
    fn visit<C: Contestant + 'static>(&mut self);
}

/// Calls `v` for every contestant of the bump group. The first is the
/// subject of the run; the order is also the order of the rows in the
/// tables.
pub fn for_each<V: Visitor>(v: &mut V) {
    v.visit::<CoreBump>();
    v.visit::<CoreBump<Counting>>();
    v.visit::<GlobalBump>();
    v.visit::<Bumpalo>();
    v.visit::<SystemAlloc>();
}

/// The peer measured twice in every comparison (the A/A row): the honest
/// error bar of the ratios against it.
pub type AaBaseline = Bumpalo;

/// The keys of the contestants every other row is divided by, one column each.
pub const RATIO_BASES: [&str; 2] = [Bumpalo::KEY, SystemAlloc::KEY];

/// Every bump-group contestant's key, in table order.
#[must_use]
pub fn keys() -> Vec<&'static str> {
    struct Keys(Vec<&'static str>);
    impl Visitor for Keys {
        fn visit<C: Contestant + 'static>(&mut self) {
            self.0.push(C::KEY);
        }
    }
    let mut k = Keys(Vec::new());
    for_each(&mut k);
    k.0
}
