//! The conformance suite every polyalloc allocator plugs into.
//!
//! One generic suite, run by a macro for every allocator of the family
//! (rlsf's `gen_test!` habit): an allocator implements [`Candidate`] — how
//! to build its strategy core over a region the suite owns and over the
//! platform's default source — and its integration test is a few lines:
//!
//! The family's own candidates live in [`candidates`], so that the fuzz
//! targets drive the same configurations; an allocator's integration test is
//! then one line. Written out, a candidate is:
//!
//! ```
//! use polyalloc_bump::BumpHeap;
//! use polyalloc_core::Source;
//! use polyalloc_core::source::RegionSource;
//!
//! struct Bump;
//!
//! impl polyalloc_conformance::Candidate for Bump {
//!     const NAME: &'static str = "bump";
//!     const FREES_REUSE_MEMORY: bool = false;
//!     type RegionHeap = BumpHeap<RegionSource>;
//!     type DefaultHeap = BumpHeap;
//!
//!     fn over_region(source: RegionSource) -> Self::RegionHeap {
//!         BumpHeap::with_source(source)
//!     }
//!
//!     fn over_default() -> Self::DefaultHeap {
//!         BumpHeap::new()
//!     }
//!
//!     type Over<S: Source + Send + 'static> = BumpHeap<S>;
//!
//!     fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
//!         BumpHeap::with_source(source)
//!     }
//! }
//!
//! polyalloc_conformance::conformance_tests!(Bump);
//! # fn main() {}
//! ```
//!
//! Every test drives the core through [`LockedHeap`](polyalloc_core::LockedHeap)
//! and its adapters (allocator-api2's `Allocator`, `GlobalAlloc`), and walks
//! the heap with `LockedHeap::check` after every step.
//!
//! - [`model`]: a proptest model of random allocate / deallocate / grow /
//!   shrink / realloc / reset sequences against a shadow of the live blocks
//!   ([`live::LiveSet`], filled from [`pattern`]): alignment, overlap,
//!   contents, counters, `owns`.
//! - [`bad_input`]: zero sizes, alignments above a page, sizes near
//!   `isize::MAX`, overflowing reallocs, out of memory, failed grows, reset.
//! - [`api2`]: `allocator_api2::vec::Vec` and `hashbrown::HashMap` on a heap.
//! - [`global`]: the allocator as `#[global_allocator]` under std
//!   collections on several threads and a threaded stress test, through
//!   [`global_allocator_tests!`].
//! - [`faults`]: fault injection (a source failing every k-th request or
//!   past a cap) and the steady-state test.
//! - `misuse` (unix): checking-mode death tests, each misuse committed in a
//!   child process that must abort with the report naming it, through
//!   `misuse_tests!` (`tests/tests/checking.rs`, with the `checking`
//!   feature).
//! - [`fixture`] and [`checks`]: the heaps the tests build (a region the
//!   suite owns and frees after the heap, or the default source) and the
//!   checks they share.
//!
//! The model's size: `POLYALLOC_MODEL_CASES` (default 256) cases of
//! `POLYALLOC_MODEL_OPS` (default 1000) operations, from the seed in
//! `POLYALLOC_MODEL_SEED` (fixed by default; `random` for a fresh one).

pub mod api2;
pub mod bad_input;
pub mod candidate;
pub mod candidates;
pub mod checks;
pub mod faults;
pub mod fixture;
pub mod global;
pub mod live;
mod macros;
#[cfg(unix)]
pub mod misuse;
pub mod model;
pub mod pattern;

pub use candidate::Candidate;
pub use fixture::{RegionFixture, default_heap};
pub use live::{Block, LiveSet, Outcome};
