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

impl Op {
    /// Reads a sequence of operations from raw bytes, for fuzzers: every
    /// input means some sequence, sizes and alignments are skewed small as in
    /// the proptest strategies, and a trailing partial operation is dropped.
    #[must_use]
    pub fn decode_all(mut data: &[u8]) -> Vec<Op> {
        let mut ops = Vec::new();
        while let [tag, a, b, c, d, rest @ ..] = data {
            data = rest;
            let which = u16::from_le_bytes([*a, *b]);
            let size = decode_size(u16::from_le_bytes([*b, *c]));
            let align = decode_align(*d);
            ops.push(match tag % 16 {
                0..=6 => Op::Alloc { size, align },
                7..=10 => Op::Dealloc { which },
                11 | 12 => Op::Grow {
                    which,
                    extra: size,
                    align,
                },
                13 => Op::Shrink {
                    which,
                    keep: u16::from_le_bytes([*c, *d]),
                    align,
                },
                14 => Op::Realloc { which, size },
                // Resets end every block: keep them rare.
                _ if *tag == 255 => Op::Reset,
                _ => Op::Dealloc { which },
            });
        }
        ops
    }
}

/// Two bytes to a size in `0..=MAX_SIZE`, mostly small.
fn decode_size(raw: u16) -> usize {
    let raw = usize::from(raw);
    match raw >> 14 {
        0 | 1 => raw & 0xFF,
        2 => raw & 0xFFF,
        _ => (raw & 0x3FFF) * (MAX_SIZE / 0x3FFF),
    }
}

/// A byte to a power-of-two alignment in `1..=4096`, mostly at most 16.
fn decode_align(raw: u8) -> usize {
    let shift = if raw < 200 { raw % 5 } else { raw % 13 };
    1usize << shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_covers_every_kind_and_stays_in_range() {
        let bytes: Vec<u8> = (0..=255u8)
            .flat_map(|t| [t, t.wrapping_mul(7), 0xC3, t, t])
            .collect();
        let ops = Op::decode_all(&bytes);
        assert_eq!(ops.len(), 256);
        let mut kinds = [false; 6];
        for op in &ops {
            let (kind, size, align) = match *op {
                Op::Alloc { size, align } => (0, size, align),
                Op::Dealloc { .. } => (1, 0, 1),
                Op::Grow { extra, align, .. } => (2, extra, align),
                Op::Shrink { align, .. } => (3, 0, align),
                Op::Realloc { size, .. } => (4, size, 1),
                Op::Reset => (5, 0, 1),
            };
            kinds[kind] = true;
            assert!(size <= MAX_SIZE);
            assert!(align.is_power_of_two() && align <= 4096);
        }
        assert!(kinds.iter().all(|&k| k), "{kinds:?}");
        assert!(Op::decode_all(&[1, 2, 3]).is_empty());
    }
}
