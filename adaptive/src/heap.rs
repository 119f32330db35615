//! The adaptive heap: several strategy cores behind one [`Heap`], a recorder
//! and a policy that picks which core serves new allocations.
//!
//! # Structure
//!
//! Five cores, each numbered by a *slot*: the init heap (a free list, for
//! what a function allocates while it initialises and keeps across
//! invocations) and the four run strategies (bump, free list, buddy, slab). All
//! five draw spans from one source through [`Lease`]s, which record every
//! span in a map under the slot of the core that took it (see
//! [`lease`](crate::lease)). New allocations go to the *target* slot: the
//! init heap during the init phase, the current strategy's core otherwise.
//! A free goes to the core that owns the block, found in the span map, so a
//! switch never strands a block: blocks of an earlier strategy stay valid and
//! go back to their own core.
//!
//! # Invariants
//!
//! 1. **One owner.** Every live block lies in a span of exactly one core, and
//!    the span map tags that span with the core's slot (unless the map
//!    overflowed for want of memory for its own storage, when the cores are
//!    asked).
//! 2. **Live counts.** `blocks[s]` is the number of live non-zero-size
//!    blocks of slot `s`; `bytes_total` is the requested bytes of every
//!    core's live non-zero-size blocks together, `init_bytes` those of the
//!    init heap's (zero when it holds no live block; the run cores' bytes
//!    are not kept apart, as they are only ever forgotten together); bit `s` of
//!    `live_mask` is set exactly when `blocks[s]` is not zero; `owner_bit`
//!    is `live_mask` when that has a single bit set, zero otherwise.
//! 3. **Target.** `target` is `INIT` in the init phase and the slot of
//!    `decision.strategy` in the run phase; `target_bit` is `1 << target`,
//!    or zero when the target is bump (the bit is only read when it is
//!    not), and may be zero too for the free list in a build without bump,
//!    where it is slot 0 and a new heap starts on it (the allocation then
//!    takes the out-of-line path until the target is next set).
//! 4. **Bump waste.** `bump_waste` is the bytes freed out of order to the
//!    bump core since it last held no live block; it is zero whenever bump
//!    holds none.
//! 5. **Counters.** `invocation` counts since the last end of invocation,
//!    `past` everything before it; `mark` is the total at the last decision.
//!
//! 6. **Idle cores give their memory back.** A core that is not the target
//!    and holds no live block is *idle*. Where the source keeps memory
//!    (wasm32, a region) an idle core gives all its spans to the provider's
//!    pool at once, so a strategy the function left does not strand memory.
//!    Where the source takes memory back (`mmap`), an idle core is reset and
//!    marked in `idle`, and gives its spans back once it has stayed idle
//!    through `Policy::idle_invocations` whole invocations (`idle_age`), so
//!    a function that moves between strategies every few invocations does
//!    not fault its pages in again each time. No core marked idle holds a
//!    live block.
//!
//! Zero-size blocks are served by the target core like any other request
//! but are not counted (as everywhere in the family), and freeing one does
//! nothing: no core needs a zero-size block back (the free list and buddy
//! hand out dangling pointers for them, bump an address it never reads).

use core::alloc::Layout;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

#[cfg(feature = "buddy")]
use polyalloc_buddy::BuddyHeap;
#[cfg(feature = "bump")]
use polyalloc_bump::BumpHeap;
use polyalloc_core::source::DefaultSource;
use polyalloc_core::{CheckError, ConstDefault, Heap, Source, Stats};
use polyalloc_freelist::FreeListHeap;
#[cfg(feature = "slab")]
use polyalloc_slab::SlabHeap;

use crate::lease::{Lease, Provider};
use crate::policy::{Decision, Policy, Reason, Sample, Strategy};
use crate::record::{Record, RecordError};
use crate::usage::{BUCKETS, Usage, bucket_of_nonzero, near_power_of_two};

// Slot 0 is the strategy a new heap targets, so that its `target` is zero
// bytes: bump, or the free list in a build without bump (feature `bump`),
// where the bump slot has no core and is never a target nor an owner.
/// The bump core's slot.
#[cfg(feature = "bump")]
const BUMP: u8 = 0;
#[cfg(not(feature = "bump"))]
const BUMP: u8 = 2;
/// The init heap's slot.
const INIT: u8 = 1;
/// The run free list's slot.
#[cfg(feature = "bump")]
const FREELIST: u8 = 2;
#[cfg(not(feature = "bump"))]
const FREELIST: u8 = 0;
/// The buddy core's slot.
const BUDDY: u8 = 3;
/// The slab core's slot.
const SLAB: u8 = 4;
/// The number of slots.
const SLOTS: usize = 5;
/// The `SLOT` parameters of the two free lists' leases. On wasm32 they are
/// one type, the slot given at each bind (`lease::SLOT_AT_BIND`), so that the
/// free list's code is in the module once, not twice (about 5 KB); the
/// bind then stores one byte more. Elsewhere each lease names its slot in
/// its type, and binding stores the provider only.
#[cfg(target_arch = "wasm32")]
const INIT_LEASE: u8 = crate::lease::SLOT_AT_BIND;
#[cfg(target_arch = "wasm32")]
const FREELIST_LEASE: u8 = crate::lease::SLOT_AT_BIND;
#[cfg(not(target_arch = "wasm32"))]
const INIT_LEASE: u8 = INIT;
#[cfg(not(target_arch = "wasm32"))]
const FREELIST_LEASE: u8 = FREELIST;
/// How many of the newest live allocations the heap remembers to tell an
/// in-order free (the newest live block, which bump takes back) from an
/// out-of-order one: a stack of frees this deep is recognised as such.
const RECENT: usize = 32;

/// For [`AdaptiveHeap::review`] and the reads under it: the invocation's
/// counters were just folded into the past ones (and zeroed).
const SETTLED: bool = true;
/// For [`AdaptiveHeap::review`] and the reads under it: the invocation's
/// counters hold its allocations so far.
const LIVE: bool = false;

/// The `policy` field of a heap without a policy of its own: zero bytes.
const UNSET_POLICY: Policy = Policy {
    min_waste: 0,
    waste_per_live: 0,
    small_limit: 0,
    slab_percent: 0,
    buddy_percent: 0,
    review_every: 0,
    min_sample: 0,
    idle_invocations: 0,
};

/// The strategy that serves `strategy` in this build: itself, or the free
/// list when its core's feature is off.
const fn served(strategy: Strategy) -> Strategy {
    if strategy.is_enabled() {
        strategy
    } else {
        Strategy::FreeList
    }
}

