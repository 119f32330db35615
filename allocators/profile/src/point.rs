//! Program points: what an allocation is charged to.
//!
//! On a std host a point is the list of return addresses on the stack when
//! the allocation was made, captured without allocating and capped in
//! depth; the addresses are turned into names only when the profile is
//! written. Anywhere (a wasm guest has no backtraces) a point can instead be
//! a tag the program sets ([`tag`](crate::tag)).

use core::hash::{BuildHasher, Hash, Hasher};

/// The most frames a backtrace point keeps.
pub const MAX_FRAMES: usize = 48;

/// What an allocation is charged to.
///
/// Kept inline, not boxed: it is built on every allocation without
/// allocating, and only one per distinct point is stored.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub(crate) enum PointKey {
    /// The tag that was current, or `None` when none was.
    Tag(Option<&'static str>),
    /// Return addresses, innermost first: `frames[..len]` (made only with
    /// the `std` feature).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Frames {
        /// The addresses.
        frames: [usize; MAX_FRAMES],
        /// How many of them are used.
        len: u8,
    },
}

impl PointKey {
    /// The captured return addresses (empty for a tag).
    pub(crate) fn frames(&self) -> &[usize] {
        match self {
            PointKey::Tag(_) => &[],
            PointKey::Frames { frames, len } => &frames[..usize::from(*len)],
        }
    }
}

impl PartialEq for PointKey {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PointKey::Tag(a), PointKey::Tag(b)) => a == b,
            (PointKey::Frames { .. }, PointKey::Frames { .. }) => self.frames() == other.frames(),
            _ => false,
        }
    }
}

impl Eq for PointKey {}

impl Hash for PointKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            PointKey::Tag(tag) => tag.hash(state),
            PointKey::Frames { .. } => self.frames().hash(state),
        }
    }
}

/// A small multiplicative hasher (the Fx scheme) that needs no seed, so the
/// tables can be built in a `const` context, and no randomness source,
/// which a wasm guest may lack. Keys are addresses and short lists of them;
/// nothing here is exposed to untrusted input.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxBuild;

/// The hasher [`FxBuild`] builds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

impl BuildHasher for FxBuild {
    type Hasher = Fx;

    #[inline]
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}
