//! What the strategies' *checking mode* shares: the misuses it names, the
//! report that ends the process, and the poison that shows a write after a
//! free.
//!
//! Each allocator crate has a `checking` cargo feature. With it, a free
//! first verifies that the pointer is a live block of that heap, handed out
//! with a layout of the same size class, and a freed block is filled with
//! [`POISON`] that is verified when the block is handed out again. A misuse
//! ends the process with one line on standard error naming it:
//!
//! ```text
//! polyalloc checking (slab): double free at 0x00007f3a5c210040
//! ```
//!
//! The report never allocates (the line is built in a buffer on the stack)
//! and never unwinds: on unix it is written to file descriptor 2 and the
//! process aborts (`SIGABRT`); on wasm32 the guest traps (`unreachable`),
//! which the host sees as a trap. A heap whose free was misused cannot be
//! trusted with another call, so ending the process is the only safe answer;
//! in particular unwinding out of `GlobalAlloc` is undefined behaviour.
//!
//! Checking mode is for tests and debugging: it costs a walk of the heap's
//! lists on every free and a pass over the block on every free and reuse.

/// The byte a freed block is filled with in checking mode (past the words
/// the strategy keeps in a free block); a block handed out again must still
/// hold it, or something wrote to it after it was freed.
pub const POISON: u8 = 0xDF;

/// A misuse of an allocator that checking mode detects, each named in the
/// report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// A block freed a second time (it is already free).
    DoubleFree,
    /// A pointer the heap did not hand out: not in any memory it holds, or
    /// in memory it holds but never gave out as a block.
    NotOwned,
    /// A pointer inside a block, not at its start.
    Interior,
    /// A block freed with a size or alignment that its allocation could not
    /// have had (another size class, or another kind of block).
    WrongLayout,
    /// A freed block written to before it was handed out again: its poison
    /// or its free-list link changed.
    WriteAfterFree,
}

impl Misuse {
    /// The words the report names the misuse with.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::DoubleFree => "double free",
            Self::NotOwned => "free of a pointer this heap does not own",
            Self::Interior => "free of an interior pointer",
            Self::WrongLayout => "free with the wrong size or alignment",
            Self::WriteAfterFree => "write after free",
        }
    }
}

impl core::fmt::Display for Misuse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// The longest report line: prefix, strategy, message, address, newline.
const LINE: usize = 160;

/// Writes `bytes` into `buf` from `at`, as far as they fit; returns the new
/// end.
fn put(buf: &mut [u8; LINE], at: usize, bytes: &[u8]) -> usize {
    let n = bytes.len().min(LINE - at);
    buf[at..at + n].copy_from_slice(&bytes[..n]);
    at + n
}

/// The report line for `misuse` by `strategy` at `addr`, in `buf`; returns
/// its length.
fn format(buf: &mut [u8; LINE], misuse: Misuse, strategy: &str, addr: usize) -> usize {
    let mut at = put(buf, 0, b"polyalloc checking (");
    at = put(buf, at, strategy.as_bytes());
    at = put(buf, at, b"): ");
    at = put(buf, at, misuse.message().as_bytes());
    at = put(buf, at, b" at 0x");
    let digits = usize::BITS as usize / 4;
    let mut hex = [0u8; usize::BITS as usize / 4];
    for (i, d) in hex.iter_mut().enumerate() {
        let nibble = (addr >> ((digits - 1 - i) * 4)) & 0xF;
        *d = b"0123456789abcdef"[nibble];
    }
    at = put(buf, at, &hex);
    put(buf, at, b"\n")
}

/// Reports `misuse` of the `strategy` heap at address `addr` and ends the
/// process (module docs): never returns, never allocates, never unwinds.
#[cold]
#[inline(never)]
pub fn report(misuse: Misuse, strategy: &'static str, addr: usize) -> ! {
    let mut buf = [0u8; LINE];
    let len = format(&mut buf, misuse, strategy, addr);
    crate::source::abort_with(&buf[..len])
}

/// Fills `len` bytes at `p` with [`POISON`].
///
/// # Safety
///
/// `len` bytes at `p` are writable and not in use.
#[inline]
pub unsafe fn poison(p: *mut u8, len: usize) {
    // SAFETY: from the caller.
    unsafe { p.write_bytes(POISON, len) };
}

