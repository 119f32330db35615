//! Allocation profiling for any polyalloc allocator, in the format of
//! DHAT, Valgrind's heap profiler.
//!
//! [`Profiled`] wraps an allocator (any `GlobalAlloc`, and any
//! allocator-api2 `Allocator` through `&Profiled<A>`) and records, for each
//! program point, what DHAT records: blocks and bytes allocated, their
//! lifetimes, the most live at once, what was live at the global peak and at
//! the end. [`Profiled::profile`] writes it as DHAT's JSON, which DHAT's
//! viewer (`dh_view.html`, shipped with Valgrind) opens.
//!
//! - On a std host (feature `std`), program points are backtraces, capped
//!   in depth ([`Config::depth`]) and named only when the profile is
//!   written; times are microseconds.
//! - Anywhere, and inside a wasm guest, points are [tags](tag) the program
//!   sets, and time counts allocations. [`guest_abi!`] exports the profile
//!   to the guest's host, which writes the file.
//!
//! The profiler's own tables live in a private heap ([`private`]) and never
//! in the allocator being profiled, which may be the global allocator.
//!
//! ```
//! use polyalloc_profile::{Config, Profiled};
//! use polyalloc_freelist::FreeListAlloc;
//!
//! // As a program's global allocator this would be
//! // `#[global_allocator] static ALLOC: Profiled<FreeListAlloc> = ...`.
//! static HEAP: Profiled<FreeListAlloc> =
//!     Profiled::with_config(FreeListAlloc::new(), Config::tags());
//!
//! let mut v = allocator_api2::vec::Vec::new_in(&HEAP);
//! polyalloc_profile::tagged("fill", || v.extend_from_slice(&[1u8; 100]));
//! let s = HEAP.summary();
//! assert_eq!((s.total_blocks, s.total_bytes, s.curr_bytes), (1, 100, 100));
//! let json = HEAP.profile();
//! assert!(json.as_str().contains("\"fill\""));
//! ```
//!
//! `docs/profiling.md` in the repository shows how to produce and open a
//! profile on a host and from a wasm guest.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod abi;
mod adapter;
#[cfg(feature = "std")]
mod capture;
mod config;
mod json;
mod point;
pub mod private;
#[cfg(feature = "std")]
mod symbols;
mod tables;
mod tag;

#[doc(hidden)]
pub use abi::AbiSlot;
pub use config::{Clock, Config, DEFAULT_DEPTH, Points};
pub use json::Profile;
pub use point::MAX_FRAMES;
pub use tables::Summary;
pub use tag::{TagGuard, current_tag, set_tag, tag, tagged};

use polyalloc_core::sync::Lock;

use point::PointKey;
use tables::Tables;

/// An allocator that records every allocation it serves, per program point,
/// for a DHAT profile. See the [crate docs](crate).
pub struct Profiled<A> {
    inner: A,
    config: Config,
    state: Lock<State>,
}

/// The tables and the clock, behind the lock.
pub(crate) struct State {
    pub(crate) tables: Tables,
    /// Allocations and reallocations recorded (the [`Clock::Allocations`]
    /// clock).
    events: u64,
    /// When the first event was recorded (the [`Clock::Micros`] clock).
    #[cfg(feature = "std")]
    start: Option<std::time::Instant>,
}

impl State {
    const fn new() -> Self {
        Self {
            tables: Tables::new(),
            events: 0,
            #[cfg(feature = "std")]
            start: None,
        }
    }

    /// The time now; `tick` for an allocation or reallocation.
    #[inline]
    pub(crate) fn now(&mut self, config: &Config, tick: bool) -> u64 {
        if tick {
            self.events += 1;
        }
        #[cfg(feature = "std")]
        if config.uses_micros() {
            let start = *self.start.get_or_insert_with(std::time::Instant::now);
            return start.elapsed().as_micros() as u64;
        }
        let _ = config;
        self.events
    }
}