/// A bit per slot with a core in this build.
const PRESENT: u8 = 1 << INIT
    | 1 << FREELIST
    | (cfg!(feature = "bump") as u8) << BUMP
    | (cfg!(feature = "buddy") as u8) << BUDDY
    | (cfg!(feature = "slab") as u8) << SLAB;

/// Whether `slot` has a core in this build.
const fn present(slot: u8) -> bool {
    (slot as usize) < SLOTS && PRESENT & 1 << slot != 0
}

/// Every slot with a core in this build, in slot order.
fn present_slots() -> impl Iterator<Item = u8> {
    (0..SLOTS as u8).filter(|&slot| present(slot))
}

/// The slot serving `strategy` in the run phase (the free list's for a
/// strategy this build leaves out).
const fn slot_of(strategy: Strategy) -> u8 {
    match served(strategy) {
        Strategy::Bump => BUMP,
        Strategy::FreeList => FREELIST,
        Strategy::Buddy => BUDDY,
        Strategy::Slab => SLAB,
    }
}

/// Which allocations the heap is serving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Per-invocation allocations: served by the current strategy. (First,
    /// so that the phase a heap starts in is zero bytes.)
    Run,
    /// Allocations that live across invocations: served by the init heap,
    /// which `end_invocation` never resets.
    Init,
}

/// The adaptive strategy core: see the [crate docs](crate) for what it does,
/// and `docs/adaptive.md` in the repository (or the comments opening
/// `adaptive/src/heap.rs`) for how.
///
/// Like every core of the family it is single-threaded (`&mut self`);
/// [`AdaptiveAlloc`](crate::AdaptiveAlloc) is the thread-safe allocator.
pub struct AdaptiveHeap<S: Source = DefaultSource> {
    /// The policy, when one was given (`custom_policy`); zero otherwise,
    /// and [`Policy::DEFAULT`] applies. Like every field that follows, it
    /// starts at zero bytes for [`with_source`](Self::with_source), so a
    /// `static` heap costs nothing in a binary's data (a wasm guest's size
    /// counts it byte for byte).
    given_policy: Policy,
    custom_policy: bool,
    until_review: u64,
    phase: Phase,
    /// The function is pure: its run heap is dropped at each end of
    /// invocation. `false`, stateful, is the default.
    pure: bool,
    target: u8,
    live_mask: u8,
    /// `1 << target`, or zero for bump: read by the dispatch over the cores
    /// other than bump (invariant 3).
    target_bit: u8,
    /// The bit of the core that owns every live block when a single one
    /// holds them all, zero otherwise (invariant 2): a free goes straight
    /// to that core.
    owner_bit: u8,
    /// Idle cores (not the target, no live block) whose memory is kept
    /// for now (invariant 6), and for each the ends of invocation it has
    /// stayed idle through.
    idle: u8,
    idle_age: [u32; SLOTS],
    /// Cores that gave every span back and have served nothing since
    /// (invariant 6): retiring one again has nothing to do.
    bare: u8,
    #[cfg(feature = "bump")]
    bump: ManuallyDrop<BumpHeap<Lease<S, BUMP>>>,
    #[cfg(feature = "buddy")]
    buddy: ManuallyDrop<BuddyHeap<Lease<S, BUDDY>>>,
    #[cfg(feature = "slab")]
    slab: ManuallyDrop<SlabHeap<Lease<S, SLAB>>>,
    provider: Provider<S>,
    init: ManuallyDrop<FreeListHeap<Lease<S, INIT_LEASE>>>,
    freelist: ManuallyDrop<FreeListHeap<Lease<S, FREELIST_LEASE>>>,
    decision: Decision,
    blocks: [usize; SLOTS],
    /// Bytes live in the init heap (invariant 2), which outlive the run
    /// cores' at the end of a pure invocation. Declared between `blocks`
    /// and `bytes_total`, which an allocation updates together: side by
    /// side, the compiler pairs the two additions into a vector one that
    /// takes three times the instructions.
    init_bytes: usize,
    /// Bytes live in every core together (invariant 2).
    bytes_total: usize,
    bump_waste: usize,
    /// The addresses of the most recent allocations of the free list, buddy,
    /// slab and init cores, newest at `recent_top` (a ring of [`RECENT`]):
    /// a free of the newest is in the order bump could take back, any other
    /// is out of order. Bump's own blocks are not kept here: bump itself
    /// tells whether it could take a free back. An entry may be stale (its
    /// block freed out of order); a stale entry can only match the address
    /// of a block allocated since, which the ring holds nearer the top, so
    /// it costs at most a miscount of the statistic, never safety.
    recent: [usize; RECENT],
    recent_top: usize,
    invocation: Usage,
    past: Usage,
    mark: Mark,
    invocations: u64,
    switches: u64,
    forgotten: u64,
}

/// Runs `$body` with `$h` bound to the core of slot `$slot`, its lease
/// pointed at this heap's provider first (invariant 1 of `lease`).
macro_rules! with_core {
    ($self:ident, $slot:expr, |$h:ident| $body:expr) => {{
        let provider = core::ptr::addr_of_mut!($self.provider);
        match $slot {
            crate::heap::INIT => {
                let $h = &mut *$self.init;
                $h.source().bind(provider, crate::heap::INIT);
                $body
            }
            #[cfg(feature = "bump")]
            crate::heap::BUMP => {
                let $h = &mut *$self.bump;
                $h.source().bind(provider, crate::heap::BUMP);
                $body
            }
            #[cfg(feature = "buddy")]
            crate::heap::BUDDY => {
                let $h = &mut *$self.buddy;
                $h.source().bind(provider, crate::heap::BUDDY);
                $body
            }
            #[cfg(feature = "slab")]
            crate::heap::SLAB => {
                let $h = &mut *$self.slab;
                $h.source().bind(provider, crate::heap::SLAB);
                $body
            }
            // FREELIST: callers pass only slots with a core.
            _ => {
                let $h = &mut *$self.freelist;
                $h.source().bind(provider, crate::heap::FREELIST);
                $body
            }
        }
    }};
}

/// Runs `$body` with `$h` a shared reference to the core of slot `$slot`
/// (queries that never reach the source).
macro_rules! with_core_ref {
    ($self:ident, $slot:expr, |$h:ident| $body:expr) => {{
        match $slot {
            crate::heap::INIT => {
                let $h = &*$self.init;
                $body
            }
            #[cfg(feature = "bump")]
            crate::heap::BUMP => {
                let $h = &*$self.bump;
                $body
            }
            #[cfg(feature = "buddy")]
            crate::heap::BUDDY => {
                let $h = &*$self.buddy;
                $body
            }
            #[cfg(feature = "slab")]
            crate::heap::SLAB => {
                let $h = &*$self.slab;
                $body
            }
            // FREELIST: callers pass only slots with a core.
            _ => {
                let $h = &*$self.freelist;
                $body
            }
        }
    }};
}

