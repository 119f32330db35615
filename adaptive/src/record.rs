//! The record a host stores per function and hands back to the next
//! instance: the decision, and a summary of what was recorded.
//!
//! # Format (version 1)
//!
//! [`RECORD_LEN`] bytes, every integer little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `PLYA` |
//! | 4 | 1 | version (1) |
//! | 5 | 1 | strategy code ([`Strategy`]) |
//! | 6 | 1 | reason code ([`Reason`]) |
//! | 7 | 1 | flags: bit 0 set for a stateful function; other bits zero |
//! | 8 | 8 | invocations ended |
//! | 16 | 8 | strategy switches |
//! | 24 | 8 | the allocation count at the decision |
//! | 32 | 80 | ten `u64` counters of [`Usage`], in declaration order |
//! | 112 | 128 | the size histogram, 32 `u32` (saturated) |
//! | 240 | 4 | FNV-1a (32-bit) of bytes 0..240 |
//!
//! A record is checked before anything in it is used: its length, magic,
//! version, checksum, codes and flags, and that the histogram does not count
//! more allocations than the counter. Whatever fails comes back as a
//! [`RecordError`] naming the fault, and the heap keeps its defaults.

use core::fmt;

use crate::policy::{Decision, Reason, Strategy};
use crate::usage::{BUCKETS, Usage};

/// The length of a version-1 record.
pub const RECORD_LEN: usize = 244;

const MAGIC: [u8; 4] = *b"PLYA";
const VERSION: u8 = 1;
const FLAG_STATEFUL: u8 = 1;
const BODY: usize = RECORD_LEN - 4;

/// What a function's record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The strategy to start in, and why it was chosen.
    pub decision: Decision,
    /// Whether the function keeps its run heap across invocations.
    pub stateful: bool,
    /// Invocations ended so far.
    pub invocations: u64,
    /// Strategy switches so far.
    pub switches: u64,
    /// Every counter, over all invocations (the histogram saturates at
    /// `u32::MAX` per bucket when stored).
    pub usage: Usage,
}

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than [`RECORD_LEN`] bytes: cut off in storage or transfer.
    Truncated {
        /// The length received.
        len: usize,
    },
    /// Longer than [`RECORD_LEN`] bytes.
    TooLong {
        /// The length received.
        len: usize,
    },
    /// Not a polyalloc record (wrong magic bytes).
    Foreign,
    /// A record of a version this build does not read.
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The checksum does not match the contents.
    Corrupt,
    /// The checksum matches but a field holds an impossible value.
    Invalid {
        /// The field that is wrong.
        field: &'static str,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { len } => write!(
                f,
                "adaptive record truncated: {len} bytes, a version-{VERSION} record has {RECORD_LEN}"
            ),
            Self::TooLong { len } => write!(
                f,
                "adaptive record too long: {len} bytes, a version-{VERSION} record has {RECORD_LEN}"
            ),
            Self::Foreign => f.write_str("not a polyalloc adaptive record (bad magic bytes)"),
            Self::UnsupportedVersion { version } => write!(
                f,
                "adaptive record version {version} is not supported (this build reads {VERSION})"
            ),
            Self::Corrupt => f.write_str("adaptive record corrupt: checksum mismatch"),
            Self::Invalid { field } => write!(f, "adaptive record invalid: bad {field}"),
        }
    }
}

impl core::error::Error for RecordError {}

/// FNV-1a, 32 bits: enough to catch storage corruption (it is not meant to
/// stop a forger; the record only steers a choice between safe strategies).
fn checksum(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

struct Writer<'a> {
    out: &'a mut [u8; RECORD_LEN],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

fn counters(u: &mut Usage) -> [&mut u64; 10] {
    [
        &mut u.allocations,
        &mut u.deallocations,
        &mut u.failed_deallocations,
        &mut u.failed_bytes,
        &mut u.out_of_order_frees,
        &mut u.out_of_order_bytes,
        &mut u.reallocations,
        &mut u.bytes_allocated,
        &mut u.peak_bytes_live,
        &mut u.near_power_of_two,
    ]
}

impl Record {
    /// The record as bytes (the format in the module docs).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        let mut w = Writer {
            out: &mut out,
            at: 0,
        };
        w.put(&MAGIC);
        w.put(&[
            VERSION,
            self.decision.strategy as u8,
            self.decision.reason as u8,
            if self.stateful { FLAG_STATEFUL } else { 0 },
        ]);
        w.put(&self.invocations.to_le_bytes());
        w.put(&self.switches.to_le_bytes());
        w.put(&self.decision.at_allocation.to_le_bytes());
        let mut usage = self.usage;
        for c in counters(&mut usage) {
            w.put(&c.to_le_bytes());
        }
        for &n in &self.usage.histogram {
            w.put(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        let sum = checksum(&w.out[..BODY]);
        w.put(&sum.to_le_bytes());
        debug_assert_eq!(w.at, RECORD_LEN);
        out
    }

    /// Reads a record, checking everything first (see the module docs).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let len = bytes.len();
        if len >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
            return Err(RecordError::Foreign);
        }
        if len > MAGIC.len() && bytes[4] != VERSION {
            return Err(RecordError::UnsupportedVersion { version: bytes[4] });
        }
        if len < RECORD_LEN {
            return Err(RecordError::Truncated { len });
        }
        if len > RECORD_LEN {
            return Err(RecordError::TooLong { len });
        }
        let stored = u32::from_le_bytes([
            bytes[BODY],
            bytes[BODY + 1],
            bytes[BODY + 2],
            bytes[BODY + 3],
        ]);
        if checksum(&bytes[..BODY]) != stored {
            return Err(RecordError::Corrupt);
        }
        let strategy =
            Strategy::from_code(bytes[5]).ok_or(RecordError::Invalid { field: "strategy" })?;
        let reason = Reason::from_code(bytes[6]).ok_or(RecordError::Invalid { field: "reason" })?;
        let flags = bytes[7];
        if flags & !FLAG_STATEFUL != 0 {
            return Err(RecordError::Invalid { field: "flags" });
        }
        let mut r = Reader { bytes, at: 8 };
        let invocations = r.u64();
        let switches = r.u64();
        let at_allocation = r.u64();
        let mut usage = Usage::ZERO;
        for c in counters(&mut usage) {
            *c = r.u64();
        }
        let mut counted: u64 = 0;
        for slot in &mut usage.histogram {
            *slot = u64::from(u32::from_le_bytes(r.take()));
            counted = counted.saturating_add(*slot);
        }
        debug_assert_eq!(r.at, BODY);
        if counted > usage.allocations {
            return Err(RecordError::Invalid { field: "histogram" });
        }
        if at_allocation > usage.allocations {
            return Err(RecordError::Invalid {
                field: "decision point",
            });
        }
        Ok(Self {
            decision: Decision {
                strategy,
                reason,
                at_allocation,
            },
            stateful: flags & FLAG_STATEFUL != 0,
            invocations,
            switches,
            usage,
        })
    }
}

