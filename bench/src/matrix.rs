//! Where an allocator places same-size blocks, and what that costs a
//! program: a naive matrix multiply over rows that are separate blocks.
//!
//! A buddy allocator aligns a block of order `k` to `2^k`, so a run of
//! 4 KiB blocks lands at exact 4 KiB strides. Walking a column of a matrix
//! stored that way touches one word per row, every one of them mapping to
//! the same cache set: the cache holds only as many rows as it has ways. An
//! allocator with a header before each block (glibc's malloc) puts the same
//! rows 4 KiB and a few bytes apart, spreading them over the sets.
//!
//! [`Matrices`] allocates `A`, `B` and `C` as [`N`] rows each of [`ROW`]
//! `f64`s (4 KiB, of which the first `N` are used), all of `A`, then all of
//! `B`, then all of `C`, as `vec![vec![0.0; ROW]; N]` would; the comparison
//! run times [`Matrices::multiply`] alone, `C = A × B` with the textbook
//! `i, j, k` loops, whose inner loop walks a column of `B`.

use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;

use crate::contestants::Contestant;

/// Rows and columns of each matrix.
pub const N: usize = 300;
/// `f64`s allocated per row: 4 KiB, a power of two.
pub const ROW: usize = 512;
/// Multiply-adds in one multiply.
pub const MULTIPLY_ADDS: u64 = (N * N * N) as u64;

const _: () = assert!(N <= ROW);

/// The layout of one row.
fn row_layout() -> Layout {
    Layout::new::<[f64; ROW]>()
}

/// Three `N × N` matrices whose rows are blocks of one contestant.
pub struct Matrices {
    a: Vec<NonNull<f64>>,
    b: Vec<NonNull<f64>>,
    c: Vec<NonNull<f64>>,
}

impl Matrices {
    /// Allocates the rows from `c` (`A`'s, then `B`'s, then `C`'s) and fills
    /// `A` and `B` with small integers (so every sum is exact), `C` with
    /// zeros. Every row is written whole, so no page is first touched by
    /// the multiply.
    pub fn new<C: Contestant>(c: &mut C) -> Self {
        let mut rows = |fill: &dyn Fn(usize, usize) -> f64| -> Vec<NonNull<f64>> {
            (0..N)
                .map(|i| {
                    let p = c.alloc(row_layout()).cast::<f64>();
                    for j in 0..ROW {
                        // SAFETY: a fresh block of `ROW` f64s, aligned for
                        // them.
                        unsafe { p.add(j).write(fill(i, j)) };
                    }
                    black_box(p)
                })
                .collect()
        };
        let a = rows(&|i, j| ((i + 2 * j) % 7) as f64);
        let b = rows(&|i, j| ((3 * i + j) % 5) as f64);
        let c = rows(&|_, _| 0.0);
        Self { a, b, c }
    }

    /// `C = A × B`, naively (`i`, `j`, then `k` innermost, down a column of
    /// `B`); returns the sum of `C`'s elements as a checksum.
    #[inline(never)]
    pub fn multiply(&mut self) -> f64 {
        let rows = |v: &[NonNull<f64>]| -> Vec<&[f64]> {
            v.iter()
                // SAFETY: each row is a live block of `ROW >= N` f64s,
                // initialised by `new`; nothing writes `A` or `B` while
                // these borrows live.
                .map(|p| unsafe { core::slice::from_raw_parts(p.as_ptr(), N) })
                .collect()
        };
        let a = rows(&self.a);
        let b = rows(&self.b);
        let b = black_box(&b[..]);
        let mut total = 0.0;
        for (i, &ci) in self.c.iter().enumerate() {
            // SAFETY: a live row of `C`, disjoint from every row of `A` and
            // `B` (distinct blocks), borrowed only here.
            let ci = unsafe { core::slice::from_raw_parts_mut(ci.as_ptr(), N) };
            let ai = a[i];
            for (j, cij) in ci.iter_mut().enumerate() {
                let mut sum = 0.0;
                for (k, &aik) in ai.iter().enumerate() {
                    sum += aik * b[k][j];
                }
                *cij = sum;
                total += sum;
            }
        }
        total
    }

    /// The most common distance in bytes between the starts of two
    /// consecutive rows of `B` (`None` if no distance repeats): 4,096 where
    /// the allocator packs 4 KiB blocks at power-of-two strides.
    #[must_use]
    pub fn row_stride(&self) -> Option<isize> {
        let mut gaps: Vec<isize> = self
            .b
            .windows(2)
            .map(|w| w[1].as_ptr().addr().wrapping_sub(w[0].as_ptr().addr()) as isize)
            .collect();
        gaps.sort_unstable();
        let mut best = None;
        let mut best_run = 1;
        for run in gaps.chunk_by(|x, y| x == y) {
            if run.len() > best_run {
                best_run = run.len();
                best = Some(run[0]);
            }
        }
        best
    }

    /// Frees every row.
    ///
    /// # Safety
    ///
    /// `c` is the contestant the rows were allocated from.
    pub unsafe fn free<C: Contestant>(self, c: &mut C) {
        for p in self.a.into_iter().chain(self.b).chain(self.c) {
            // SAFETY: a live row of `c` with this layout, freed once.
            unsafe { c.dealloc(p.cast(), row_layout()) };
        }
    }
}

/// The checksum [`Matrices::multiply`] returns, computed independently of any
/// allocator (for tests).
#[must_use]
pub fn expected_checksum() -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        for k in 0..N {
            let aik = ((i + 2 * k) % 7) as f64;
            let row_sum: f64 = (0..N).map(|j| ((3 * k + j) % 5) as f64).sum();
            total += aik * row_sum;
        }
    }
    total
}