/// The function's totals at its last decision, of the counters a review
/// reads: the window a review judges is the totals less this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    allocations: u64,
    near_power_of_two: u64,
    histogram: [u64; BUCKETS],
}

impl Mark {
    /// A new function's mark: nothing counted.
    const ZERO: Self = Self {
        allocations: 0,
        near_power_of_two: 0,
        histogram: [0; BUCKETS],
    };
}

impl<S: Source> AdaptiveHeap<S> {
    /// An empty heap over `source` with the given policy. Reserves nothing
    /// until the first allocation.
    #[must_use]
    pub const fn with_policy(source: S, policy: Policy) -> Self {
        let mut heap = Self::with_source(source);
        heap.given_policy = policy;
        heap.custom_policy = true;
        heap.until_review = policy.review_every;
        heap
    }

    /// An empty heap over `source` with [`Policy::DEFAULT`]. Reserves
    /// nothing until the first allocation; every field but the source is
    /// zero bytes.
    #[must_use]
    pub const fn with_source(source: S) -> Self {
        Self {
            init: ManuallyDrop::new(FreeListHeap::with_source(Lease::new())),
            #[cfg(feature = "bump")]
            bump: ManuallyDrop::new(BumpHeap::with_source(Lease::new())),
            freelist: ManuallyDrop::new(FreeListHeap::with_source(Lease::new())),
            #[cfg(feature = "buddy")]
            buddy: ManuallyDrop::new(BuddyHeap::with_source(Lease::new())),
            #[cfg(feature = "slab")]
            slab: ManuallyDrop::new(SlabHeap::with_source(Lease::new())),
            provider: Provider::new(source),
            given_policy: UNSET_POLICY,
            custom_policy: false,
            decision: Decision::START,
            phase: Phase::Run,
            pure: false,
            // Slot 0, bump's, or the free list's without bump.
            target: slot_of(Strategy::Bump),
            live_mask: 0,
            target_bit: 0,
            owner_bit: 0,
            idle: 0,
            idle_age: [0; SLOTS],
            bare: 0,
            blocks: [0; SLOTS],
            bytes_total: 0,
            init_bytes: 0,
            bump_waste: 0,
            recent: [0; RECENT],
            recent_top: 0,
            // Counted down only outside bump mode, which every switch
            // starts afresh.
            until_review: 0,
            invocation: Usage::ZERO,
            past: Usage::ZERO,
            mark: Mark::ZERO,
            invocations: 0,
            switches: 0,
            forgotten: 0,
        }
    }

    /// The source the heap takes spans from.
    pub fn source(&self) -> &S {
        &self.provider.source
    }

    /// The policy's thresholds.
    #[inline]
    pub fn policy(&self) -> &Policy {
        if self.custom_policy {
            &self.given_policy
        } else {
            &Policy::DEFAULT
        }
    }

    /// Replaces the policy's thresholds (effective from the next decision).
    pub fn set_policy(&mut self, policy: Policy) {
        self.given_policy = policy;
        self.custom_policy = true;
        self.until_review = policy.review_every;
    }

    /// The current decision: the strategy serving the run phase and why.
    pub fn decision(&self) -> Decision {
        Decision {
            strategy: self.current(),
            ..self.decision
        }
    }

    /// The strategy serving the run phase.
    pub fn strategy(&self) -> Strategy {
        self.current()
    }

    /// The strategy serving the run phase. The decision stores what it was
    /// made for, which every write already maps to a strategy this build
    /// has, but for the first: a new heap's is bump's zero bytes, the free
    /// list in a build without bump.
    #[inline(always)]
    fn current(&self) -> Strategy {
        served(self.decision.strategy)
    }

    /// The phase allocations are served for.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Starts the init phase: allocations from now on live across
    /// invocations (they come from the init heap, which
    /// [`end_invocation`](Self::end_invocation) never resets).
    pub fn begin_init(&mut self) {
        self.phase = Phase::Init;
        self.set_target(INIT);
    }

    /// Ends the init phase: allocations from now on are per invocation.
    pub fn end_init(&mut self) {
        self.phase = Phase::Run;
        self.set_target(slot_of(self.current()));
    }

    /// Whether the function keeps its run heap across invocations.
    pub fn is_stateful(&self) -> bool {
        !self.pure
    }

    /// Marks the function stateful (the default: its run heap survives
    /// [`end_invocation`](Self::end_invocation)) or pure (the run heap is
    /// dropped at once at the end of each invocation).
    ///
    /// Stateful is the default because it is the safe one: pure is a promise
    /// that nothing allocated outside the init phase outlives an invocation,
    /// and a program's runtime may allocate before its code can begin an
    /// init phase (Rust's `std` does, before `main`). Declare a function pure
    /// when every export is called by a host that ends invocations, as in a
    /// wasm reactor guest; the record keeps the choice.
    pub fn set_stateful(&mut self, stateful: bool) {
        self.pure = !stateful;
    }

    /// The counters of the current invocation.
    pub fn invocation(&self) -> &Usage {
        &self.invocation
    }

    /// The counters over the function's whole life, this invocation
    /// included.
    pub fn totals(&self) -> Usage {
        let mut t = self.past;
        t.absorb(&self.invocation);
        t.peak_bytes_live = t.peak_bytes_live.max(self.bytes_live() as u64);
        t
    }

    /// Invocations ended so far.
    pub fn invocations(&self) -> u64 {
        self.invocations
    }

    /// Strategy switches so far.
    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// Live blocks served by `strategy`'s core in the run phase.
    pub fn live_blocks(&self, strategy: Strategy) -> usize {
        if strategy.is_enabled() {
            self.blocks[slot_of(strategy) as usize]
        } else {
            0
        }
    }

    /// Live blocks in the init heap.
    pub fn init_live_blocks(&self) -> usize {
        self.blocks[INIT as usize]
    }

    /// Bytes live in every core together.
    #[inline(always)]
    fn bytes_live(&self) -> usize {
        self.bytes_total
    }

    /// Serves the run phase from `strategy` from now on, whatever the
    /// policy says (until its next decision). Blocks already handed out
    /// stay valid. A strategy this build leaves out (its cargo feature is
    /// off) is served by the free list.
    pub fn force(&mut self, strategy: Strategy) {
        self.switch(strategy, Reason::Forced);
    }