impl<A> Profiled<A> {
    /// Profiles `inner` with the default [`Config`]: backtraces where the
    /// `std` feature is on, tags otherwise.
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self::with_config(inner, Config::new())
    }

    /// Profiles `inner` with `config`.
    #[must_use]
    pub const fn with_config(inner: A, config: Config) -> Self {
        Self {
            inner,
            config,
            state: Lock::new(State::new()),
        }
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The run-wide counts so far (what dhat-rs's `HeapStats` gives).
    pub fn summary(&self) -> Summary {
        self.state.with(|s| s.tables.summary())
    }

    /// Runs `f` with the thread marked as inside the profiler when recording
    /// may start now, else returns `None` (the call is to be passed through).
    #[inline]
    fn recording<R>(&self, f: impl FnOnce(&mut State, &Config) -> R) -> Option<R> {
        #[cfg(feature = "std")]
        let _inside = capture::Inside::enter()?;
        Some(self.state.with(|s| f(s, &self.config)))
    }

    /// The program point of an allocation made now.
    #[inline(always)]
    fn point(&self) -> PointKey {
        #[cfg(feature = "std")]
        if self.config.uses_backtraces() {
            return capture::backtrace(self.config.depth);
        }
        PointKey::Tag(current_tag())
    }

    /// Records a new block. Its point is found before the lock is taken:
    /// capturing a backtrace takes the backtrace library's lock, which a
    /// thread holding it may be waiting on ours to allocate.
    #[inline]
    pub(crate) fn record_alloc(&self, addr: usize, size: usize) {
        #[cfg(feature = "std")]
        let Some(_inside) = capture::Inside::enter() else {
            return;
        };
        let key = self.point();
        self.state.with(|s| {
            let now = s.now(&self.config, true);
            s.tables.alloc(addr, size, now, &key);
        });
    }

    /// Records a free.
    #[inline]
    pub(crate) fn record_free(&self, addr: usize) {
        self.recording(|s, c| {
            let now = s.now(c, false);
            s.tables.free(addr, now);
        });
    }

    /// Runs `op`, a reallocation of the block at `old`, under the lock, and
    /// records the move `moved` reads from its result: the new address and
    /// size, or `None` when it failed. Holding the lock across the inner
    /// call keeps another thread from being handed the old address and
    /// recording it before the move is recorded. (A reallocation of a block
    /// never seen is charged to a point found under the lock: the rare case
    /// where a backtrace is captured while it is held.)
    #[inline]
    pub(crate) fn moving<T>(
        &self,
        old: usize,
        op: impl FnOnce() -> T,
        moved: impl FnOnce(&T) -> Option<(usize, usize)>,
    ) -> T {
        #[cfg(feature = "std")]
        let Some(_inside) = capture::Inside::enter() else {
            return op();
        };
        self.state.with(|s| {
            let out = op();
            if let Some((new, new_size)) = moved(&out) {
                let now = s.now(&self.config, true);
                s.tables.realloc(old, new, new_size, now, || self.point());
            }
            out
        })
    }

    /// The profile so far, as DHAT's JSON (built in the private heap).
    ///
    /// Blocks still live count as live at the end (`eb`, `ebk`), with
    /// lifetimes up to now. On a std host this symbolises the backtraces
    /// (slow the first time: the debug info is read); every allocation the
    /// profiler makes meanwhile is passed through unrecorded.
    pub fn profile(&self) -> Profile {
        #[cfg(feature = "std")]
        let Some(_inside) = capture::Inside::enter() else {
            return Profile::empty();
        };
        json::write(self)
    }

    /// Writes the profile to the file at `path` (see [`profile`](Self::profile)).
    ///
    /// # Errors
    ///
    /// What creating or writing the file returns.
    #[cfg(feature = "std")]
    pub fn write_file(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let profile = self.profile();
        let _inside = capture::Inside::enter();
        std::fs::write(path, profile.as_bytes())
    }

    pub(crate) fn state(&self) -> &Lock<State> {
        &self.state
    }
}

impl<A: Default> Default for Profiled<A> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl<A> core::fmt::Debug for Profiled<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Profiled")
            .field("config", &self.config)
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}
