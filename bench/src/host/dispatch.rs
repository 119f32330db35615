//! The host workloads' global allocator: one type, [`Chosen`], that
//! forwards every call to the allocator named by [`ALLOC_VAR`](super::ALLOC_VAR)
//! when the process made its first allocation.
//!
//! The name is read once, with `libc::getenv` (no allocation), by the first
//! call, before anything has been allocated; after that each call loads one
//! byte and branches on it. The branch always goes the same way in a
//! process, so it is predicted, and every contestant pays the same: one
//! relaxed load and one indirect jump per call on top of its own cost.
//!
//! The peers are set up as their users set them up for a hosted global
//! allocator: talc's `Talck` behind a spin lock, growing by mapping
//! memory when it runs out ([`TalcGrow`]); dlmalloc's `GlobalDlmalloc`;
//! linked_list_allocator's `LockedHeap` over one large reservation (it cannot
//! grow); buddy_system_allocator's `LockedHeapWithRescue`, whose rescue maps
//! more memory. polyalloc's allocators are their ready-made types.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU8, Ordering};
use std::alloc::System;

use libmimalloc_sys as mi;
use polyalloc_adaptive::AdaptiveAlloc;
use polyalloc_buddy::BuddyAlloc;
use polyalloc_bump::BumpAlloc;
use polyalloc_freelist::FreeListAlloc;
use polyalloc_slab::SlabAlloc;
use polyalloc_threads::ThreadAlloc;

use crate::backing::{map, round_up, talc_map_more};