    /// Ends an invocation: folds its counters into the totals, reviews the
    /// decision, and, for a pure function, drops every block of the run
    /// phase at once (a stateful function keeps them). Init-phase blocks are
    /// never touched.
    ///
    /// Safe on a `&mut` heap for the reason [`Heap::reset`] is: using a run
    /// block of a pure function after this is the caller's `unsafe` mistake.
    pub fn end_invocation(&mut self) {
        self.fold_peak();
        let orderly = self.policy().orderly(&self.invocation);
        self.past.absorb(&self.invocation);
        self.invocation = Usage::ZERO;
        self.invocations = self.invocations.wrapping_add(1);
        if self.current() != Strategy::Bump {
            // The invocation's counters were just folded into the past.
            self.review::<SETTLED>();
        }
        if self.pure {
            self.forget_run();
            if Strategy::Bump.is_enabled() && orderly && self.current() != Strategy::Bump {
                self.switch(Strategy::Bump, Reason::Ordered);
            }
        }
        self.release_long_idle();
        self.until_review = self.policy().review_every;
    }

    /// The record to store for this function: the decision and a summary
    /// of everything recorded.
    pub fn record(&self) -> Record {
        Record {
            decision: self.decision(),
            stateful: !self.pure,
            invocations: self.invocations,
            switches: self.switches,
            usage: self.totals(),
        }
    }

    /// Loads a record a host stored: the heap continues in the recorded
    /// strategy, and the record's counters become its history. A record
    /// that is truncated, corrupt or not polyalloc's is refused with an
    /// error, and the heap goes back to its defaults (bump, nothing
    /// recorded), so a bad record can never make it worse than a fresh
    /// start. Blocks already handed out stay valid either way.
    pub fn load_record(&mut self, bytes: &[u8]) -> Result<Record, RecordError> {
        match Record::from_bytes(bytes) {
            Ok(record) => {
                self.past = record.usage;
                self.invocation = Usage::ZERO;
                self.invocations = record.invocations;
                self.switches = record.switches;
                self.pure = !record.stateful;
                self.decision = Decision {
                    strategy: served(record.decision.strategy),
                    reason: Reason::Record,
                    at_allocation: record.usage.allocations,
                };
                // The invocation's counters were just zeroed.
                self.mark_now::<SETTLED>();
                self.until_review = self.policy().review_every;
                self.retarget();
                Ok(record)
            }
            Err(e) => {
                self.past = Usage::ZERO;
                self.invocation = Usage::ZERO;
                self.mark = Mark::ZERO;
                self.invocations = 0;
                self.switches = 0;
                self.decision = Decision::START;
                self.retarget();
                Err(e)
            }
        }
    }

    /// Points `target` at the decision's core (invariant 3).
    fn retarget(&mut self) {
        if self.phase == Phase::Run {
            self.set_target(slot_of(self.current()));
        }
    }

    /// Sends new allocations to `slot`; the core left behind gives its
    /// memory back if it holds no live block (invariant 6).
    fn set_target(&mut self, slot: u8) {
        let old = self.target;
        self.target = slot;
        self.target_bit = if slot == BUMP { 0 } else { 1 << slot };
        self.idle &= !(1 << slot);
        self.bare &= !(1 << slot);
        if old != slot && self.blocks[old as usize] == 0 {
            self.retire(old);
        }
    }

    /// A core became idle (not the target, no live block): invariant 6. On
    /// a source that keeps memory its spans go to the pool at once, where
    /// any core can use them; on one that takes memory back they are kept
    /// until the core has stayed idle through a whole invocation, so that a
    /// function moving between strategies from one invocation to the next
    /// does not fault its pages in again each time.
    fn retire(&mut self, slot: u8) {
        if (self.idle | self.bare) & (1 << slot) != 0 {
            // Retired already, and nothing allocated from it since (an
            // allocation makes it the target or clears its bits): a pure
            // function's end of invocation comes here for every core.
            return;
        }
        if self.provider.source.can_release() {
            if slot == BUMP {
                self.bump_waste = 0;
            }
            with_core!(self, slot, |h| h.reset());
            if self.idle & (1 << slot) == 0 {
                self.idle |= 1 << slot;
                self.idle_age[slot as usize] = 0;
            }
        } else {
            self.release_core(slot);
        }
    }

    /// At the end of an invocation: the cores idle through
    /// `Policy::idle_invocations` whole invocations give their memory back
    /// (invariant 6).
    fn release_long_idle(&mut self) {
        for slot in present_slots() {
            let s = slot as usize;
            if self.idle & (1 << slot) == 0 {
                continue;
            }
            if self.idle_age[s] >= self.policy().idle_invocations {
                self.idle &= !(1 << slot);
                self.release_core(slot);
            } else {
                self.idle_age[s] += 1;
            }
        }
    }

    /// Makes `strategy` the run phase's, recording why.
    fn switch(&mut self, strategy: Strategy, reason: Reason) {
        let strategy = served(strategy);
        if strategy != self.current() {
            self.switches = self.switches.wrapping_add(1);
        }
        self.decision = Decision {
            strategy,
            reason,
            at_allocation: self
                .past
                .allocations
                .wrapping_add(self.invocation.allocations),
        };
        self.mark_now::<LIVE>();
        // The next review counts from here (a new heap starts with no
        // count, in bump mode, where none is kept).
        self.until_review = self.policy().review_every;
        self.retarget();
    }

    /// Reads the histogram since the last decision and moves to the
    /// strategy it calls for. `SETTLED` ([`SETTLED`] or [`LIVE`]) says
    /// whether the invocation's counters were just folded into the past
    /// ones, as at the end of an invocation: the window and the mark then
    /// skip reading them (they are zero), a third of the review's loads.
    fn review<const SETTLED: bool>(&mut self) {
        self.until_review = self.policy().review_every;
        if let Some(pick) = self.policy().choose_from(&self.window::<SETTLED>()) {
            if served(pick) != self.current() {
                self.switch(pick, Reason::Review);
            } else {
                self.mark_now::<SETTLED>();
            }
        }
    }

    /// The function's total of one counter: its past invocations' `past`
    /// plus this one's `now`, which is zero when `SETTLED` (and not read).
    #[inline(always)]
    fn total<const SETTLED: bool>(past: u64, now: impl FnOnce() -> u64) -> u64 {
        if SETTLED {
            past
        } else {
            past.wrapping_add(now())
        }
    }

