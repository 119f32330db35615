//! When the adaptive heap switches strategy, and to which.
//!
//! Every function starts on bump. Bump wastes every block freed out of order
//! until the invocation ends; once that waste passes both an absolute floor
//! and a multiple of what is live ([`Policy::min_waste`],
//! [`Policy::waste_per_live`]), bump is costing more memory than it saves
//! time, and the heap switches in the middle of the invocation. Which
//! strategy it switches to is read from the size histogram
//! ([`Policy::choose`]): slab when nearly all requests are small, buddy when
//! nearly all are large and near a power of two, the free list otherwise.
//!
//! Decisions are revisited: every [`Policy::review_every`] allocations (of the
//! free list, buddy or slab) and at
//! the end of every invocation the histogram since the last decision is read
//! again (a function whose sizes changed moves to the strategy that now
//! fits), and a pure function whose last invocation freed in order (little
//! that bump would have wasted) goes back to bump for the next one.
//!
//! The thresholds are plain fields, so a host can tune them per function;
//! `docs/adaptive.md` gives the measurements behind the defaults.

use crate::usage::{BUCKETS, LARGE, Usage, bucket};

/// A strategy the adaptive heap can serve the run phase from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Strategy {
    /// `polyalloc-bump`: the start of every function (of every function in
    /// a build with the `bump` feature, the default; without it functions
    /// start on the free list).
    Bump = 0,
    /// `polyalloc-freelist`: mixed sizes and random lifetimes.
    FreeList = 1,
    /// `polyalloc-buddy`: large, power-of-two sized buffers.
    Buddy = 2,
    /// `polyalloc-slab`: many small objects of a few sizes.
    Slab = 3,
}

impl Strategy {
    /// Every strategy, in the order of their codes.
    pub const ALL: [Strategy; 4] = [
        Strategy::Bump,
        Strategy::FreeList,
        Strategy::Buddy,
        Strategy::Slab,
    ];

    /// The strategy with this code, as stored in a record.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Bump),
            1 => Some(Self::FreeList),
            2 => Some(Self::Buddy),
            3 => Some(Self::Slab),
            _ => None,
        }
    }

    /// Whether this build has the strategy's core. The free list is always
    /// there; bump, buddy and slab each come with the cargo feature of that
    /// name (all on by default). A strategy left out is served by the free
    /// list: [`AdaptiveHeap::force`](crate::AdaptiveHeap::force) and a
    /// loaded record that name it get the free list, and the policy's
    /// choices go there too.
    ///
    /// ```
    /// use polyalloc_adaptive::Strategy;
    ///
    /// // The strategy a forced slab is served by in this build.
    /// let served = if Strategy::Slab.is_enabled() {
    ///     Strategy::Slab
    /// } else {
    ///     Strategy::FreeList
    /// };
    /// assert!(served.is_enabled());
    /// assert!(Strategy::FreeList.is_enabled());
    /// ```
    #[must_use]
    pub const fn is_enabled(self) -> bool {
        match self {
            Self::Bump => cfg!(feature = "bump"),
            Self::FreeList => true,
            Self::Buddy => cfg!(feature = "buddy"),
            Self::Slab => cfg!(feature = "slab"),
        }
    }

    /// The strategy's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bump => "bump",
            Self::FreeList => "free list",
            Self::Buddy => "buddy",
            Self::Slab => "slab",
        }
    }
}

/// Why the heap is serving from its current strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    /// The initial bump strategy: nothing recorded yet.
    Start = 0,
    /// A stored record said so.
    Record = 1,
    /// Bump's waste from out-of-order frees passed the thresholds.
    Waste = 2,
    /// A review found that the histogram calls for another strategy.
    Review = 3,
    /// A pure function's last invocation freed in order: bump again.
    Ordered = 4,
    /// The program asked for it ([`AdaptiveHeap::force`](crate::AdaptiveHeap::force)).
    Forced = 5,
}

impl Reason {
    /// The reason with this code, as stored in a record.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Start),
            1 => Some(Self::Record),
            2 => Some(Self::Waste),
            3 => Some(Self::Review),
            4 => Some(Self::Ordered),
            5 => Some(Self::Forced),
            _ => None,
        }
    }
}

