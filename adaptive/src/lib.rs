//! polyalloc's adaptive meta-allocator.
//!
//! A FaaS function allocates the same way invocation after invocation. The
//! cheapest allocator for most of them is a bump pointer that returns to the
//! start when the invocation ends; the few that free a lot out of order need
//! a real allocator instead. [`AdaptiveHeap`] starts every function on bump,
//! records how it allocates ([`Usage`]), and switches when bump stops paying
//! off — in the middle of an invocation if need be — to slab when nearly all
//! requests are small, to buddy when they are large powers of two, and to the
//! free list otherwise ([`Policy`]). The
//! decision and a summary of the recording serialize to a small versioned
//! [`Record`] that a host stores per function and hands to the next
//! instance, which then starts in the right strategy.
//!
//! Blocks are never lost by a switch: every strategy core keeps the blocks it
//! handed out, and a free goes to the core whose span holds the block (one
//! binary search over the spans, or none at all while only one core has live
//! blocks).
//!
//! Two phases: allocations made during [`begin_init`](AdaptiveHeap::begin_init)
//! … [`end_init`](AdaptiveHeap::end_init) live across invocations and come
//! from a heap of their own; the rest are per invocation, and
//! [`end_invocation`](AdaptiveHeap::end_invocation) drops them all at once
//! for a pure function or keeps them for a stateful one.
//!
//! ```
//! use polyalloc_adaptive::{AdaptiveAlloc, Control, Strategy};
//! use allocator_api2::alloc::{Allocator, Layout};
//!
//! static HEAP: AdaptiveAlloc = AdaptiveAlloc::new();
//!
//! // One invocation that frees out of order, a lot: each round allocates two
//! // blocks and frees the older, which bump cannot take back.
//! let layout = Layout::from_size_align(1024, 8).unwrap();
//! let mut keep = Vec::new();
//! for _ in 0..400 {
//!     let older = (&HEAP).allocate(layout).unwrap();
//!     keep.push((&HEAP).allocate(layout).unwrap());
//!     // SAFETY: `older` came from HEAP with `layout`.
//!     unsafe { (&HEAP).deallocate(older.cast(), layout) };
//! }
//! // Bump wasted too much: the heap moved to the free list mid-invocation.
//! assert_eq!(HEAP.decision().strategy, Strategy::FreeList);
//! for block in keep {
//!     // SAFETY: as above; blocks from before the switch are still valid.
//!     unsafe { (&HEAP).deallocate(block.cast(), layout) };
//! }
//! // The record a host would store for the next instance.
//! let record = HEAP.record_bytes();
//! let next: AdaptiveAlloc = AdaptiveAlloc::new();
//! next.load_record(&record).unwrap();
//! assert_eq!(next.decision().strategy, Strategy::FreeList);
//! ```
//!
//! # Cargo features
//!
//! - `bump`, `buddy`, `slab` (all on by default): the strategy cores. The
//!   free list is always built in (it serves the init phase and is the
//!   fallback); a strategy whose feature is off is served by the free list
//!   wherever it would have been picked (a forced switch, a loaded record,
//!   the policy's choice), and [`Strategy::is_enabled`] tells which are
//!   built. Without `bump`, functions start on the free list. A wasm guest
//!   that counts bytes turns cores off with `default-features = false`:
//!   `docs/wasm.md` has the module sizes of each build.
//! - `host`: the host-shared heap (`shared::SharedHeap`), a
//!   heap a host manages inside a guest's memory by offsets; needs `alloc`.
//!
//! The crate is `no_std` and never allocates. `docs/adaptive.md` in the
//! repository has the policy's measurements, the record format and the
//! guest ABI.

#![no_std]

#[cfg(feature = "host")]
extern crate alloc;

pub mod abi;
mod heap;
mod lease;
pub mod policy;
pub mod record;
#[cfg(feature = "host")]
pub mod shared;
pub mod usage;

pub use heap::{AdaptiveHeap, Phase};
pub use policy::{Decision, Policy, Reason, Strategy};
pub use record::{RECORD_LEN, Record, RecordError};
pub use usage::Usage;

#[doc(hidden)]
pub use abi::{AbiBuffer, abi_error_code};

use polyalloc_core::{DefaultSource, LockedHeap, Source};

/// The thread-safe adaptive allocator on the platform's default source
/// (`mmap` on unix, `memory.grow` on wasm32): a `#[global_allocator]` and an
/// allocator-api2 `Allocator`. Its lifecycle and record operations come
/// from the [`Control`] trait.
///
/// ```
/// use polyalloc_adaptive::AdaptiveAlloc;
///
/// #[global_allocator]
/// static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();
/// # fn main() { let v = vec![1, 2, 3]; assert_eq!(v.len(), 3); }
/// ```
pub type AdaptiveAlloc<S = DefaultSource> = LockedHeap<AdaptiveHeap<S>>;