    /// What the policy reads of the allocations since the last decision:
    /// the totals less the mark, added up bucket by bucket in one pass,
    /// with no `Usage` of the window built (a review ends every
    /// invocation that is not in bump mode). Too few allocations for the
    /// policy to judge ([`Policy::min_sample`]) leave the buckets unread.
    /// `SETTLED`: as for [`review`](Self::review).
    fn window<const SETTLED: bool>(&self) -> Sample {
        let (past, now, mark) = (&self.past, &self.invocation, &self.mark);
        debug_assert!(!SETTLED || *now == Usage::ZERO, "settled with counts left");
        let allocations = Self::total::<SETTLED>(past.allocations, || now.allocations)
            .wrapping_sub(mark.allocations);
        let near = Self::total::<SETTLED>(past.near_power_of_two, || now.near_power_of_two)
            .wrapping_sub(mark.near_power_of_two);
        let policy = self.policy();
        if allocations < policy.min_sample {
            return Sample {
                allocations,
                small: 0,
                large: 0,
                near_power_of_two: near,
            };
        }
        Sample::of(policy, allocations, near, |b| {
            Self::total::<SETTLED>(past.histogram[b], || now.histogram[b])
                .wrapping_sub(mark.histogram[b])
        })
    }

    /// Starts the next window of allocations here: the mark becomes the
    /// totals of what the policy reads. `SETTLED`: as for
    /// [`review`](Self::review) (the mark is then a copy of the past).
    fn mark_now<const SETTLED: bool>(&mut self) {
        let (past, now, mark) = (&self.past, &self.invocation, &mut self.mark);
        debug_assert!(!SETTLED || *now == Usage::ZERO, "settled with counts left");
        mark.allocations = Self::total::<SETTLED>(past.allocations, || now.allocations);
        mark.near_power_of_two =
            Self::total::<SETTLED>(past.near_power_of_two, || now.near_power_of_two);
        if SETTLED {
            mark.histogram = past.histogram;
        } else {
            for b in 0..BUCKETS {
                mark.histogram[b] = past.histogram[b].wrapping_add(now.histogram[b]);
            }
        }
    }

    /// Brings the invocation's peak up to date (it is folded lazily, on
    /// every decrease of the live bytes).
    #[inline]
    fn fold_peak(&mut self) {
        let live = self.bytes_live() as u64;
        if live > self.invocation.peak_bytes_live {
            self.invocation.peak_bytes_live = live;
        }
    }

    /// Forgets every block of every run core (bump, the free list, buddy
    /// and slab) at once: only the init heap's bytes stay live.
    fn forget_run(&mut self) {
        self.bytes_total = self.init_bytes;
        for slot in [BUMP, FREELIST, BUDDY, SLAB] {
            if present(slot) {
                self.forget_slot(slot);
            }
        }
    }

    /// Forgets every block of `slot` at once. The init heap's bytes go with
    /// them; a run core's are the caller's to take off `bytes_total`
    /// ([`forget_run`](Self::forget_run) takes all of them at once).
    fn forget_slot(&mut self, slot: u8) {
        let s = slot as usize;
        self.forgotten = self.forgotten.wrapping_add(self.blocks[s] as u64);
        self.blocks[s] = 0;
        self.set_live_mask(self.live_mask & !(1 << slot));
        if slot == INIT {
            self.bytes_total = self.bytes_total.wrapping_sub(self.init_bytes);
            self.init_bytes = 0;
        }
        if slot == BUMP {
            self.bump_waste = 0;
        }
        if slot == self.target {
            match slot {
                // Bump keeps its spare chunks while it serves: a function
                // that alternates small and large invocations would map
                // and fault in the large ones' chunks every time (invariant
                // 6 gives them back once bump is idle).
                #[cfg(feature = "bump")]
                BUMP => {
                    let provider = core::ptr::addr_of_mut!(self.provider);
                    self.bump.source().bind(provider, BUMP);
                    self.bump.reset_keeping_spares();
                }
                _ => with_core!(self, slot, |h| h.reset()),
            }
        } else {
            // Forgotten and idle: invariant 6.
            self.retire(slot);
        }
    }

    /// Sets the mask of slots with live blocks and the free slot that
    /// follows from it (invariant 2). Called only when the mask changes: a
    /// core's first live block, or its last one gone.
    #[cold]
    fn set_live_mask(&mut self, mask: u8) {
        self.live_mask = mask;
        self.owner_bit = if mask.is_power_of_two() { mask } else { 0 };
    }

    /// The slot whose core holds `ptr` (invariant 1): a search of the span
    /// map, kept out of the inlined free path.
    #[inline(never)]
    fn owner(&self, ptr: NonNull<u8>) -> Option<u8> {
        let addr = ptr.as_ptr().addr();
        if let Some(slot) = self.provider.map.lookup(addr) {
            return Some(slot);
        }
        if !self.provider.map.overflowed() {
            return None;
        }
        present_slots().find(|&slot| with_core_ref!(self, slot, |h| h.owns(ptr)))
    }

    /// The slot of a live block of `size` bytes at `ptr`: the only slot with
    /// live blocks when there is just one (no lookup at all), else its owner.
    #[inline]
    fn slot_of_block(&self, ptr: NonNull<u8>, size: usize) -> Option<u8> {
        let m = self.live_mask;
        if size != 0 && m != 0 && m & (m - 1) == 0 {
            Some(m.trailing_zeros() as u8)
        } else {
            self.owner(ptr)
        }
    }

    /// Counts a successful allocation of `size > 0` bytes at `addr` in
    /// `slot`. Inlined with a constant `slot` on the bump fast path, where
    /// the ring of recent allocations is left out (bump tells in-order frees
    /// itself).
    #[inline(always)]
    fn note_alloc(&mut self, slot: u8, addr: usize, size: usize) {
        let u = &mut self.invocation;
        u.allocations = u.allocations.wrapping_add(1);
        u.bytes_allocated = u.bytes_allocated.wrapping_add(size as u64);
        u.histogram[bucket_of_nonzero(size)] += 1;
        if near_power_of_two(size) {
            u.near_power_of_two += 1;
        }
        let s = slot as usize;
        if slot == INIT {
            self.init_bytes = self.init_bytes.wrapping_add(size);
        }
        self.bytes_total = self.bytes_total.wrapping_add(size);
        self.blocks[s] += 1;
        if self.live_mask & (1 << slot) == 0 {
            self.set_live_mask(self.live_mask | 1 << slot);
        }
        if slot != BUMP {
            let top = (self.recent_top + 1) % RECENT;
            self.recent_top = top;
            self.recent[top] = addr;
        }
        // Reviews look at the run strategies other than bump: bump's and the
        // init heap's allocations do not count down to one.
        if slot != BUMP && slot != INIT {
            self.until_review = self.until_review.wrapping_sub(1);
            if self.until_review == 0 {
                self.review_in_invocation();
            }
        }
    }

