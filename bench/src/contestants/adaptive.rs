//! The adaptive group: polyalloc's adaptive heap against each single
//! strategy core it switches between, and against the wasm default
//! (dlmalloc) and talc, on sequences of invocations (a FaaS function called
//! again and again).
//!
//! | key | contestant | how it is called | at the end of an invocation | OS memory through |
//! |---|---|---|---|---|
//! | `adaptive` | `AdaptiveHeap<CountingSource>` with `Policy::DEFAULT`, declared pure (`set_stateful(false)`) | the core's `Heap` methods, directly on `&mut` | `end_invocation()`: the run heap is dropped at once | [`CountingSource`] over `MmapSource` |
//! | `bump` | `BumpHeap<CountingSource>` | the same | `reset()`: the offset returns to the start | [`CountingSource`] |
//! | `slab` | `SlabHeap<CountingSource>` (the small-object group's row) | the same | every block freed | [`CountingSource`] |
//! | `freelist` | `FreeListHeap<CountingSource>` (the general group's row) | the same | every block freed | [`CountingSource`] |
//! | `buddy` | `BuddyHeap<CountingSource>` (the power-of-two group's row) | the same | every block freed | [`CountingSource`] |
//! | `talc` | the general group's [`Talc`] | its `malloc` / `free` / `grow` | every block freed | `TalcMmap` |
//! | `dlmalloc` | the general group's [`Dlmalloc`] (wasm's default) | its `malloc` / `free` / `realloc` | every block freed | `DlmallocMmap` |
//!
//! Every row is a strategy core called directly through the shared
//! [`Core`] wrapper, or a peer through its own API: no lock anywhere, so the
//! figures compare the strategies and the adaptive heap's routing, not
//! locks. The peak pass uses the same list (every row counts its memory).

use polyalloc_adaptive::{AdaptiveHeap, Policy, Reason, Strategy as Chosen};
use polyalloc_bump::BumpHeap;
use polyalloc_core::source::MmapSource;

use super::buddy::CoreBuddy;
use super::general::{CoreFreeList, Dlmalloc, DlmallocHeap, PeerHeap, Talc};
use super::slab::CoreSlab;
use super::strategy::{Core, Reserved, Strategy};
use super::{Contestant, Visitor};
use crate::backing::CountingSource;
use crate::workloads::{Input, Workload};

/// The source every polyalloc row of the group takes memory from.
pub type Counted = CountingSource<MmapSource>;

/// The adaptive heap as a contestant: fresh with `Policy::DEFAULT`, pure
/// (a host ends its invocations and nothing outlives one), each round's
/// invocations ended with `end_invocation`.
impl<S: Reserved> Strategy for AdaptiveHeap<S> {
    const CORE_KEY: &'static str = "adaptive";
    const CORE_NAME: &'static str = "AdaptiveHeap (core, direct)";
    const GLOBAL_KEY: &'static str = "adaptive-global";
    const GLOBAL_NAME: &'static str = "AdaptiveAlloc (GlobalAlloc)";
    const RESETS: bool = true;

    fn fresh() -> Self {
        let mut heap = Self::with_source(S::default());
        heap.set_stateful(false);
        heap
    }

    fn end_round(&mut self) {
        self.end_invocation();
    }

    fn peak_reserved(&self) -> Option<usize> {
        self.source().peak_reserved()
    }
}

/// polyalloc's bump core over a counting source: the bump group's `core`
/// row, with its memory counted.
impl Strategy for BumpHeap<Counted> {
    const CORE_KEY: &'static str = "bump";
    const CORE_NAME: &'static str = "BumpHeap (core, direct)";
    const GLOBAL_KEY: &'static str = "bump-global";
    const GLOBAL_NAME: &'static str = "BumpAlloc (GlobalAlloc)";
    const RESETS: bool = true;

    fn fresh() -> Self {
        Self::with_recorder(Counted::default())
    }

    fn peak_reserved(&self) -> Option<usize> {
        self.source().peak_reserved()
    }
}

/// The adaptive heap, its `Heap` methods called directly, over a source
/// that counts what it reserves.
pub type CoreAdaptive = Core<AdaptiveHeap<Counted>>;

/// The bump core over a counting source.
pub type CoreBumpCounted = Core<BumpHeap<Counted>>;

/// Calls `v` for every single-strategy core of the group, in table order:
/// the rows the "best single strategy" is picked from.
pub fn for_each_single<V: Visitor>(v: &mut V) {
    v.visit::<CoreBumpCounted>();
    v.visit::<CoreSlab>();
    v.visit::<CoreFreeList>();
    v.visit::<CoreBuddy>();
}

/// Calls `v` for every timed contestant of the group, in table order. The
/// first is the subject of the run.
pub fn for_each<V: Visitor>(v: &mut V) {
    v.visit::<CoreAdaptive>();
    for_each_single(v);
    v.visit::<Talc>();
    v.visit::<Dlmalloc>();
}

/// Calls `v` for every contestant of the peak pass: the timed list (every
/// row counts the memory it takes).
pub fn for_each_peak<V: Visitor>(v: &mut V) {
    for_each(v);
}

/// The peer measured twice in every comparison of the group (the A/A row):
/// dlmalloc, the wasm default the adaptive heap has to beat.
pub type AaBaseline = Dlmalloc;

/// The keys every other row is divided by, one column each.
pub const RATIO_BASES: [&str; 1] = [DlmallocHeap::KEY];

/// The keys of the single-strategy rows, in table order.
#[must_use]
pub fn single_keys() -> Vec<&'static str> {
    struct Keys(Vec<&'static str>);
    impl Visitor for Keys {
        fn visit<C: Contestant + 'static>(&mut self) {
            self.0.push(C::KEY);
        }
    }
    let mut k = Keys(Vec::new());
    for_each_single(&mut k);
    k.0
}

/// What the adaptive heap decided over some rounds of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decisions {
    /// The strategy serving the run phase at the end.
    pub strategy: Chosen,
    /// Why.
    pub reason: Reason,
    /// Strategy switches made.
    pub switches: u64,
    /// Invocations ended.
    pub invocations: u64,
}

impl Decisions {
    /// `slab (waste), 1 switch in 16 invocations`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}), {} switch{} in {} invocations",
            self.strategy.name(),
            self.reason,
            self.switches,
            if self.switches == 1 { "" } else { "es" },
            self.invocations
        )
    }
}

/// Runs `rounds` rounds of `workload` on a fresh adaptive heap with `policy`
/// and reports what it decided (untimed).
#[must_use]
pub fn decisions(workload: Workload, rounds: usize, policy: Policy) -> Decisions {
    let mut c = CoreAdaptive::new();
    c.heap_mut().set_policy(policy);
    let mut input = Input::new();
    for _ in 0..rounds {
        workload.run(&mut c, &mut input);
    }
    let heap = c.heap_mut();
    Decisions {
        strategy: heap.decision().strategy,
        reason: heap.decision().reason,
        switches: heap.switches(),
        invocations: heap.invocations(),
    }
}