/// The adaptive heap's own operations on the thread-safe allocator: phases,
/// invocations, decisions and records. Each takes the lock once.
pub trait Control {
    /// The current decision.
    fn decision(&self) -> Decision;
    /// Counters over the function's whole life.
    fn totals(&self) -> Usage;
    /// Counters of the current invocation.
    fn invocation(&self) -> Usage;
    /// Starts the init phase ([`AdaptiveHeap::begin_init`]).
    fn begin_init(&self);
    /// Ends the init phase ([`AdaptiveHeap::end_init`]).
    fn end_init(&self);
    /// Marks the function stateful or pure ([`AdaptiveHeap::set_stateful`]).
    fn set_stateful(&self, stateful: bool);
    /// Whether the function is stateful ([`AdaptiveHeap::is_stateful`]).
    fn is_stateful(&self) -> bool;
    /// Serves the run phase from `strategy` ([`AdaptiveHeap::force`]).
    fn force(&self, strategy: Strategy);
    /// Ends an invocation ([`AdaptiveHeap::end_invocation`]).
    ///
    /// # Safety
    ///
    /// For a pure function, no block allocated in the run phase of this
    /// invocation may be used afterwards (every `Box`, `Vec` and `String`
    /// made since the last end of invocation outside the init phase must be
    /// gone). A stateful function's blocks stay valid.
    unsafe fn end_invocation(&self);
    /// The record to store ([`AdaptiveHeap::record`]), as bytes.
    fn record_bytes(&self) -> [u8; RECORD_LEN];
    /// Loads a stored record ([`AdaptiveHeap::load_record`]).
    fn load_record(&self, bytes: &[u8]) -> Result<Record, RecordError>;
}

impl<S: Source + Send> Control for LockedHeap<AdaptiveHeap<S>> {
    fn decision(&self) -> Decision {
        // SAFETY: a query; no block is touched.
        unsafe { self.lock_heap(|h| h.decision()) }
    }

    fn totals(&self) -> Usage {
        // SAFETY: a query; no block is touched.
        unsafe { self.lock_heap(|h| h.totals()) }
    }

    fn invocation(&self) -> Usage {
        // SAFETY: a query; no block is touched.
        unsafe { self.lock_heap(|h| *h.invocation()) }
    }

    fn begin_init(&self) {
        // SAFETY: changes where new blocks come from; every block stays valid.
        unsafe { self.lock_heap(|h| h.begin_init()) }
    }

    fn end_init(&self) {
        // SAFETY: as above.
        unsafe { self.lock_heap(|h| h.end_init()) }
    }

    fn set_stateful(&self, stateful: bool) {
        // SAFETY: a flag read at the next end of invocation.
        unsafe { self.lock_heap(|h| h.set_stateful(stateful)) }
    }

    fn is_stateful(&self) -> bool {
        // SAFETY: a query; no block is touched.
        unsafe { self.lock_heap(|h| h.is_stateful()) }
    }

    fn force(&self, strategy: Strategy) {
        // SAFETY: changes where new blocks come from; every block stays valid.
        unsafe { self.lock_heap(|h| h.force(strategy)) }
    }

    unsafe fn end_invocation(&self) {
        // SAFETY: the caller promises no run block of a pure invocation is
        // used again.
        unsafe { self.lock_heap(|h| h.end_invocation()) }
    }

    fn record_bytes(&self) -> [u8; RECORD_LEN] {
        // SAFETY: a query; no block is touched.
        unsafe { self.lock_heap(|h| h.record().to_bytes()) }
    }

    fn load_record(&self, bytes: &[u8]) -> Result<Record, RecordError> {
        // SAFETY: a record only steers where new blocks come from; every
        // block stays valid.
        unsafe { self.lock_heap(|h| h.load_record(bytes)) }
    }
}

/// The words the guest ABI's `polyalloc_stats` export writes
/// ([`abi::STATS_WORDS`], in the order listed there).
#[doc(hidden)]
pub fn stats_words<S: Source + Send>(alloc: &AdaptiveAlloc<S>) -> [u64; abi::STATS_WORDS] {
    use polyalloc_core::Heap;
    // SAFETY: a query; no block is touched.
    unsafe {
        alloc.lock_heap(|h| {
            let t = h.totals();
            let s = h.stats();
            [
                t.allocations,
                t.deallocations,
                t.failed_deallocations,
                t.reallocations,
                t.bytes_allocated,
                t.peak_bytes_live,
                s.bytes_live as u64,
                s.bytes_reserved as u64,
                h.strategy() as u64,
                h.invocations(),
            ]
        })
    }
}

/// The self-hosted test run (`bash tests/selfhost.sh adaptive`, which sets
/// `--cfg polyalloc_selfhost_adaptive`): every binary that links this crate,
/// each test binary of the workspace among them, runs on `AdaptiveAlloc`.
#[cfg(all(polyalloc_selfhost_adaptive, not(loom)))]
#[global_allocator]
static SELF_HOSTED: AdaptiveAlloc = AdaptiveAlloc::new();
