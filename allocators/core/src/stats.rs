//! The statistics every strategy keeps, in one shape.

/// Counters a heap keeps about its own use.
///
/// Counts are cumulative since the heap was made; `bytes_live` and
/// `bytes_reserved` are current values. Sizes are the sizes callers asked for
/// (`Layout::size`), not what the strategy rounded them to, so the figures are
/// comparable across strategies.
///
/// A grow or shrink that had to move the block is counted as one allocation
/// and one deallocation; `reallocations` counts only the resizes done in
/// place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Successful allocations.
    pub allocations: u64,
    /// Deallocations, including failed ones.
    pub deallocations: u64,
    /// Grows and shrinks done in place.
    pub reallocations: u64,
    /// Deallocations whose memory the strategy could not reuse (for a bump
    /// heap: every free of a block other than the most recent one).
    pub failed_deallocations: u64,
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
            allocations: 0,
            deallocations: 0,
            reallocations: 0,
            failed_deallocations: 0,
            bytes_live: 0,
            peak_bytes_live: 0,
            bytes_reserved: 0,
        }
    }

    /// Records a successful allocation of `size` bytes.
    #[inline(always)]
    pub fn record_alloc(&mut self, size: usize) {
        self.allocations = self.allocations.wrapping_add(1);
        self.bytes_live = self.bytes_live.wrapping_add(size);
        if self.bytes_live > self.peak_bytes_live {
            self.peak_bytes_live = self.bytes_live;
        }
    }

    /// Records a deallocation of a `size`-byte block whose memory was reused.
    #[inline(always)]
    pub fn record_dealloc(&mut self, size: usize) {
        self.deallocations = self.deallocations.wrapping_add(1);
        // Wrapping: a caller that passes a wrong size must not make the
        // allocator panic; the checking mode reports that misuse instead.
        self.bytes_live = self.bytes_live.wrapping_sub(size);
    }

    /// Records a deallocation of a `size`-byte block whose memory could not
    /// be reused.
    #[inline(always)]
    pub fn record_failed_dealloc(&mut self, size: usize) {
        self.record_dealloc(size);
        self.failed_deallocations = self.failed_deallocations.wrapping_add(1);
    }

    /// Records an in-place resize from `old_size` to `new_size` bytes.
    #[inline(always)]
    pub fn record_realloc(&mut self, old_size: usize, new_size: usize) {
        self.reallocations = self.reallocations.wrapping_add(1);
        self.bytes_live = self
            .bytes_live
            .wrapping_sub(old_size)
            .wrapping_add(new_size);
        if self.bytes_live > self.peak_bytes_live {
            self.peak_bytes_live = self.bytes_live;
        }
    }

    /// Records `bytes` taken from the source.
    #[inline]
    pub fn record_reserve(&mut self, bytes: usize) {
        self.bytes_reserved = self.bytes_reserved.wrapping_add(bytes);
    }

    /// Records `bytes` given back to the source.
    #[inline]
    pub fn record_release(&mut self, bytes: usize) {
        self.bytes_reserved = self.bytes_reserved.wrapping_sub(bytes);
    }

    /// Live blocks: allocations minus deallocations.
    #[must_use]
    pub const fn blocks_live(&self) -> u64 {
        self.allocations.wrapping_sub(self.deallocations)
    }
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn counters_track_live_and_peak() {
        let mut s = Stats::new();
        s.record_alloc(10);
        s.record_alloc(20);
        s.record_dealloc(10);
        s.record_realloc(20, 50);
        s.record_failed_dealloc(50);
        assert_eq!(s.allocations, 2);
        assert_eq!(s.deallocations, 2);
        assert_eq!(s.failed_deallocations, 1);
        assert_eq!(s.reallocations, 1);
        assert_eq!(s.bytes_live, 0);
        assert_eq!(s.peak_bytes_live, 50);
        assert_eq!(s.blocks_live(), 0);
        s.record_reserve(4096);
        s.record_release(4096);
        assert_eq!(s.bytes_reserved, 0);
    }

    #[test]
    fn wrong_sizes_wrap_instead_of_panicking() {
        let mut s = Stats::new();
        s.record_dealloc(1);
        assert_eq!(s.bytes_live, usize::MAX);
    }
}
