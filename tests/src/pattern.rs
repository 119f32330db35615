//! The fill pattern written into every block the suite holds.
//!
//! A block tagged `t` holds the bytes of a fixed pseudo-random table starting
//! at `t % PERIOD`, so a block overwritten by another, handed out twice, or
//! moved without (or with shifted) contents reads back wrong. Filling is a
//! `memcpy` from the table and checking a `memcmp` against it, cheap even in
//! debug builds; blocks longer than the table repeat it.

use core::ptr::NonNull;

/// Length of one repetition of the pattern: the largest block the model
/// makes, so its blocks compare in one piece.
const TABLE: usize = 64 * 1024;

/// Tags shift the pattern by up to this many bytes (a prime, so neighbouring
/// tags rarely line up).
const PERIOD: usize = 251;

/// The pattern, with `PERIOD` extra bytes so every tag has a full table.
static PATTERN: [u8; TABLE + PERIOD] = generate();

/// Fills the table from a xorshift generator at compile time.
const fn generate() -> [u8; TABLE + PERIOD] {
    let mut out = [0u8; TABLE + PERIOD];
    let mut x: u32 = 0x9E37_79B9;
    let mut i = 0;
    while i < out.len() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (x >> 24) as u8;
        i += 1;
    }
    out
}

/// The expected bytes `from..to` of a block tagged `tag`, as `(offset,
/// bytes)` pieces of at most one table each.
fn pieces(tag: usize, from: usize, to: usize) -> impl Iterator<Item = (usize, &'static [u8])> {
    let shift = tag % PERIOD;
    let mut pos = from;
    core::iter::from_fn(move || {
        if pos >= to {
            return None;
        }
        let in_table = pos % TABLE;
        let n = (TABLE - in_table).min(to - pos);
        let piece = &PATTERN[shift + in_table..shift + in_table + n];
        let at = pos;
        pos += n;
        Some((at, piece))
    })
}

/// Writes bytes `from..to` of `tag`'s pattern into the block at `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for writes of `to` bytes, with nothing else reading
/// or writing them meanwhile.
pub unsafe fn fill(ptr: NonNull<u8>, tag: usize, from: usize, to: usize) {
    for (at, piece) in pieces(tag, from, to) {
        // SAFETY: `at + piece.len() <= to`, inside the caller's block; the
        // table is a static, which no heap block overlaps.
        unsafe {
            ptr.as_ptr()
                .add(at)
                .copy_from_nonoverlapping(piece.as_ptr(), piece.len());
        }
    }
}

/// The offset of the first of the `len` bytes at `ptr` that differs from
/// `tag`'s pattern, or `None` if they all match.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` initialised bytes that nothing
/// writes meanwhile.
#[must_use]
pub unsafe fn first_mismatch(ptr: NonNull<u8>, tag: usize, len: usize) -> Option<usize> {
    for (at, want) in pieces(tag, 0, len) {
        // SAFETY: `at + want.len() <= len`, inside the caller's readable,
        // initialised block, which nothing mutates while the slice lives.
        let got = unsafe { core::slice::from_raw_parts(ptr.as_ptr().add(at), want.len()) };
        if got != want {
            let i = got.iter().zip(want).position(|(g, w)| g != w);
            return Some(at + i.unwrap_or(0));
        }
    }
    None
}

/// The byte `tag`'s pattern has at offset `at`, for messages.
#[must_use]
pub fn expected(tag: usize, at: usize) -> u8 {
    PATTERN[tag % PERIOD + at % TABLE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_then_check_round_trips_and_detects_shifts() {
        let mut buf = vec![0u8; TABLE + 1000];
        let ptr = NonNull::new(buf.as_mut_ptr()).unwrap();
        // SAFETY: `buf` is valid for its whole length and only used here.
        unsafe {
            fill(ptr, 7, 0, buf.len());
            assert_eq!(first_mismatch(ptr, 7, buf.len()), None);
            assert!(
                first_mismatch(ptr, 8, 100).is_some(),
                "another tag reads wrong"
            );
            *ptr.as_ptr().add(TABLE + 5) ^= 1;
            assert_eq!(first_mismatch(ptr, 7, buf.len()), Some(TABLE + 5));
        }
        assert_eq!(expected(7, 3), PATTERN[10]);
    }
}