/// Whether `len` bytes at `p` all still hold [`POISON`].
///
/// # Safety
///
/// `len` bytes at `p` are readable and initialised (a block poisoned with
/// [`poison`] is).
#[must_use]
#[inline]
pub unsafe fn is_poisoned(p: *const u8, len: usize) -> bool {
    // SAFETY: from the caller.
    let bytes = unsafe { core::slice::from_raw_parts(p, len) };
    bytes.iter().all(|&b| b == POISON)
}

/// The largest free block a strategy keeps poisoned: a larger one (a fresh
/// span, a heap freed whole, the span of a huge alignment) is left alone,
/// so checking mode never writes over memory the program has not used.
pub const POISON_CAP: usize = 256 * 1024;

/// Poisons the free block of `size` bytes at `block`, from `skip` bytes in
/// to `keep_end` bytes before its end (the words the strategy keeps in a
/// free block: links, a tag, a footer), if the block is at most
/// [`POISON_CAP`] bytes. A strategy that does this wherever a free block is
/// made can verify any part of one with [`poisoned_within`].
///
/// # Safety
///
/// `size` bytes at `block` are writable and not in use.
#[inline]
pub unsafe fn poison_free_block(block: *mut u8, size: usize, skip: usize, keep_end: usize) {
    if size <= POISON_CAP && size > skip + keep_end {
        // SAFETY: the range lies inside the block (from the caller).
        unsafe { poison(block.add(skip), size - skip - keep_end) };
    }
}

/// Whether bytes `skip..end` of the free block of `size` bytes at `block`
/// still hold [`POISON`]: always true for a block above [`POISON_CAP`]
/// (never poisoned, see [`poison_free_block`]) and for an empty range.
///
/// # Safety
///
/// The block was poisoned with [`poison_free_block`] with this `skip` when
/// it was made, and `end` is at most its size less the kept end.
#[must_use]
#[inline]
pub unsafe fn poisoned_within(block: *const u8, size: usize, skip: usize, end: usize) -> bool {
    // SAFETY: the range lies in the poisoned part of the block (from the
    // caller).
    size > POISON_CAP || end <= skip || unsafe { is_poisoned(block.add(skip), end - skip) }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn the_line_names_strategy_misuse_and_address() {
        let mut buf = [0u8; LINE];
        let len = format(&mut buf, Misuse::DoubleFree, "slab", 0x1234_abcd);
        let line = core::str::from_utf8(&buf[..len]).unwrap();
        let width = usize::BITS as usize / 4;
        let expected_addr = "0".repeat(width - 8) + "1234abcd";
        assert_eq!(
            line,
            format_args!("polyalloc checking (slab): double free at 0x{expected_addr}\n")
                .to_string()
        );
    }

    #[test]
    fn the_line_is_cut_not_overrun() {
        let mut buf = [0u8; LINE];
        let long = "x".repeat(400);
        let len = format(&mut buf, Misuse::WrongLayout, &long, usize::MAX);
        assert_eq!(len, LINE);
    }

    #[test]
    fn poison_is_seen_and_a_changed_byte_is_not() {
        let mut block = [0u8; 40];
        // SAFETY: a local buffer of 40 bytes.
        unsafe {
            poison(block.as_mut_ptr(), 40);
            assert!(is_poisoned(block.as_ptr(), 40));
        }
        block[39] = 0;
        // SAFETY: as above.
        assert!(!unsafe { is_poisoned(block.as_ptr(), 40) });
    }

    #[test]
    fn free_blocks_are_poisoned_between_the_kept_words_up_to_the_cap() {
        let mut block = [0u8; 64];
        // SAFETY: a local buffer of 64 bytes, used as a free block.
        unsafe {
            poison_free_block(block.as_mut_ptr(), 64, 24, 8);
            assert!(poisoned_within(block.as_ptr(), 64, 24, 56));
        }
        assert_eq!(block[..24], [0; 24]);
        assert_eq!(block[56..], [0; 8]);
        block[40] = 1;
        // SAFETY: as above.
        unsafe {
            assert!(!poisoned_within(block.as_ptr(), 64, 24, 56));
            assert!(poisoned_within(block.as_ptr(), 64, 24, 40));
            // Above the cap nothing was poisoned, and nothing is checked.
            assert!(poisoned_within(block.as_ptr(), POISON_CAP + 1, 24, 56));
        }
    }

    #[test]
    fn every_misuse_has_its_own_words() {
        let all = [
            Misuse::DoubleFree,
            Misuse::NotOwned,
            Misuse::Interior,
            Misuse::WrongLayout,
            Misuse::WriteAfterFree,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!a.message().contains(b.message()) && !b.message().contains(a.message()));
            }
        }
    }
}
