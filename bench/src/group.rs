//! The comparisons one run makes: each group has its contestants, its
//! workloads, its A/A baseline and the peers every row is divided by.

use crate::contestants::{self, Contestant, Visitor, adaptive, buddy, general, slab};
use crate::workloads::Workload;

/// A set of contestants compared on a set of workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// polyalloc's bump allocator against bumpalo and the system allocator.
    Bump,
    /// polyalloc's free-list allocator against talc, dlmalloc, rlsf,
    /// linked_list_allocator and the system allocator.
    General,
    /// polyalloc's buddy allocator against buddy_system_allocator, talc and
    /// the system allocator.
    Buddy,
    /// polyalloc's slab allocator against mimalloc, talc and the system
    /// allocator.
    Slab,
    /// polyalloc's adaptive heap against each single strategy core, dlmalloc
    /// and talc, on sequences of invocations.
    Adaptive,
}

impl Group {
    /// Every group, in report order.
    pub const ALL: [Self; 5] = [
        Self::Bump,
        Self::General,
        Self::Buddy,
        Self::Slab,
        Self::Adaptive,
    ];

    /// Short name, for command lines.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::Bump => "bump",
            Self::General => "general",
            Self::Buddy => "buddy",
            Self::Slab => "slab",
            Self::Adaptive => "adaptive",
        }
    }

    /// Heading in the report.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::Bump => "Bump allocators",
            Self::General => "General-purpose allocators",
            Self::Buddy => "Power-of-two allocators",
            Self::Slab => "Small-object (size-class) allocators",
            Self::Adaptive => "The adaptive allocator (FaaS invocations)",
        }
    }

    /// The group's workloads, in table order.
    pub fn workloads(self) -> impl Iterator<Item = Workload> {
        Workload::ALL.into_iter().filter(move |w| w.group() == self)
    }

    /// Calls `v` for every timed contestant of the group, in table order.
    pub fn for_each<V: Visitor>(self, v: &mut V) {
        match self {
            Self::Bump => contestants::for_each(v),
            Self::General => general::for_each(v),
            Self::Buddy => buddy::for_each(v),
            Self::Slab => slab::for_each(v),
            Self::Adaptive => adaptive::for_each(v),
        }
    }

    /// Whether the group's workloads get a peak-memory pass (not the bump
    /// group, whose arenas are not compared on memory).
    #[must_use]
    pub const fn has_peaks(self) -> bool {
        !matches!(self, Self::Bump)
    }

    /// Calls `v` for every contestant of the peak-memory pass (none for the
    /// bump group, whose arenas are not compared on memory).
    pub fn for_each_peak<V: Visitor>(self, v: &mut V) {
        match self {
            Self::Bump => {}
            Self::General => general::for_each_peak(v),
            Self::Buddy => buddy::for_each_peak(v),
            Self::Slab => slab::for_each_peak(v),
            Self::Adaptive => adaptive::for_each_peak(v),
        }
    }

    /// Calls `v` once, for the contestant measured a second time as the A/A
    /// row.
    pub fn visit_aa<V: Visitor>(self, v: &mut V) {
        match self {
            Self::Bump => v.visit::<contestants::AaBaseline>(),
            Self::General => v.visit::<general::AaBaseline>(),
            Self::Buddy => v.visit::<buddy::AaBaseline>(),
            Self::Slab => v.visit::<slab::AaBaseline>(),
            Self::Adaptive => v.visit::<adaptive::AaBaseline>(),
        }
    }

    /// The key of the A/A baseline (its first measurement).
    #[must_use]
    pub const fn aa_base(self) -> &'static str {
        match self {
            Self::Bump => contestants::AaBaseline::KEY,
            Self::General => general::AaBaseline::KEY,
            Self::Buddy => buddy::AaBaseline::KEY,
            Self::Slab => slab::AaBaseline::KEY,
            Self::Adaptive => adaptive::AaBaseline::KEY,
        }
    }

    /// The key of the A/A row (the baseline's second measurement).
    #[must_use]
    pub const fn aa_key(self) -> &'static str {
        match self {
            Self::Bump => "bumpalo-aa",
            Self::General => "talc-aa",
            Self::Buddy => "buddy-system-aa",
            Self::Slab => "mimalloc-aa",
            Self::Adaptive => "dlmalloc-aa",
        }
    }

    /// The name of the A/A row.
    #[must_use]
    pub const fn aa_name(self) -> &'static str {
        match self {
            Self::Bump => "bumpalo, again (A/A)",
            Self::General => "talc, again (A/A)",
            Self::Buddy => "buddy_system_allocator, again (A/A)",
            Self::Slab => "mimalloc, again (A/A)",
            Self::Adaptive => "dlmalloc, again (A/A)",
        }
    }

    /// The keys every other row is divided by, one column each.
    #[must_use]
    pub const fn ratio_bases(self) -> &'static [&'static str] {
        match self {
            Self::Bump => &contestants::RATIO_BASES,
            Self::General => &general::RATIO_BASES,
            Self::Buddy => &buddy::RATIO_BASES,
            Self::Slab => &slab::RATIO_BASES,
            Self::Adaptive => &adaptive::RATIO_BASES,
        }
    }

    /// Every timed contestant's key, in table order.
    #[must_use]
    pub fn keys(self) -> Vec<&'static str> {
        struct Keys(Vec<&'static str>);
        impl Visitor for Keys {
            fn visit<C: Contestant + 'static>(&mut self) {
                self.0.push(C::KEY);
            }
        }
        let mut k = Keys(Vec::new());
        self.for_each(&mut k);
        k.0
    }
}