/// A decision and its reason, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The strategy new run-phase allocations come from.
    pub strategy: Strategy,
    /// Why.
    pub reason: Reason,
    /// The function's total allocation count when the decision was made.
    pub at_allocation: u64,
}

impl Decision {
    /// Where every function starts.
    pub const START: Self = Self {
        strategy: Strategy::Bump,
        reason: Reason::Start,
        at_allocation: 0,
    };
}

/// The thresholds of the policy. [`Policy::DEFAULT`] is what
/// `AdaptiveHeap::new()` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Bump must have wasted at least this many bytes (freed out of order and
    /// not yet reclaimed) before the heap leaves it.
    pub min_waste: usize,
    /// ...and at least this many times the bytes live. With 1, bump leaves
    /// once it holds twice the memory the function uses.
    pub waste_per_live: usize,
    /// Requests up to this size are *small*.
    pub small_limit: usize,
    /// Slab is chosen when at least this percentage of the allocations are
    /// small.
    pub slab_percent: u8,
    /// Buddy is chosen when at least this percentage of the allocations are
    /// large (at least 4 KiB) and near a power of two.
    pub buddy_percent: u8,
    /// The histogram is reviewed every this many allocations served by the
    /// free list, buddy or slab in the run phase (a power of two is not
    /// required; bump's own allocations do not count: bump is left on
    /// waste, not on review). Zero turns mid-invocation reviews off.
    pub review_every: u64,
    /// A review needs at least this many allocations since the last decision
    /// to say anything.
    pub min_sample: u64,
    /// On a source that takes memory back, a strategy core the function has
    /// left keeps its memory through this many whole invocations before it
    /// gives it back (0: at the end of the invocation it was left in), so a
    /// function whose behaviour changes every few invocations does not fault
    /// its pages in again at each change.
    pub idle_invocations: u32,
}

impl Policy {
    /// The defaults: see `docs/adaptive.md` for the measurements behind them.
    pub const DEFAULT: Self = Self {
        min_waste: 256 * 1024,
        waste_per_live: 1,
        small_limit: 256,
        slab_percent: 90,
        buddy_percent: 75,
        review_every: 1 << 16,
        min_sample: 256,
        idle_invocations: 8,
    };

    /// Whether bump, having wasted `waste` bytes with `live` bytes live,
    /// should be left.
    #[inline]
    #[must_use]
    pub const fn bump_wastes_too_much(&self, waste: usize, live: usize) -> bool {
        waste >= self.min_waste && waste >= live.saturating_mul(self.waste_per_live)
    }

    /// The strategy the allocations counted in `window` call for, other than
    /// bump; `None` when the window holds too few allocations to say.
    #[must_use]
    pub fn choose(&self, window: &Usage) -> Option<Strategy> {
        self.choose_from(&self.sample(window))
    }

    /// The strategy the allocations counted in `window` call for, other than
    /// bump, however few they are: what the heap uses when bump's waste
    /// forces a switch (large requests pass the waste floor in a handful of
    /// allocations). An empty window picks the free list.
    #[must_use]
    pub fn pick(&self, window: &Usage) -> Strategy {
        self.pick_from(&self.sample(window))
    }

    /// What [`choose`](Self::choose) and [`pick`](Self::pick) read of
    /// `window`.
    pub(crate) fn sample(&self, window: &Usage) -> Sample {
        Sample::of(self, window.allocations, window.near_power_of_two, |b| {
            window.histogram[b]
        })
    }

    /// [`choose`](Self::choose) over what a [`Sample`] kept of the window.
    pub(crate) fn choose_from(&self, s: &Sample) -> Option<Strategy> {
        if s.allocations < self.min_sample.max(1) {
            return None;
        }
        Some(self.pick_from(s))
    }

    /// [`pick`](Self::pick) over what a [`Sample`] kept of the window.
    pub(crate) fn pick_from(&self, s: &Sample) -> Strategy {
        let n = s.allocations;
        if n == 0 {
            return Strategy::FreeList;
        }
        let pow2 = s.near_power_of_two.min(s.large);
        if s.small * 100 >= n * u64::from(self.slab_percent) {
            Strategy::Slab
        } else if pow2 * 100 >= n * u64::from(self.buddy_percent) {
            Strategy::Buddy
        } else {
            Strategy::FreeList
        }
    }