    #[cold]
    fn review_in_invocation(&mut self) {
        if self.current() == Strategy::Bump || self.phase == Phase::Init {
            self.until_review = self.policy().review_every;
        } else {
            self.review::<LIVE>();
        }
    }

    /// Counts the free of a live `size > 0` byte block at `addr` from
    /// `slot` (a bump free's order is counted by the caller, from what bump
    /// said).
    #[inline(always)]
    fn note_dealloc(&mut self, slot: u8, addr: usize, size: usize) {
        self.fold_peak();
        let u = &mut self.invocation;
        u.deallocations = u.deallocations.wrapping_add(1);
        if slot != BUMP {
            // `recent_top` is below `RECENT`; the `%` says so to the
            // compiler, which drops the bounds check (and the register
            // reloads its panic path needs).
            let top = self.recent_top % RECENT;
            if self.recent[top] == addr {
                self.recent_top = (top + RECENT - 1) % RECENT;
            } else {
                u.out_of_order_frees = u.out_of_order_frees.wrapping_add(1);
                u.out_of_order_bytes = u.out_of_order_bytes.wrapping_add(size as u64);
            }
        }
        let s = slot as usize;
        if slot == INIT {
            self.init_bytes = self.init_bytes.wrapping_sub(size);
        }
        self.bytes_total = self.bytes_total.wrapping_sub(size);
        self.blocks[s] = self.blocks[s].wrapping_sub(1);
        if self.blocks[s] == 0 {
            self.set_live_mask(self.live_mask & !(1 << slot));
            if slot != self.target || self.bump_waste != 0 {
                self.core_emptied(slot);
            }
        }
    }

    /// The last live block of `slot` was just freed.
    #[cold]
    fn core_emptied(&mut self, slot: u8) {
        if slot != self.target {
            // Invariant 6: a core the function left gives its memory back.
            self.retire(slot);
        } else if slot == BUMP && self.bump_waste != 0 {
            // Bump holds nothing live: all its waste is reclaimable.
            self.bump_waste = 0;
            with_core!(self, BUMP, |h| h.reset());
        }
    }

    /// The target core could not serve `layout`: the memory may still be
    /// there in a shape it cannot use (buddy needs arenas aligned to their
    /// size; bump, room at the end of its chunk), so the other run cores
    /// try, the free list first. The one that serves keeps the block; it
    /// gives its memory back once that block is freed (invariant 6).
    #[cold]
    fn allocate_elsewhere(&mut self, layout: Layout) -> Option<(u8, NonNull<u8>)> {
        for slot in [FREELIST, SLAB, BUMP, BUDDY] {
            if present(slot)
                && slot != self.target
                && let Some(ptr) = with_core!(self, slot, |h| h.allocate(layout))
            {
                self.idle &= !(1 << slot);
                self.bare &= !(1 << slot);
                return Some((slot, ptr));
            }
        }
        None
    }

    /// Gives every span of an idle core back (invariant 6). The core holds
    /// no counted block; a reset first makes sure of it when blocks were
    /// forgotten.
    fn release_core(&mut self, slot: u8) {
        self.bare |= 1 << slot;
        let provider = core::ptr::addr_of_mut!(self.provider);
        match slot {
            #[cfg(feature = "bump")]
            BUMP => {
                self.bump_waste = 0;
                self.bump.source().bind(provider, BUMP);
                self.bump.reset_and_release();
            }
            INIT => {
                self.init.source().bind(provider, INIT);
                self.init.reset();
                self.init.trim();
            }
            #[cfg(feature = "buddy")]
            BUDDY => {
                self.buddy.source().bind(provider, BUDDY);
                self.buddy.reset();
                self.buddy.trim();
            }
            #[cfg(feature = "slab")]
            SLAB => {
                self.slab.source().bind(provider, SLAB);
                self.slab.reset();
                self.slab.trim();
            }
            // FREELIST: callers pass only slots with a core.
            _ => {
                self.freelist.source().bind(provider, FREELIST);
                self.freelist.reset();
                self.freelist.trim();
            }
        }
    }

    /// A free bump could not reuse: counts it, and leaves bump when its
    /// waste passes the policy's thresholds.
    #[cfg(feature = "bump")]
    #[cold]
    fn bump_free_failed(&mut self, size: usize) {
        let u = &mut self.invocation;
        u.failed_deallocations = u.failed_deallocations.wrapping_add(1);
        u.failed_bytes = u.failed_bytes.wrapping_add(size as u64);
        u.out_of_order_frees = u.out_of_order_frees.wrapping_add(1);
        u.out_of_order_bytes = u.out_of_order_bytes.wrapping_add(size as u64);
        self.bump_waste = self.bump_waste.wrapping_add(size);
        if self.current() == Strategy::Bump
            && self
                .policy()
                .bump_wastes_too_much(self.bump_waste, self.bytes_live().wrapping_sub(size))
        {
            let pick = self.policy().pick(&self.totals());
            self.switch(pick, Reason::Waste);
        }
    }
}

impl AdaptiveHeap {
    /// An empty heap on the platform's default source with
    /// [`Policy::DEFAULT`]. Reserves nothing until the first allocation.
    #[must_use]
    pub const fn new() -> Self {
        Self::with_source(<DefaultSource as ConstDefault>::DEFAULT)
    }
}

impl Default for AdaptiveHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Source + ConstDefault> ConstDefault for AdaptiveHeap<S> {
    const DEFAULT: Self = Self::with_source(S::DEFAULT);
}

