//! The workloads polyalloc's wasm guests run, written once.
//!
//! Every guest module under `adaptive/host/guests/` is this crate plus a
//! `#[global_allocator]` and the exports [`guest_exports!`] writes; the
//! host's tests build the same functions natively and compare outputs byte
//! for byte. Each workload takes its input as bytes and returns its output
//! as bytes, so a host passes them through guest memory unchanged.
//!
//! | workload | input | output | what it asks of the allocator |
//! |---|---|---|---|
//! | [`churn`] | [`churn_input`]: seed, operation count | 16 bytes: checksum, blocks and bytes live | a seeded random mix of allocations, frees and reallocations, 1 B to 4 KiB |
//! | [`request`] | [`request_input`]: a JSON order | a JSON summary | parsing, maps and strings, serializing: the allocation-heavy request handler |
//! | [`Cache::serve`] | [`cache_input`]: a key | 17 bytes: hit flag, digest, hits, misses | state kept across invocations, bounded to [`CACHE_CAPACITY`] entries |
//! | [`pairs`] | [`pairs_input`]: a JSON array of integers | JSON | little: an O(n²) computation between JSON in and out |
//! | [`matrix`] | [`matrix_input`]: a JSON matrix | JSON: its square | little: a naive matrix multiply through JSON |
//! | [`fill`] | [`fill_input`]: a byte count | 8 bytes: a sum | one block of any size: the out-of-memory probe |
//!
//! ```
//! let input = polyalloc_workloads::request_input(7, 3);
//! let output = polyalloc_workloads::request(&input).unwrap();
//! assert!(output.starts_with(b"{"));
//! ```

mod cache;
mod churn;
#[doc(hidden)]
pub mod guest;
mod numeric;
mod request;

pub use cache::{CACHE_CAPACITY, Cache, cache_input};
pub use churn::{churn, churn_input};
pub use numeric::{matrix, matrix_input, pairs, pairs_input};
pub use request::{request, request_input};

use core::fmt;

/// Why a workload refused its input.
#[derive(Debug)]
pub enum InputError {
    /// The input is shorter than the workload's fixed-size header.
    Truncated {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        len: usize,
    },
    /// The request is not the JSON the handler expects.
    Json(serde_json::Error),
    /// The request's JSON lacks a field or has one of the wrong type.
    Field(&'static str),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { expected, len } => {
                write!(f, "input of {len} bytes, expected {expected}")
            }
            Self::Json(e) => write!(f, "request is not JSON: {e}"),
            Self::Field(name) => write!(f, "request field `{name}` missing or mistyped"),
        }
    }
}

impl std::error::Error for InputError {}

/// Allocates a block of `n` bytes, fills it and returns the sum of its
/// bytes as 8 little-endian bytes. Input: [`fill_input`]. A guest asked for
/// more than its memory can hold fails here (the global allocator's
/// failure ends the guest with a trap).
pub fn fill(input: &[u8]) -> Result<Vec<u8>, InputError> {
    let n = u32::from_le_bytes(header(input)?) as usize;
    let block = vec![7u8; n];
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    Ok(sum.to_le_bytes().to_vec())
}

/// The input of [`fill`]: a block of `n` bytes.
#[must_use]
pub fn fill_input(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// The first `N` bytes of `input`.
fn header<const N: usize>(input: &[u8]) -> Result<[u8; N], InputError> {
    input
        .get(..N)
        .and_then(|h| h.try_into().ok())
        .ok_or(InputError::Truncated {
            expected: N,
            len: input.len(),
        })
}

/// xorshift64: seeded, the same on every target.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` not zero).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_depend_only_on_input() {
        let input = churn_input(5, 2_000);
        assert_eq!(churn(&input).unwrap(), churn(&input).unwrap());
        assert_ne!(
            churn(&input).unwrap(),
            churn(&churn_input(6, 2_000)).unwrap()
        );
        let order = request_input(2, 30);
        assert_eq!(request(&order).unwrap(), request(&order).unwrap());
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(churn(&[1, 2]), Err(InputError::Truncated { .. })));
        assert!(matches!(request(b"{"), Err(InputError::Json(_))));
        assert!(matches!(request(b"{}"), Err(InputError::Field("user"))));
        assert!(matches!(
            matrix(b"[[1, 2]]"),
            Err(InputError::Field("rows"))
        ));
        assert!(Cache::new().serve(&[]).is_err());
    }

    #[test]
    fn cache_stays_bounded_and_hits() {
        let mut cache = Cache::new();
        for key in 0..200 {
            cache.serve(&cache_input(key)).unwrap();
        }
        assert_eq!(cache.len(), CACHE_CAPACITY);
        assert_eq!(cache.serve(&cache_input(199)).unwrap()[0], 1, "a hit");
        assert_eq!(cache.serve(&cache_input(0)).unwrap()[0], 0, "evicted");
    }

    #[test]
    fn matrix_squares() {
        let out = matrix(b"[[1, 2], [3, 4]]").unwrap();
        assert_eq!(out, b"[[7,10],[15,22]]");
        assert_eq!(fill(&fill_input(3)).unwrap(), 21u64.to_le_bytes());
    }
}
