//! What the adaptive heap records about a function's allocations.
//!
//! Recording is always on, so it has to be cheap: an allocation adds to five
//! counters and one histogram bucket, a free to three. Nothing here
//! allocates or locks. Counters are kept for the current invocation (since
//! the last [`end_invocation`](crate::AdaptiveHeap::end_invocation)) and
//! folded into the totals when it ends.

/// Buckets of the size histogram: bucket `k` counts requests of
/// `2^(k-1) < size <= 2^k` bytes (bucket 0: sizes 0 and 1); the last bucket
/// also takes everything larger.
pub const BUCKETS: usize = 32;

/// Requests at least this large count as *large* for the buddy decision.
pub const LARGE: usize = 4096;

/// The histogram bucket of a request of `size` bytes.
#[inline(always)]
#[must_use]
pub const fn bucket(size: usize) -> usize {
    let k = (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize;
    if k < BUCKETS { k } else { BUCKETS - 1 }
}

/// [`bucket`] for a request of `0 < size <= isize::MAX` bytes, as every
/// counted allocation is: `ceil(log2(size))` read off the highest bit of
/// `2 * size - 1`, which is odd and so never zero, so the compiler emits the
/// bit scan alone, without the branch or select that a zero would need.
#[inline(always)]
pub(crate) fn bucket_of_nonzero(size: usize) -> usize {
    debug_assert!(size != 0 && size <= isize::MAX as usize, "size {size}");
    let k = ((size << 1).wrapping_sub(1) | 1).ilog2() as usize;
    debug_assert_eq!(k.min(BUCKETS - 1), bucket(size), "size {size}");
    k.min(BUCKETS - 1)
}

/// Whether a request of `size` bytes is large and within an eighth below a
/// power of two: a buddy block of the next power of two wastes at most an
/// eighth of it.
#[inline]
#[must_use]
pub const fn near_power_of_two(size: usize) -> bool {
    if size < LARGE {
        return false;
    }
    match size.checked_next_power_of_two() {
        Some(p) => size >= p - p / 8,
        None => false,
    }
}

/// Counters over a stretch of a function's life (one invocation, or all of
/// them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Successful allocations (a moving grow or shrink counts one).
    pub allocations: u64,
    /// Deallocations (a moving grow or shrink counts one).
    pub deallocations: u64,
    /// Deallocations whose memory the strategy serving them could not reuse
    /// (under bump: every free other than of the most recent block).
    pub failed_deallocations: u64,
    /// Frees of a block other than the newest live one, whatever the
    /// strategy: what *would* fail under bump. Under bump these are its
    /// failed deallocations; under the other strategies the heap remembers
    /// their 32 newest allocations, so a stack freed newest first up to that
    /// depth counts as in order. The policy uses it to move a function back
    /// to bump when its frees turn orderly.
    pub out_of_order_frees: u64,
    /// Bytes in the failed deallocations.
    pub failed_bytes: u64,
    /// Bytes in the out-of-order frees. (Each count is declared apart from
    /// its bytes: side by side, the compiler pairs the two additions of an
    /// out-of-order free into a vector one that takes three times the
    /// instructions.)
    pub out_of_order_bytes: u64,
    /// Grows and shrinks done in place.
    pub reallocations: u64,
    /// Bytes requested by successful allocations.
    pub bytes_allocated: u64,
    /// The most bytes live at once.
    pub peak_bytes_live: u64,
    /// Large requests within an eighth below a power of two
    /// ([`near_power_of_two`]).
    pub near_power_of_two: u64,
    /// Allocations by size: see [`BUCKETS`].
    pub histogram: [u64; BUCKETS],
}

impl Usage {
    /// Every counter at zero.
    pub const ZERO: Self = Self {
        allocations: 0,
        deallocations: 0,
        failed_deallocations: 0,
        out_of_order_frees: 0,
        failed_bytes: 0,
        out_of_order_bytes: 0,
        reallocations: 0,
        bytes_allocated: 0,
        peak_bytes_live: 0,
        near_power_of_two: 0,
        histogram: [0; BUCKETS],
    };

    /// Adds `other` to `self` (the peak is the larger of the two).
    pub fn absorb(&mut self, other: &Usage) {
        self.allocations = self.allocations.wrapping_add(other.allocations);
        self.deallocations = self.deallocations.wrapping_add(other.deallocations);
        self.failed_deallocations = self
            .failed_deallocations
            .wrapping_add(other.failed_deallocations);
        self.failed_bytes = self.failed_bytes.wrapping_add(other.failed_bytes);
        self.out_of_order_frees = self
            .out_of_order_frees
            .wrapping_add(other.out_of_order_frees);
        self.out_of_order_bytes = self
            .out_of_order_bytes
            .wrapping_add(other.out_of_order_bytes);
        self.reallocations = self.reallocations.wrapping_add(other.reallocations);
        self.bytes_allocated = self.bytes_allocated.wrapping_add(other.bytes_allocated);
        self.peak_bytes_live = self.peak_bytes_live.max(other.peak_bytes_live);
        self.near_power_of_two = self.near_power_of_two.wrapping_add(other.near_power_of_two);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    /// Allocations of at most `limit` bytes (rounded up to the histogram's
    /// power-of-two buckets).
    #[must_use]
    pub fn allocations_up_to(&self, limit: usize) -> u64 {
        self.histogram[..=bucket(limit)].iter().sum()
    }

    /// Allocations of at least [`LARGE`] bytes (by bucket).
    #[must_use]
    pub fn large_allocations(&self) -> u64 {
        self.histogram[bucket(LARGE)..].iter().sum()
    }
}

impl Default for Usage {
    fn default() -> Self {
        Self::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(2), 1);
        assert_eq!(bucket(3), 2);
        assert_eq!(bucket(4), 2);
        assert_eq!(bucket(5), 3);
        assert_eq!(bucket(4096), 12);
        assert_eq!(bucket(4097), 13);
        assert_eq!(bucket(usize::MAX), BUCKETS - 1);
    }

    #[test]
    fn the_nonzero_bucket_is_the_bucket() {
        for size in (1..5000).chain([1 << 31, (1 << 31) + 1, isize::MAX as usize]) {
            assert_eq!(bucket_of_nonzero(size), bucket(size), "size {size}");
        }
    }

    #[test]
    fn near_power_of_two_is_large_and_within_an_eighth() {
        assert!(!near_power_of_two(64));
        assert!(near_power_of_two(4096));
        assert!(near_power_of_two(8192 - 1024));
        assert!(!near_power_of_two(8192 - 1025));
        assert!(!near_power_of_two(5000));
        assert!(!near_power_of_two(usize::MAX));
    }

    #[test]
    fn absorb_adds_and_keeps_the_higher_peak() {
        let mut a = Usage::ZERO;
        a.allocations = 3;
        a.peak_bytes_live = 10;
        a.histogram[4] = 3;
        let mut b = Usage::ZERO;
        b.allocations = 2;
        b.peak_bytes_live = 7;
        b.histogram[4] = 1;
        a.absorb(&b);
        assert_eq!(a.allocations, 5);
        assert_eq!(a.peak_bytes_live, 10);
        assert_eq!(a.histogram[4], 4);
        assert_eq!(a.allocations_up_to(16), 4);
        assert_eq!(a.large_allocations(), 0);
    }
}