macro_rules! kinds {
    ($($(#[$attr:meta])* $variant:ident = $key:literal, $name:literal, $polyalloc:literal, $reuses:literal;)*) => {
        /// An allocator the worker can run as its global allocator.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Kind {
            $($(#[$attr])* #[doc = $name] $variant,)*
        }

        impl Kind {
            /// Every allocator, in table order.
            pub const ALL: &'static [Self] = &[$($(#[$attr])* Self::$variant,)*];

            /// Short name: the value of [`ALLOC_VAR`](super::ALLOC_VAR).
            #[must_use]
            pub const fn key(self) -> &'static str {
                match self { $($(#[$attr])* Self::$variant => $key,)* }
            }

            /// Name in the tables.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $($(#[$attr])* Self::$variant => $name,)* }
            }

            /// Whether it is one of polyalloc's.
            #[must_use]
            pub const fn is_polyalloc(self) -> bool {
                match self { $($(#[$attr])* Self::$variant => $polyalloc,)* }
            }

            /// Whether it reuses freed memory in general (a bump allocator
            /// reuses only the most recent block's).
            #[must_use]
            pub const fn reuses_memory(self) -> bool {
                match self { $($(#[$attr])* Self::$variant => $reuses,)* }
            }
        }
    };
}

kinds! {
    System = "system", "System (glibc malloc)", false, true;
    Mimalloc = "mimalloc", "mimalloc", false, true;
    #[cfg(feature = "jemalloc")]
    Jemalloc = "jemalloc", "jemalloc", false, true;
    Talc = "talc", "talc (Talck, spin lock)", false, true;
    Dlmalloc = "dlmalloc", "dlmalloc (GlobalDlmalloc)", false, true;
    LinkedList = "linked-list", "linked_list_allocator (LockedHeap)", false, true;
    BuddySystem = "buddy-system", "buddy_system_allocator (LockedHeapWithRescue)", false, true;
    Bump = "bump", "polyalloc BumpAlloc", true, false;
    FreeList = "freelist", "polyalloc FreeListAlloc", true, true;
    Buddy = "buddy", "polyalloc BuddyAlloc", true, true;
    Slab = "slab", "polyalloc SlabAlloc", true, true;
    Adaptive = "adaptive", "polyalloc AdaptiveAlloc", true, true;
    Threads = "threads", "polyalloc ThreadAlloc (a heap per thread)", true, true;
}

impl Kind {
    /// The allocator whose key is `key`.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.key() == key)
    }

    /// The allocator whose key is `key`, compared as bytes (no allocation).
    fn from_key_bytes(key: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.key().as_bytes() == key)
    }

    fn from_index(i: u8) -> Self {
        Self::ALL[usize::from(i)]
    }

    fn index(self) -> u8 {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .and_then(|i| u8::try_from(i).ok())
            .unwrap_or(0)
    }
}

/// The chosen allocator's index in [`Kind::ALL`] plus one; 0 before the
/// choice, [`CHOOSING`] while the first call makes it.
static CHOICE: AtomicU8 = AtomicU8::new(0);
const CHOOSING: u8 = u8::MAX;

/// The allocator this process runs on: read from the environment by the
/// first call, then kept. An unknown name is the system allocator (the
/// worker compares [`chosen`]'s key with the name it was given).
#[must_use]
pub fn chosen() -> Kind {
    match CHOICE.load(Ordering::Acquire) {
        0 | CHOOSING => choose(),
        i => Kind::from_index(i - 1),
    }
}

/// [`ALLOC_VAR`](super::ALLOC_VAR) for `getenv`.
const ALLOC_VAR_C: &core::ffi::CStr = c"POLYALLOC_BENCH_ALLOC";

#[cold]
fn choose() -> Kind {
    loop {
        match CHOICE.compare_exchange(0, CHOOSING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => break,
            Err(CHOOSING) => core::hint::spin_loop(),
            Err(i) => return Kind::from_index(i - 1),
        }
    }
    // SAFETY: the name (`ALLOC_VAR`, checked by a test) is a NUL-terminated
    // literal; getenv only reads the
    // environment, which nothing in this process changes.
    let value = unsafe { libc::getenv(ALLOC_VAR_C.as_ptr()) };
    let kind = if value.is_null() {
        Kind::System
    } else {
        // SAFETY: getenv returned a NUL-terminated string that lives as long
        // as the environment is not changed.
        let bytes = unsafe { core::ffi::CStr::from_ptr(value) }.to_bytes();
        Kind::from_key_bytes(bytes).unwrap_or(Kind::System)
    };
    if kind == Kind::LinkedList {
        init_linked_list();
    }
    CHOICE.store(kind.index() + 1, Ordering::Release);
    kind
}

/// The global allocator that forwards to [`chosen`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Chosen;

/// Calls `$call` on the chosen allocator, bound to `$a`.
macro_rules! forward {
    ($a:ident => $call:expr) => {
        match chosen() {
            Kind::System => {
                let $a = &System;
                $call
            }
            Kind::Mimalloc => {
                let $a = &Mimalloc;
                $call
            }
            #[cfg(feature = "jemalloc")]
            Kind::Jemalloc => {
                let $a = &tikv_jemallocator::Jemalloc;
                $call
            }
            Kind::Talc => {
                let $a = &TALC;
                $call
            }
            Kind::Dlmalloc => {
                let $a = &dlmalloc::GlobalDlmalloc;
                $call
            }
            Kind::LinkedList => {
                let $a = &LINKED_LIST;
                $call
            }
            Kind::BuddySystem => {
                let $a = &BUDDY_SYSTEM;
                $call
            }
            Kind::Bump => {
                let $a = &BUMP;
                $call
            }
            Kind::FreeList => {
                let $a = &FREELIST;
                $call
            }
            Kind::Buddy => {
                let $a = &BUDDY;
                $call
            }
            Kind::Slab => {
                let $a = &SLAB;
                $call
            }
            Kind::Adaptive => {
                let $a = &ADAPTIVE;
                $call
            }
            Kind::Threads => {
                let $a = &THREADS;
                $call
            }
        }
    };
}

// SAFETY: every call goes to one allocator, the same for the whole process
// (the choice is made once, before the first block), so each block is freed
// and reallocated by the allocator that made it; each forwarded call
// passes on the caller's guarantees unchanged.
unsafe impl GlobalAlloc for Chosen {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller (see the impl's comment).
        forward!(a => unsafe { a.alloc(layout) })
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller; `ptr` came from the same
        // allocator.
        forward!(a => unsafe { a.dealloc(ptr, layout) });
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        forward!(a => unsafe { a.alloc_zeroed(layout) })
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller; `ptr` came from the same
        // allocator.
        forward!(a => unsafe { a.realloc(ptr, layout, new_size) })
    }
}

// ---------------------------------------------------------------------------
// The allocators

static BUMP: BumpAlloc = BumpAlloc::new();
static FREELIST: FreeListAlloc = FreeListAlloc::new();
static BUDDY: BuddyAlloc = BuddyAlloc::new();
static SLAB: SlabAlloc = SlabAlloc::new();
static ADAPTIVE: AdaptiveAlloc = AdaptiveAlloc::new();
static THREADS: ThreadAlloc = ThreadAlloc::new();

/// Chunks the peers that grow are handed when they run out.
const CHUNK: usize = 4 << 20;

/// mimalloc's process-wide heap, as the `mimalloc` crate calls it.
struct Mimalloc;

/// The alignment `mi_malloc` guarantees without asking.
const MI_MIN_ALIGN: usize = 16;

// SAFETY: each call is mimalloc's own for that request; `mi_free` and
// `mi_realloc_aligned` take any block mimalloc returned.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: no preconditions; null on failure.
        unsafe {
            if layout.align() <= MI_MIN_ALIGN {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from mimalloc (the caller's guarantee).
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: no preconditions; null on failure.
        unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from mimalloc with `layout` (the caller's
        // guarantee).
        unsafe {
            mi::mi_realloc_aligned(
                ptr.cast::<c_void>(),
                new_size,
                layout.align().max(MI_MIN_ALIGN),
            )
            .cast()
        }
    }
}

/// talc's out-of-memory handler for the global allocator: maps
/// 4 MiB chunks (or more, for a large request), extends the heap when the new
/// pages lie right after it, else claims them as a new heap. It keeps only
/// the last heap's span: it cannot allocate (it runs inside the allocator),
/// and the process never gives the memory back.
#[derive(Debug)]
pub struct TalcGrow {
    heap: talc::Span,
}

impl TalcGrow {
    /// A handler with nothing mapped.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            heap: talc::Span::empty(),
        }
    }
}

impl Default for TalcGrow {
    fn default() -> Self {
        Self::new()
    }
}

impl talc::OomHandler for TalcGrow {
    fn handle_oom(talc: &mut talc::Talc<Self>, layout: Layout) -> Result<(), ()> {
        let need = (layout.size() + 64).max(layout.align() * 2).max(CHUNK);
        let len = round_up(need, CHUNK).ok_or(())?;
        // The mapping is never returned: the process keeps it to the end.
        let (heap, _mapped) = talc_map_more(talc, talc.oom_handler.heap, len)?;
        talc.oom_handler.heap = heap;
        Ok(())
    }
}

static TALC: talc::Talck<spin::Mutex<()>, TalcGrow> = talc::Talc::new(TalcGrow::new()).lock();

/// The address space linked_list_allocator's heap gets: it cannot grow, so
/// it is given one large reservation whose pages become resident only as
/// they are touched.
const LINKED_LIST_RESERVE: usize = 1 << 34;

static LINKED_LIST: linked_list_allocator::LockedHeap = linked_list_allocator::LockedHeap::empty();

/// Gives [`LINKED_LIST`] its reservation; called once, by [`choose`].
fn init_linked_list() {
    if let Some(base) = map(LINKED_LIST_RESERVE, None, libc::MAP_NORESERVE) {
        // SAFETY: a fresh mapping of that length, used by nothing else and
        // never unmapped.
        unsafe { LINKED_LIST.lock().init(base.as_ptr(), LINKED_LIST_RESERVE) };
    }
}

/// buddy_system_allocator's largest order: blocks up to 2 GiB.
const BUDDY_ORDER: usize = 32;

static BUDDY_SYSTEM: buddy_system_allocator::LockedHeapWithRescue<BUDDY_ORDER> =
    buddy_system_allocator::LockedHeapWithRescue::new(buddy_rescue);

/// buddy_system_allocator's rescue: maps enough for a block of the request's
/// size aligned to that size (twice the block, at least a [`CHUNK`]) and
/// adds it to the heap, which cuts it into aligned blocks.
fn buddy_rescue(heap: &mut buddy_system_allocator::Heap<BUDDY_ORDER>, layout: &Layout) {
    let block = layout.size().max(layout.align()).next_power_of_two();
    let Some(len) = block
        .checked_mul(2)
        .and_then(|n| round_up(n.max(CHUNK), CHUNK))
    else {
        return;
    };
    if let Some(p) = map(len, None, 0) {
        let start = p.as_ptr().addr();
        // SAFETY: a fresh mapping of `len` bytes, used by nothing else and
        // never unmapped.
        unsafe { heap.add_to_heap(start, start + len) };
    }
}

#[cfg(test)]
mod tests {
    use super::{ALLOC_VAR_C, Kind};

    #[test]
    fn the_variable_getenv_reads_is_the_documented_one() {
        assert_eq!(ALLOC_VAR_C.to_str(), Ok(super::super::ALLOC_VAR));
    }

    #[test]
    fn keys_are_unique_and_read_back() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_key(k.key()), Some(*k));
            assert_eq!(Kind::from_index(k.index()), *k);
        }
    }
}
