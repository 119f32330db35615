//! The statistics every strategy keeps, in one shape, and the recorders that
//! keep them.
//!
//! Whether a heap counts every operation is a type parameter, not a cargo
//! feature: [`Counting`] keeps every counter (two additions per allocation,
//! the peak folded in lazily), [`Uncounted`] keeps only the bytes reserved
//! from the source and costs nothing on the fast path. Benchmarks showed the
//! per-operation counters alone make a bump allocation about 1.4x slower
//! (`docs/benchmarks.md`), so each strategy picks its default and users opt in.

use core::fmt;

/// Counters a heap keeps about its own use.
///
/// Counts are cumulative since the heap was made; `bytes_live` and
/// `bytes_reserved` are current values. Sizes are the sizes callers asked for
/// (`Layout::size`), not what the strategy rounded them to, so the figures are
/// comparable across strategies.
///
/// A grow or shrink that had to move the block is counted as one allocation
/// and one deallocation; `reallocations` counts only the resizes done in
/// place. Zero-size blocks are not counted at all: they hold no memory, and
/// the `Allocator` adapter answers them without the heap, so a zero-size
/// pointer freed through `GlobalAlloc` may never have come from it.
///
/// A heap with the [`Uncounted`] recorder keeps only `bytes_reserved`; its
/// other counters read zero and `counting` is `false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Whether the per-operation counters below are kept (a [`Counting`]
    /// recorder). When `false` only `bytes_reserved` is meaningful.
    pub counting: bool,
    /// Successful allocations.
    pub allocations: u64,
    /// Deallocations, including failed ones.
    pub deallocations: u64,
    /// Grows and shrinks done in place.
    pub reallocations: u64,
    /// Deallocations whose memory the strategy could not reuse (for a bump
    /// heap: every free of a block other than the most recent one).
    pub failed_deallocations: u64,
    /// Blocks ended all at once by a reset or a rewind rather than freed one
    /// by one.
    pub blocks_forgotten: u64,
    /// Bytes in live blocks, as requested.
    pub bytes_live: usize,
    /// The highest `bytes_live` seen.
    pub peak_bytes_live: usize,
    /// Bytes currently held from the source (including metadata and space
    /// not yet handed out).
    pub bytes_reserved: usize,
}

impl Stats {
    /// All counters at zero.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            counting: false,
            allocations: 0,
            deallocations: 0,
            reallocations: 0,
            failed_deallocations: 0,
            blocks_forgotten: 0,
            bytes_live: 0,
            peak_bytes_live: 0,
            bytes_reserved: 0,
        }
    }

    /// The counters of two heaps taken together: sums, except the peak,
    /// which is the higher of the two (the heaps' peaks need not have come
    /// at the same moment, so the sum could overstate it), and `counting`,
    /// which holds only if both counted.
    #[must_use]
    pub const fn combined(self, other: &Self) -> Self {
        Self {
            counting: self.counting && other.counting,
            allocations: self.allocations.wrapping_add(other.allocations),
            deallocations: self.deallocations.wrapping_add(other.deallocations),
            reallocations: self.reallocations.wrapping_add(other.reallocations),
            failed_deallocations: self
                .failed_deallocations
                .wrapping_add(other.failed_deallocations),
            blocks_forgotten: self.blocks_forgotten.wrapping_add(other.blocks_forgotten),
            bytes_live: self.bytes_live.wrapping_add(other.bytes_live),
            peak_bytes_live: if self.peak_bytes_live > other.peak_bytes_live {
                self.peak_bytes_live
            } else {
                other.peak_bytes_live
            },
            bytes_reserved: self.bytes_reserved.wrapping_add(other.bytes_reserved),
        }
    }

    /// Live blocks: allocations minus deallocations minus blocks forgotten.
    #[must_use]
    pub const fn blocks_live(&self) -> u64 {
        self.allocations
            .wrapping_sub(self.deallocations)
            .wrapping_sub(self.blocks_forgotten)
    }
}

/// What a heap updates as it works: a strategy calls these at each event and
/// [`snapshot`](Recorder::snapshot) turns them into the public [`Stats`].
///
/// Every method is `#[inline(always)]` in both implementations, so a call on
/// an [`Uncounted`] recorder compiles to nothing.
pub trait Recorder: Copy + fmt::Debug + Send {
    /// The recorder with every counter at zero (a constant, so heaps keep
    /// `const fn` constructors).
    const NEW: Self;