// SAFETY: every block comes from one of the cores, each a `Heap` upholding
// the contract over spans of the one source (the leases pass them through
// unchanged), so blocks are aligned, long enough and disjoint; frees and
// resizes go to the core that owns the block (invariant 1), which is the
// core that handed it out. A switch only changes where new blocks come
// from. Nothing here panics: counters wrap, lookups are bounded.
unsafe impl<S: Source> Heap for AdaptiveHeap<S> {
    #[inline(always)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        #[cfg(not(feature = "bump"))]
        {
            self.allocate_routed(layout)
        }
        #[cfg(feature = "bump")]
        {
            if self.target != BUMP {
                return self.allocate_routed(layout);
            }
            self.allocate_bump(layout)
        }
    }

    #[inline(always)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let size = layout.size();
        if size == 0 {
            return;
        }
        #[cfg(feature = "bump")]
        if self.live_mask == 1 << BUMP {
            // Only bump holds live blocks, so it owns this one
            // (invariant 2): the fast path of bump mode, inlined.
            // SAFETY: forwarded from the caller; the bump core owns the
            // block (invariant 1).
            return unsafe { self.free_to_bump(ptr, layout) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_routed(ptr, layout) }
    }

    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.resize_in_place(ptr, old, new, true) }
    }
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.resize_in_place(ptr, old, new, false) }
    }

    fn owns(&self, ptr: NonNull<u8>) -> bool {
        self.owner(ptr)
            .is_some_and(|slot| with_core_ref!(self, slot, |h| h.owns(ptr)))
    }

    fn reset(&mut self) {
        self.end_invocation_as_pure();
        self.forget_slot(INIT);
    }

    fn stats(&self) -> Stats {
        let totals = self.totals();
        // Pooled spans and the span map's storage are held from the source
        // too.
        let mut reserved = self.provider.pool.bytes() + self.provider.map.storage_bytes();
        for slot in present_slots() {
            reserved =
                reserved.wrapping_add(with_core_ref!(self, slot, |h| h.stats().bytes_reserved));
        }
        Stats {
            counting: true,
            allocations: totals.allocations,
            deallocations: totals.deallocations,
            reallocations: totals.reallocations,
            failed_deallocations: totals.failed_deallocations,
            blocks_forgotten: self.forgotten,
            bytes_live: self.bytes_live(),
            peak_bytes_live: totals.peak_bytes_live as usize,
            bytes_reserved: reserved,
        }
    }

    fn check(&self) -> Result<(), CheckError> {
        #[cfg(debug_assertions)]
        {
            self.check_invariants()
        }
        #[cfg(not(debug_assertions))]
        {
            Ok(())
        }
    }
}

impl<S: Source> AdaptiveHeap<S> {
    /// [`end_invocation`](Self::end_invocation) as for a pure function,
    /// whatever the function is: what [`Heap::reset`] means.
    fn end_invocation_as_pure(&mut self) {
        let pure = self.pure;
        self.pure = true;
        self.end_invocation();
        self.pure = pure;
    }

    /// Allocates from the bump core, the target: the fast path while the
    /// function is in bump mode.
    #[cfg(feature = "bump")]
    #[inline(always)]
    fn allocate_bump(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // The fast path while the function is in bump mode: bump's own
        // bounds check and the counters, nothing else.
        let provider = core::ptr::addr_of_mut!(self.provider);
        self.bump.source().bind(provider, BUMP);
        match self.bump.allocate(layout) {
            Some(ptr) => {
                if layout.size() != 0 {
                    self.note_alloc(BUMP, ptr.as_ptr().addr(), layout.size());
                }
                Some(ptr)
            }
            None => self.allocate_after_failure(layout),
        }
    }

