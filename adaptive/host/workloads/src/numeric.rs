//! The allocation-light workloads: most of their time is arithmetic, the
//! allocations are the JSON in and out.

use serde_json::{Value, json};

use crate::{InputError, Rng};

/// Over a JSON array of integers ([`pairs_input`]), looks at every pair
/// (O(n²)): how many pairs sum to a multiple of 7, the largest gap, and a
/// checksum of the pairs' products, as JSON.
pub fn pairs(input: &[u8]) -> Result<Vec<u8>, InputError> {
    let numbers: Vec<i64> = serde_json::from_slice(input).map_err(InputError::Json)?;
    let (mut sevens, mut max_gap, mut sum) = (0u64, 0u64, 0i64);
    for (i, &a) in numbers.iter().enumerate() {
        for &b in &numbers[i + 1..] {
            sevens += u64::from((a + b).rem_euclid(7) == 0);
            max_gap = max_gap.max(a.abs_diff(b));
            sum = sum.wrapping_add(a.wrapping_mul(b));
        }
    }
    let out = json!({ "n": numbers.len(), "sevens": sevens, "max_gap": max_gap, "sum": sum });
    Ok(serde_json::to_vec(&out).expect("a Value always serializes"))
}

/// The input of [`pairs`]: `n` integers from `seed`, as a JSON array.
#[must_use]
pub fn pairs_input(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let numbers: Vec<i64> = (0..n)
        .map(|_| rng.below(2_000_001) as i64 - 1_000_000)
        .collect();
    serde_json::to_vec(&numbers).expect("integers serialize")
}

/// Squares the matrix in the JSON input ([`matrix_input`]) and returns the
/// product as JSON (an array of rows).
pub fn matrix(input: &[u8]) -> Result<Vec<u8>, InputError> {
    let a: Vec<Vec<i64>> = serde_json::from_slice(input).map_err(InputError::Json)?;
    let n = a.len();
    if a.iter().any(|row| row.len() != n) {
        return Err(InputError::Field("rows"));
    }
    let mut c = vec![vec![0i64; n]; n];
    for (i, row) in c.iter_mut().enumerate() {
        for (k, &aik) in a[i].iter().enumerate() {
            for (cij, &akj) in row.iter_mut().zip(&a[k]) {
                *cij = cij.wrapping_add(aik.wrapping_mul(akj));
            }
        }
    }
    Ok(serde_json::to_vec(&Value::from(c)).expect("integers serialize"))
}

/// The input of [`matrix`]: an `n`×`n` matrix of small integers from
/// `seed`, as JSON.
#[must_use]
pub fn matrix_input(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let a: Vec<Vec<i64>> = (0..n)
        .map(|_| (0..n).map(|_| rng.below(100) as i64).collect())
        .collect();
    serde_json::to_vec(&a).expect("integers serialize")
}