    /// Records a successful allocation of `size` bytes.
    fn record_alloc(&mut self, size: usize);
    /// Records a deallocation of a `size`-byte block whose memory was reused.
    fn record_dealloc(&mut self, size: usize);
    /// Records a deallocation of a `size`-byte block whose memory could not
    /// be reused.
    fn record_failed_dealloc(&mut self, size: usize);
    /// Records an in-place resize from `old_size` to `new_size` bytes.
    fn record_realloc(&mut self, old_size: usize, new_size: usize);
    /// Ends blocks all at once (a reset, a rewind): afterwards `bytes` bytes
    /// in `blocks` blocks are live, and the blocks that ended count as
    /// forgotten, not deallocated.
    fn forget(&mut self, bytes: usize, blocks: u64);
    /// Records `bytes` taken from the source.
    fn record_reserve(&mut self, bytes: usize);
    /// Records `bytes` given back to the source.
    fn record_release(&mut self, bytes: usize);
    /// Bytes in live blocks now (0 when not counted).
    fn bytes_live(&self) -> usize;
    /// Blocks live now (0 when not counted).
    fn blocks_live(&self) -> u64;
    /// Bytes held from the source now (always kept).
    fn bytes_reserved(&self) -> usize;
    /// The counters, with the peak brought up to date.
    fn snapshot(&self) -> Stats;
}

/// Keeps every counter of [`Stats`].
///
/// The peak is kept lazily: `bytes_live` can only have been at a new high just
/// before it goes down, so the peak is folded in on every decrease and on
/// every snapshot, never on the allocation fast path. An allocation costs two
/// additions.
///
/// All arithmetic wraps: a caller that frees with a wrong size must not make
/// the allocator panic (the checking mode reports that misuse instead).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting {
    /// `peak_bytes_live` may lag behind `bytes_live` here; `snapshot` fixes it.
    stats: Stats,
}

impl Counting {
    #[inline(always)]
    fn fold_peak(&mut self) {
        if self.stats.bytes_live > self.stats.peak_bytes_live {
            self.stats.peak_bytes_live = self.stats.bytes_live;
        }
    }
}

impl Recorder for Counting {
    const NEW: Self = Self {
        stats: Stats {
            counting: true,
            ..Stats::new()
        },
    };

    #[inline(always)]
    fn record_alloc(&mut self, size: usize) {
        // Branch-free: a zero-size block adds nothing.
        self.stats.allocations = self.stats.allocations.wrapping_add(u64::from(size != 0));
        self.stats.bytes_live = self.stats.bytes_live.wrapping_add(size);
    }

    #[inline(always)]
    fn record_dealloc(&mut self, size: usize) {
        self.fold_peak();
        self.stats.deallocations = self.stats.deallocations.wrapping_add(u64::from(size != 0));
        self.stats.bytes_live = self.stats.bytes_live.wrapping_sub(size);
    }

    #[inline(always)]
    fn record_failed_dealloc(&mut self, size: usize) {
        self.record_dealloc(size);
        self.stats.failed_deallocations = self
            .stats
            .failed_deallocations
            .wrapping_add(u64::from(size != 0));
    }

    #[inline(always)]
    fn record_realloc(&mut self, old_size: usize, new_size: usize) {
        self.fold_peak();
        self.stats.reallocations = self.stats.reallocations.wrapping_add(1);
        // A zero-size block that grows becomes a counted block; one shrunk
        // to zero size stops being one.
        let (was, is) = (old_size != 0, new_size != 0);
        self.stats.allocations = self.stats.allocations.wrapping_add(u64::from(!was && is));
        self.stats.deallocations = self.stats.deallocations.wrapping_add(u64::from(was && !is));
        self.stats.bytes_live = self
            .stats
            .bytes_live
            .wrapping_sub(old_size)
            .wrapping_add(new_size);
    }

    #[inline(always)]
    fn forget(&mut self, bytes: usize, blocks: u64) {
        self.fold_peak();
        self.stats.bytes_live = bytes;
        let live = self.stats.blocks_live();
        self.stats.blocks_forgotten = self
            .stats
            .blocks_forgotten
            .wrapping_add(live.saturating_sub(blocks));
    }

    #[inline(always)]
    fn record_reserve(&mut self, bytes: usize) {
        self.stats.bytes_reserved = self.stats.bytes_reserved.wrapping_add(bytes);
    }

    #[inline(always)]
    fn record_release(&mut self, bytes: usize) {
        self.stats.bytes_reserved = self.stats.bytes_reserved.wrapping_sub(bytes);
    }

    #[inline(always)]
    fn bytes_live(&self) -> usize {
        self.stats.bytes_live
    }

    #[inline(always)]
    fn blocks_live(&self) -> u64 {
        self.stats.blocks_live()
    }

    #[inline(always)]
    fn bytes_reserved(&self) -> usize {
        self.stats.bytes_reserved
    }

    fn snapshot(&self) -> Stats {
        let mut s = self.stats;
        if s.bytes_live > s.peak_bytes_live {
            s.peak_bytes_live = s.bytes_live;
        }
        s
    }
}