    /// Whether an invocation that recorded `invocation` would have been as
    /// well off on bump: its out-of-order frees wasted less than the floor.
    #[must_use]
    pub const fn orderly(&self, invocation: &Usage) -> bool {
        invocation.allocations > 0 && (invocation.out_of_order_bytes as usize) < self.min_waste
    }
}

/// What a decision reads of a window of allocations: how many there were,
/// how many were small (up to [`Policy::small_limit`]) and how many large
/// (at least [`LARGE`]), by histogram bucket, and how many were near a
/// power of two. The adaptive heap adds these up bucket by bucket from its
/// counters at a review, without building the window's [`Usage`] first
/// (the end of an invocation reviews, and a host times it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) allocations: u64,
    pub(crate) small: u64,
    pub(crate) large: u64,
    pub(crate) near_power_of_two: u64,
}

impl Sample {
    /// The sample of a window of `allocations`, `near_power_of_two` of them
    /// near a power of two, whose histogram bucket `b` counts `count(b)`
    /// (`b < BUCKETS`). Only the buckets the policy sums are read: those up
    /// to the small limit's and those from [`LARGE`]'s on.
    #[inline]
    pub(crate) fn of(
        policy: &Policy,
        allocations: u64,
        near_power_of_two: u64,
        count: impl Fn(usize) -> u64,
    ) -> Self {
        let small = (0..=bucket(policy.small_limit))
            .map(&count)
            .fold(0, u64::wrapping_add);
        let large = (bucket(LARGE)..BUCKETS)
            .map(&count)
            .fold(0, u64::wrapping_add);
        Self {
            allocations,
            small,
            large,
            near_power_of_two,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::bucket;

    fn window(sizes: &[(usize, u64)]) -> Usage {
        let mut u = Usage::ZERO;
        for &(size, count) in sizes {
            u.allocations += count;
            u.histogram[bucket(size)] += count;
            if crate::usage::near_power_of_two(size) {
                u.near_power_of_two += count;
            }
        }
        u
    }

    #[test]
    fn waste_must_pass_the_floor_and_the_live_bytes() {
        let p = Policy::DEFAULT;
        assert!(!p.bump_wastes_too_much(p.min_waste - 1, 0));
        assert!(p.bump_wastes_too_much(p.min_waste, 0));
        assert!(!p.bump_wastes_too_much(p.min_waste, p.min_waste + 1));
        assert!(p.bump_wastes_too_much(4 * p.min_waste, 4 * p.min_waste));
    }

    #[test]
    fn the_histogram_picks_the_strategy() {
        let p = Policy::DEFAULT;
        assert_eq!(p.choose(&window(&[(64, 10)])), None, "too few to say");
        assert_eq!(p.choose(&window(&[(64, 1000)])), Some(Strategy::Slab));
        assert_eq!(
            p.choose(&window(&[(64, 950), (3000, 50)])),
            Some(Strategy::Slab),
            "nearly all small"
        );
        assert_eq!(
            p.choose(&window(&[(64, 800), (3000, 200)])),
            Some(Strategy::FreeList),
            "a fifth mid-size: the free list"
        );
        assert_eq!(
            p.choose(&window(&[(65536, 900), (64, 100)])),
            Some(Strategy::Buddy)
        );
        assert_eq!(
            p.choose(&window(&[(65536, 500), (64, 500)])),
            Some(Strategy::FreeList),
            "half small: the free list"
        );
        assert_eq!(
            p.choose(&window(&[(5000, 1000)])),
            Some(Strategy::FreeList),
            "large but far from a power of two"
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::from_code(s as u8), Some(s));
        }
        assert_eq!(Strategy::from_code(200), None);
        for code in 0..6 {
            assert_eq!(Reason::from_code(code).map(|r| r as u8), Some(code));
        }
        assert_eq!(Reason::from_code(6), None);
    }
}
