//! What a profiler charges allocations to, and what it measures time in.

/// Where program points come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Points {
    /// The call stack at each allocation (needs the `std` feature; without
    /// it, tags are used instead).
    Backtrace,
    /// The current [`tag`](crate::tag), on any target.
    Tags,
}

/// What the profile's times (`tg`, `te`, lifetimes) are measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Microseconds since the first recorded event (needs `std`; without
    /// it, allocations are counted instead). The file says `"tu":"µs"`.
    Micros,
    /// Allocations and reallocations recorded so far: the only clock a
    /// wasm guest has. The file says `"tu":"allocs"`.
    Allocations,
}

/// A profiler's settings, fixed when it is built (`const`).
///
/// ```
/// use polyalloc_profile::{Clock, Config, Points};
///
/// const GUEST: Config = Config::tags().command("my-function");
/// assert_eq!(GUEST.points, Points::Tags);
/// assert_eq!(GUEST.clock, Clock::Allocations);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where program points come from.
    pub points: Points,
    /// What times are measured in.
    pub clock: Clock,
    /// How many frames of a backtrace a point keeps, after the allocator's
    /// and the profiler's own frames are trimmed.
    pub depth: usize,
    /// The `cmd` the profile names where there is no command line (a
    /// guest); on a std host the command line is used.
    pub name: &'static str,
}

/// The default depth of a backtrace point.
pub const DEFAULT_DEPTH: usize = 8;

impl Config {
    /// Backtrace points and microseconds where `std` is on; tags and
    /// allocation counts otherwise.
    #[must_use]
    pub const fn new() -> Self {
        if cfg!(feature = "std") {
            Self::backtraces()
        } else {
            Self::tags()
        }
    }

    /// Backtrace points, [`DEFAULT_DEPTH`] frames deep, timed in
    /// microseconds.
    #[must_use]
    pub const fn backtraces() -> Self {
        Self {
            points: Points::Backtrace,
            clock: Clock::Micros,
            depth: DEFAULT_DEPTH,
            name: "polyalloc-profile",
        }
    }

    /// Tag points, timed in allocations: what a wasm guest uses, and what
    /// works on every target.
    #[must_use]
    pub const fn tags() -> Self {
        Self {
            points: Points::Tags,
            clock: Clock::Allocations,
            depth: DEFAULT_DEPTH,
            name: "polyalloc-profile",
        }
    }

    /// The same, keeping `depth` frames per backtrace point (at least 1;
    /// at most [`MAX_FRAMES`](crate::MAX_FRAMES) less the trimmed frames).
    #[must_use]
    pub const fn depth(mut self, depth: usize) -> Self {
        self.depth = if depth == 0 { 1 } else { depth };
        self
    }

    /// The same, timed by `clock`.
    #[must_use]
    pub const fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same, naming the profiled program `name` where it has no
    /// command line.
    #[must_use]
    pub const fn command(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Whether points are backtraces in this build.
    #[cfg(feature = "std")]
    pub(crate) const fn uses_backtraces(&self) -> bool {
        cfg!(feature = "std") && matches!(self.points, Points::Backtrace)
    }

    /// Whether times are microseconds in this build.
    pub(crate) const fn uses_micros(&self) -> bool {
        cfg!(feature = "std") && matches!(self.clock, Clock::Micros)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}
