//! The operations the model test draws, and how they are drawn.

use proptest::prelude::*;

/// The largest block the model asks for, in bytes.
pub const MAX_SIZE: usize = 64 * 1024;

/// One step of a model run. Blocks are picked by `which % live blocks`, so
/// a sequence means the same thing each time it is replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Allocate `size` bytes aligned to `align` (when the live set is at its
    /// cap, free block `size % live` instead).
    Alloc {
        /// Requested size.
        size: usize,
        /// Requested alignment, a power of two.
        align: usize,
    },
    /// Free a live block.
    Dealloc {
        /// Which block.
        which: u16,
    },
    /// Grow a live block by `extra` bytes (capped at [`MAX_SIZE`]) to a
    /// possibly different alignment.
    Grow {
        /// Which block.
        which: u16,
        /// Bytes to add.
        extra: usize,
        /// The new alignment.
        align: usize,
    },
    /// Shrink a live block to `keep / 65535` of its size, to a possibly
    /// different alignment.
    Shrink {
        /// Which block.
        which: u16,
        /// The fraction of the size to keep, in 65535ths.
        keep: u16,
        /// The new alignment.
        align: usize,
    },
    /// Resize a live block to `size` bytes (capped at [`MAX_SIZE`], at
    /// least 1) through `GlobalAlloc::realloc`, which keeps its alignment.
    /// Zero-size blocks are skipped: they never came from `GlobalAlloc`.
    Realloc {
        /// Which block.
        which: u16,
        /// The new size.
        size: usize,
    },
    /// Reset the heap, which ends every live block.
    Reset,
}

/// Sizes `0..=64 KiB`, skewed small: 70% under 256 bytes, 20% under 4 KiB.
pub fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        70 => 0..256usize,
        20 => 256..4096usize,
        10 => 4096..=MAX_SIZE,
    ]
}

/// Alignments `1..=4096`, powers of two, skewed small: 80% at most 16.
pub fn align() -> impl Strategy<Value = usize> {
    prop_oneof![
        80 => 0..=4u32,
        15 => 5..=8u32,
        5 => 9..=12u32,
    ]
    .prop_map(|shift| 1usize << shift)
}

/// One operation: mostly allocations and frees, some resizes (a few through
/// `GlobalAlloc::realloc`), a rare reset.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        450 => (size(), align()).prop_map(|(size, align)| Op::Alloc { size, align }),
        300 => any::<u16>().prop_map(|which| Op::Dealloc { which }),
        100 => (any::<u16>(), size(), align())
            .prop_map(|(which, extra, align)| Op::Grow { which, extra, align }),
        100 => (any::<u16>(), any::<u16>(), align())
            .prop_map(|(which, keep, align)| Op::Shrink { which, keep, align }),
        47 => (any::<u16>(), size()).prop_map(|(which, size)| Op::Realloc { which, size }),
        3 => Just(Op::Reset),
    ]
}