    /// Allocates from the target when it is not bump, its core's path
    /// inlined: the free list, buddy and slab each get their own branch,
    /// with no call between the caller and the core; the init heap, whose
    /// allocations are few, gets a call.
    ///
    /// The branches test bits of `target_bit` (invariant 3), one core at a
    /// time: a test of `target` itself would be folded with the test for
    /// bump in `allocate` into one jump table, which costs every call
    /// (bump mode's included) twice the instructions of a test and a
    /// branch.
    ///
    /// On wasm32 every core's path stays out of line, in one copy
    /// ([`allocate_outlined`](Self::allocate_outlined)): inlined into each
    /// caller of `allocate` (the allocator adapters have several), the
    /// three paths add about 4.5 KB to a guest whose `.wasm` size counts.
    #[inline(always)]
    fn allocate_routed(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let bit = self.target_bit;
            #[cfg(feature = "slab")]
            if bit & 1 << SLAB != 0 {
                return self.allocate_from::<SLAB>(layout);
            }
            if bit & 1 << FREELIST != 0 {
                return self.allocate_from::<FREELIST>(layout);
            }
            #[cfg(feature = "buddy")]
            if bit & 1 << BUDDY != 0 {
                return self.allocate_from::<BUDDY>(layout);
            }
        }
        self.allocate_outlined(layout)
    }

    /// [`allocate_from`](Self::allocate_from) the target, out of line: the
    /// init heap's path everywhere, every core's on wasm32 (see
    /// [`allocate_routed`](Self::allocate_routed)), and, in a build without
    /// bump, the free list's while `target_bit` still has a new heap's zero
    /// (the free list is slot 0 there: invariant 3).
    #[inline(never)]
    fn allocate_outlined(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        match self.target {
            INIT => self.allocate_from::<INIT>(layout),
            #[cfg(feature = "bump")]
            BUMP => self.allocate_from::<BUMP>(layout),
            #[cfg(any(target_arch = "wasm32", not(feature = "bump")))]
            FREELIST => self.allocate_from::<FREELIST>(layout),
            #[cfg(all(target_arch = "wasm32", feature = "buddy"))]
            BUDDY => self.allocate_from::<BUDDY>(layout),
            #[cfg(all(target_arch = "wasm32", feature = "slab"))]
            SLAB => self.allocate_from::<SLAB>(layout),
            _ => {
                debug_assert!(false, "allocate_routed serves slot {}", self.target);
                None
            }
        }
    }

    /// Allocates from the core of `SLOT`, which is the target, and counts
    /// the block.
    ///
    /// A zero-size request takes a branch of its own, first: past it the
    /// compiler knows the size is not zero and drops the core's own test
    /// for it.
    #[inline(always)]
    fn allocate_from<const SLOT: u8>(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return match with_core!(self, SLOT, |h| h.allocate(layout)) {
                Some(ptr) => Some(ptr),
                None => self.allocate_after_failure(layout),
            };
        }
        match with_core!(self, SLOT, |h| h.allocate(layout)) {
            Some(ptr) => {
                self.note_alloc(SLOT, ptr.as_ptr().addr(), layout.size());
                Some(ptr)
            }
            None => self.allocate_after_failure(layout),
        }
    }

    /// The target core could not serve `layout`: another core tries, and
    /// the block is counted in the one that served it.
    #[cold]
    #[inline(never)]
    fn allocate_after_failure(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let (slot, ptr) = self.allocate_elsewhere(layout)?;
        if layout.size() != 0 {
            self.note_alloc(slot, ptr.as_ptr().addr(), layout.size());
        }
        Some(ptr)
    }

    /// Frees a live block of the bump core, counting a free bump could not
    /// take back as failed (and out of order).
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`], and the bump core owns the block.
    #[cfg(feature = "bump")]
    #[inline(always)]
    unsafe fn free_to_bump(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller. Bump's free never reaches its
        // source, so its lease needs no binding.
        if !unsafe { self.bump.deallocate_last(ptr, layout) } {
            self.bump_free_failed(layout.size());
        }
        self.note_dealloc(BUMP, ptr.as_ptr().addr(), layout.size());
    }

    /// Frees a `size > 0` block when bump does not hold every live block:
    /// to the one core that does, its path inlined for the free list,
    /// buddy and slab, or through the span map when several cores hold
    /// live blocks (invariant 2). The branches test bits of `owner_bit`,
    /// one core at a time, for the reason `allocate_routed` tests
    /// `target_bit`; on wasm32 every free takes the out-of-line path, as
    /// every allocation does there.
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`].
    #[inline(always)]
    unsafe fn deallocate_routed(&mut self, ptr: NonNull<u8>, layout: Layout) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let bit = self.owner_bit;
            // SAFETY: forwarded from the caller; a bit of `owner_bit` names
            // the one core holding live blocks, which owns this one
            // (invariants 1 and 2).
            unsafe {
                #[cfg(feature = "slab")]
                if bit & 1 << SLAB != 0 {
                    return self.deallocate_from::<SLAB>(ptr, layout);
                }
                if bit & 1 << FREELIST != 0 {
                    return self.deallocate_from::<FREELIST>(ptr, layout);
                }
                #[cfg(feature = "buddy")]
                if bit & 1 << BUDDY != 0 {
                    return self.deallocate_from::<BUDDY>(ptr, layout);
                }
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_looked_up(ptr, layout) }
    }

    /// Frees a `size > 0` block of the init heap, of bump, or of a core
    /// the span map has to name (more than one core holds live blocks).
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`].
    #[inline(never)]
    unsafe fn deallocate_looked_up(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let slot = if self.owner_bit == 0 {
            let Some(slot) = self.owner(ptr) else {
                debug_assert!(false, "freed a block no core holds");
                return;
            };
            slot
        } else {
            self.owner_bit.trailing_zeros() as u8
        };
        // SAFETY: forwarded from the caller; the core of `slot` owns the
        // block (invariant 1).
        unsafe {
            match slot {
                INIT => self.deallocate_from::<INIT>(ptr, layout),
                #[cfg(feature = "bump")]
                BUMP => self.free_to_bump(ptr, layout),
                #[cfg(feature = "buddy")]
                BUDDY => self.deallocate_from::<BUDDY>(ptr, layout),
                #[cfg(feature = "slab")]
                SLAB => self.deallocate_from::<SLAB>(ptr, layout),
                // FREELIST: the map and `owner_bit` name only slots with
                // a core.
                _ => self.deallocate_from::<FREELIST>(ptr, layout),
            }
        }
    }

    /// Frees a live `size > 0` block of the core of `SLOT` (not bump) and
    /// counts the free.
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`], and the core of `SLOT` owns the block.
    #[inline(always)]
    unsafe fn deallocate_from<const SLOT: u8>(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        with_core!(self, SLOT, |h| unsafe { h.deallocate(ptr, layout) });
        self.note_dealloc(SLOT, ptr.as_ptr().addr(), layout.size());
    }

    /// Grows (`grow`) or shrinks a block in place in the core that owns it.
    /// A bump block whose function has left bump is not grown in place: it
    /// moves to the current strategy instead.
    ///
    /// # Safety
    ///
    /// As for [`Heap::grow_in_place`] or [`Heap::shrink_in_place`].
    unsafe fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        grow: bool,
    ) -> bool {
        // Resizes to or from zero bytes change the block count: they move.
        if old.size() == 0 || new.size() == 0 {
            return false;
        }
        let Some(slot) = self.slot_of_block(ptr, old.size()) else {
            return false;
        };
        if grow && slot == BUMP && self.target != BUMP {
            return false;
        }
        let done = if grow {
            // SAFETY: forwarded from the caller; the core owns the block.
            with_core!(self, slot, |h| unsafe { h.grow_in_place(ptr, old, new) })
        } else {
            // SAFETY: as above.
            with_core!(self, slot, |h| unsafe { h.shrink_in_place(ptr, old, new) })
        };
        if done {
            if !grow {
                self.fold_peak();
            }
            if slot == INIT {
                self.init_bytes = self
                    .init_bytes
                    .wrapping_sub(old.size())
                    .wrapping_add(new.size());
            }
            self.bytes_total = self
                .bytes_total
                .wrapping_sub(old.size())
                .wrapping_add(new.size());
            let u = &mut self.invocation;
            u.reallocations = u.reallocations.wrapping_add(1);
            if grow {
                u.bytes_allocated = u
                    .bytes_allocated
                    .wrapping_add((new.size() - old.size()) as u64);
            }
        }
        done
    }
}

impl<S: Source> Drop for AdaptiveHeap<S> {
    fn drop(&mut self) {
        let provider = core::ptr::addr_of_mut!(self.provider);
        self.init.source().bind(provider, INIT);
        #[cfg(feature = "bump")]
        self.bump.source().bind(provider, BUMP);
        self.freelist.source().bind(provider, FREELIST);
        #[cfg(feature = "buddy")]
        self.buddy.source().bind(provider, BUDDY);
        #[cfg(feature = "slab")]
        self.slab.source().bind(provider, SLAB);
        // SAFETY: each core is dropped exactly once, here, with its lease
        // bound to the provider, which is still alive (it is dropped after
        // this function returns); nothing uses the cores afterwards.
        unsafe {
            ManuallyDrop::drop(&mut self.init);
            #[cfg(feature = "bump")]
            ManuallyDrop::drop(&mut self.bump);
            ManuallyDrop::drop(&mut self.freelist);
            #[cfg(feature = "buddy")]
            ManuallyDrop::drop(&mut self.buddy);
            #[cfg(feature = "slab")]
            ManuallyDrop::drop(&mut self.slab);
        }
        // The cores gave their spans back; the map's storage goes last.
        self.provider.release_map();
    }
}

impl<S: Source> core::fmt::Debug for AdaptiveHeap<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AdaptiveHeap")
            .field("decision", &self.decision())
            .field("phase", &self.phase)
            .field("stateful", &!self.pure)
            .field("blocks", &self.blocks)
            .field("invocations", &self.invocations)
            .field("switches", &self.switches)
            .finish_non_exhaustive()
    }
}

// Last, so that they see the macros above.
#[cfg(debug_assertions)]
mod check;
// The tests of the policy and lifecycle want every strategy core; those in
// `any_build_tests` hold whichever cores the build has.
#[cfg(test)]
mod any_build_tests;
#[cfg(all(test, feature = "bump", feature = "buddy", feature = "slab"))]
mod tests;