const _: () = assert!(BUCKETS == 32 && RECORD_LEN == 8 + 24 + 80 + 4 * BUCKETS + 4);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut usage = Usage::ZERO;
        usage.allocations = 1000;
        usage.deallocations = 990;
        usage.failed_deallocations = 500;
        usage.failed_bytes = 64_000;
        usage.peak_bytes_live = 12_345;
        usage.histogram[6] = 900;
        usage.histogram[12] = 100;
        usage.near_power_of_two = 100;
        Record {
            decision: Decision {
                strategy: Strategy::FreeList,
                reason: Reason::Waste,
                at_allocation: 700,
            },
            stateful: true,
            invocations: 7,
            switches: 1,
            usage,
        }
    }

    #[test]
    fn a_record_round_trips() {
        let r = sample();
        let bytes = r.to_bytes();
        assert_eq!(&bytes[..4], b"PLYA");
        assert_eq!(Record::from_bytes(&bytes), Ok(r));
    }

    #[test]
    fn truncated_long_foreign_and_future_records_are_refused() {
        let bytes = sample().to_bytes();
        for len in [0, 3, 4, 5, 100, RECORD_LEN - 1] {
            let e = Record::from_bytes(&bytes[..len]).unwrap_err();
            assert_eq!(e, RecordError::Truncated { len }, "{len} bytes");
        }
        let mut long = [0u8; RECORD_LEN + 1];
        long[..RECORD_LEN].copy_from_slice(&bytes);
        assert_eq!(
            Record::from_bytes(&long),
            Err(RecordError::TooLong {
                len: RECORD_LEN + 1
            })
        );
        let mut foreign = bytes;
        foreign[0] = b'X';
        assert_eq!(Record::from_bytes(&foreign), Err(RecordError::Foreign));
        let mut future = bytes;
        future[4] = 2;
        assert_eq!(
            Record::from_bytes(&future),
            Err(RecordError::UnsupportedVersion { version: 2 })
        );
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let bytes = sample().to_bytes();
        for i in 5..RECORD_LEN {
            for bit in 0..8 {
                let mut b = bytes;
                b[i] ^= 1 << bit;
                assert!(
                    Record::from_bytes(&b).is_err(),
                    "byte {i} bit {bit} flipped went unnoticed"
                );
            }
        }
    }

    #[test]
    fn impossible_fields_are_refused_even_with_a_good_checksum() {
        let reseal = |mut b: [u8; RECORD_LEN]| {
            let sum = checksum(&b[..BODY]);
            b[BODY..].copy_from_slice(&sum.to_le_bytes());
            b
        };
        let mut b = sample().to_bytes();
        b[5] = 9;
        assert_eq!(
            Record::from_bytes(&reseal(b)),
            Err(RecordError::Invalid { field: "strategy" })
        );
        let mut b = sample().to_bytes();
        b[7] = 0x80;
        assert_eq!(
            Record::from_bytes(&reseal(b)),
            Err(RecordError::Invalid { field: "flags" })
        );
        let mut r = sample();
        r.usage.histogram[3] = 5_000;
        assert_eq!(
            Record::from_bytes(&r.to_bytes()),
            Err(RecordError::Invalid { field: "histogram" })
        );
    }

    #[test]
    fn errors_name_the_fault() {
        extern crate std;
        use std::string::ToString;
        assert!(
            RecordError::Truncated { len: 3 }
                .to_string()
                .contains("truncated: 3 bytes")
        );
        assert!(RecordError::Corrupt.to_string().contains("checksum"));
    }
}