/// Keeps only `bytes_reserved`; every per-operation call compiles to
/// nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Uncounted {
    bytes_reserved: usize,
}

impl Recorder for Uncounted {
    const NEW: Self = Self { bytes_reserved: 0 };

    #[inline(always)]
    fn record_alloc(&mut self, _size: usize) {}

    #[inline(always)]
    fn record_dealloc(&mut self, _size: usize) {}

    #[inline(always)]
    fn record_failed_dealloc(&mut self, _size: usize) {}

    #[inline(always)]
    fn record_realloc(&mut self, _old_size: usize, _new_size: usize) {}

    #[inline(always)]
    fn forget(&mut self, _bytes: usize, _blocks: u64) {}

    #[inline(always)]
    fn record_reserve(&mut self, bytes: usize) {
        self.bytes_reserved = self.bytes_reserved.wrapping_add(bytes);
    }

    #[inline(always)]
    fn record_release(&mut self, bytes: usize) {
        self.bytes_reserved = self.bytes_reserved.wrapping_sub(bytes);
    }

    #[inline(always)]
    fn bytes_live(&self) -> usize {
        0
    }

    #[inline(always)]
    fn blocks_live(&self) -> u64 {
        0
    }

    #[inline(always)]
    fn bytes_reserved(&self) -> usize {
        self.bytes_reserved
    }

    fn snapshot(&self) -> Stats {
        Stats {
            bytes_reserved: self.bytes_reserved,
            ..Stats::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Counting, Recorder, Stats, Uncounted};

    #[test]
    fn counters_track_live_and_peak() {
        let mut r = Counting::NEW;
        r.record_alloc(10);
        r.record_alloc(20);
        r.record_dealloc(10);
        r.record_realloc(20, 50);
        assert_eq!(
            r.snapshot().peak_bytes_live,
            50,
            "a peak reached by a grow shows at once"
        );
        r.record_failed_dealloc(50);
        let s = r.snapshot();
        assert_eq!(s.allocations, 2);
        assert_eq!(s.deallocations, 2);
        assert_eq!(s.failed_deallocations, 1);
        assert_eq!(s.reallocations, 1);
        assert_eq!(s.bytes_live, 0);
        assert_eq!(s.peak_bytes_live, 50);
        assert_eq!(s.blocks_live(), 0);
        r.record_reserve(4096);
        r.record_release(4096);
        assert_eq!(r.bytes_reserved(), 0);
    }

    #[test]
    fn the_peak_is_exact_though_folded_lazily() {
        let mut r = Counting::NEW;
        for _ in 0..3 {
            r.record_alloc(100);
        }
        assert_eq!(r.snapshot().peak_bytes_live, 300);
        r.forget(0, 0);
        r.record_alloc(10);
        assert_eq!(r.snapshot().peak_bytes_live, 300);
        assert_eq!(r.blocks_live(), 1);
        assert_eq!(r.snapshot().blocks_forgotten, 3);
        assert_eq!(Stats::new(), Stats::default());
    }

    #[test]
    fn zero_size_blocks_are_not_counted() {
        let mut r = Counting::NEW;
        r.record_alloc(0);
        r.record_failed_dealloc(0);
        r.record_dealloc(0);
        let s = r.snapshot();
        assert_eq!(
            (s.allocations, s.deallocations, s.failed_deallocations),
            (0, 0, 0)
        );
        assert_eq!(s.blocks_live(), 0);
    }

    #[test]
    fn uncounted_keeps_only_reserved_bytes() {
        let mut r = Uncounted::NEW;
        r.record_alloc(10);
        r.record_failed_dealloc(10);
        r.record_reserve(4096);
        let s = r.snapshot();
        assert!(!s.counting);
        assert_eq!(
            s,
            Stats {
                bytes_reserved: 4096,
                ..Stats::new()
            }
        );
        assert!(Counting::NEW.snapshot().counting);
    }

    #[test]
    fn wrong_sizes_wrap_instead_of_panicking() {
        let mut r = Counting::NEW;
        r.record_dealloc(1);
        assert_eq!(r.bytes_live(), usize::MAX);
    }

    #[test]
    fn combined_counters_add_and_the_peak_is_the_higher() {
        let mut a = Counting::NEW;
        a.record_alloc(100);
        a.record_reserve(4096);
        let mut b = Counting::NEW;
        b.record_alloc(30);
        b.record_alloc(20);
        b.record_dealloc(20);
        let both = a.snapshot().combined(&b.snapshot());
        assert!(both.counting);
        assert_eq!((both.allocations, both.deallocations), (3, 1));
        assert_eq!((both.bytes_live, both.peak_bytes_live), (130, 100));
        assert_eq!(both.bytes_reserved, 4096);
        assert!(!both.combined(&Uncounted::NEW.snapshot()).counting);
    }
}
