//! How much memory a heap keeps in entirely free spans instead of giving it
//! back to a source that takes memory back (`mmap`).
//!
//! Giving a free span back at once is cheap until the program asks for the
//! memory again: then every page of the new span is faulted in anew. A
//! program that frees everything at the end of a round and allocates the
//! same again next round would pay that every round. Keeping every free span
//! forever costs the other way: a heap that was large once stays large.
//!
//! [`Retention`] keeps free spans up to the heap's **recent peak in use**:
//! the most bytes the heap held in spans with live blocks over the last one
//! or two *epochs*, at least [`Retention::FLOOR`]. The clock is the heap's
//! own: an epoch is [`Retention::EPOCH`] *emptyings* (a span becoming
//! entirely free). A program that comes back to the same footprint each
//! round keeps its memory and faults nothing in again; one whose footprint
//! shrinks for good gives the difference back within two epochs of
//! emptyings. A heap's `trim` gives back every free span and calls
//! [`Retention::forget`].
//!
//! Why the recent peak is seen exactly: the bytes in use (in spans with a
//! live block) only fall when a span becomes entirely free, so the value
//! just before each emptying is the highest since the previous one, and the
//! largest of them over an epoch is the epoch's peak.
//!
//! The policy is what the buddy heap uses; the free list keeps its spans the
//! same way (a span is what becomes entirely free) and can share it.

/// The retention policy's state: the peaks in use of the current and the
/// previous epoch. Three words, no padding, all zero bytes when new: a heap
/// that holds one can still be a zero-initialised `static`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// The most bytes in use seen in the current epoch.
    current: usize,
    /// The most bytes in use seen in the previous epoch.
    previous: usize,
    /// Emptyings seen in the current epoch, below [`Self::EPOCH`].
    emptyings: usize,
}

impl Retention {
    /// Free spans up to this many bytes are always kept (4 MiB), however
    /// small the heap's peak.
    pub const FLOOR: usize = 4 * 1024 * 1024;
    /// Emptyings per epoch: a peak is remembered for one to two epochs.
    pub const EPOCH: usize = 64;

    /// No peak seen yet: keeps [`FLOOR`](Self::FLOOR) bytes.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            current: 0,
            previous: 0,
            emptyings: 0,
        }
    }

    /// A span of `span` bytes has just become entirely free, and `in_use`
    /// bytes are still held in spans with live blocks (the span no longer
    /// among them). Returns how many bytes of free spans the heap should
    /// keep; it gives back free spans beyond that.
    ///
    /// The result never falls below [`FLOOR`](Self::FLOOR), and is at least
    /// the recent peak minus what is still in use: the free spans a return
    /// to that peak would need.
    pub fn emptied(&mut self, span: usize, in_use: usize) -> usize {
        // Just before this emptying, the span was in use too.
        self.current = self.current.max(in_use.saturating_add(span));
        self.emptyings += 1;
        if self.emptyings >= Self::EPOCH {
            self.previous = self.current;
            self.current = in_use;
            self.emptyings = 0;
        }
        self.peak().saturating_sub(in_use).max(Self::FLOOR)
    }

    /// The recent peak in use: the larger of the current and the previous
    /// epoch's.
    #[must_use]
    pub fn peak(&self) -> usize {
        self.current.max(self.previous)
    }

    /// Forgets every peak, as after a heap gave back all its free spans.
    pub fn forget(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::Retention;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn keeps_the_floor_for_a_small_heap() {
        let mut r = Retention::new();
        assert_eq!(r.emptied(MIB, 0), Retention::FLOOR);
    }

    #[test]
    fn keeps_what_a_return_to_the_peak_needs() {
        let mut r = Retention::new();
        // Everything freed, span by span: each emptying keeps what the
        // peak (seen at the first) needs beyond what is still in use.
        let mut in_use = 32 * MIB;
        while in_use > 0 {
            in_use -= 8 * MIB;
            assert_eq!(
                r.emptied(8 * MIB, in_use),
                (32 * MIB - in_use).max(Retention::FLOOR)
            );
        }
        assert_eq!(r.peak(), 32 * MIB);
    }

    #[test]
    fn a_steady_peak_is_kept_across_epochs() {
        let mut r = Retention::new();
        // Rounds that climb back to 20 MiB and free it all, many epochs
        // long: the peak is seen at each round's first emptying.
        for _ in 0..10 * Retention::EPOCH {
            assert_eq!(r.emptied(10 * MIB, 10 * MIB), 10 * MIB);
            assert_eq!(r.emptied(10 * MIB, 0), 20 * MIB);
        }
    }

    #[test]
    fn a_peak_left_behind_is_forgotten_within_two_epochs() {
        let mut r = Retention::new();
        assert_eq!(r.emptied(56 * MIB, 8 * MIB), 56 * MIB);
        // The program now lives in 8 MiB, emptying small spans.
        for _ in 0..2 * Retention::EPOCH {
            r.emptied(MIB, 7 * MIB);
        }
        assert_eq!(r.peak(), 8 * MIB);
        assert_eq!(r.emptied(MIB, 7 * MIB), Retention::FLOOR);
        r.forget();
        assert_eq!(r, Retention::new());
    }
}
