//! The seeded random churn: allocations, frees and reallocations in no
//! particular order.

use crate::{InputError, Rng, header};

/// Slots the churn keeps blocks in.
const SLOTS: usize = 64;

/// Runs the churn described by `input` ([`churn_input`]) and returns 16
/// little-endian bytes: a checksum of every block's contents as it went
/// (`u64`), then the blocks (`u32`) and bytes (`u32`) live at the end.
///
/// Each operation picks a slot and, at random: puts a new block of 1 B to
/// 4 KiB there (freeing the one it held), frees the slot's block, resizes
/// it (grow or shrink, with `shrink_to_fit`), or reads it into the checksum.
pub fn churn(input: &[u8]) -> Result<Vec<u8>, InputError> {
    let head: [u8; 12] = header(input)?;
    let (seed, ops) = head.split_at(8);
    let seed = u64::from_le_bytes(seed.try_into().expect("8 bytes"));
    let ops = u32::from_le_bytes(ops.try_into().expect("4 bytes"));
    let mut rng = Rng::new(seed);
    let mut slots: Vec<Option<Vec<u8>>> = (0..SLOTS).map(|_| None).collect();
    let mut sum = 0u64;
    for op in 0..ops {
        let slot = &mut slots[rng.below(SLOTS as u64) as usize];
        match rng.below(4) {
            0 => {
                let len = size(&mut rng);
                *slot = Some((0..len).map(|i| (i as u32 ^ op) as u8).collect());
            }
            1 => *slot = None,
            2 => {
                if let Some(block) = slot {
                    let len = size(&mut rng);
                    block.resize(len, op as u8);
                    block.shrink_to_fit();
                }
            }
            _ => {
                if let Some(block) = slot {
                    sum = block
                        .iter()
                        .fold(sum, |s, &b| s.rotate_left(5) ^ u64::from(b));
                }
            }
        }
    }
    let live = slots.iter().flatten();
    let blocks = live.clone().count() as u32;
    let bytes: usize = live.map(Vec::len).sum();
    let mut out = sum.to_le_bytes().to_vec();
    out.extend_from_slice(&blocks.to_le_bytes());
    out.extend_from_slice(&(bytes as u32).to_le_bytes());
    Ok(out)
}

/// Block sizes: mostly small, one in eight up to 4 KiB.
fn size(rng: &mut Rng) -> usize {
    if rng.below(8) == 0 {
        1 + rng.below(4096) as usize
    } else {
        1 + rng.below(128) as usize
    }
}

/// The input of [`churn`]: `ops` operations from `seed`.
#[must_use]
pub fn churn_input(seed: u64, ops: u32) -> Vec<u8> {
    let mut input = seed.to_le_bytes().to_vec();
    input.extend_from_slice(&ops.to_le_bytes());
    input
}
