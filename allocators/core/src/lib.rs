//! The shared layer of the polyalloc allocators.
//!
//! polyalloc is a family of allocators, one crate per strategy (bump, buddy,
//! slab, free list) plus an adaptive meta-allocator. This crate holds what
//! they all share, written once:
//!
//! ```text
//! source  ->  strategy core  ->  sync wrapper  ->  trait adapters  ->  adaptive
//! ```
//!
//! - [`source`]: where raw memory comes from (`mmap` on unix, `memory.grow`
//!   on wasm32, or a region the caller owns), behind the [`Source`] trait;
//! - [`Heap`]: the contract a strategy's single-threaded core implements;
//! - [`LockedHeap`]: the sync wrapper that makes a core `Sync` (a spin lock, or
//!   nothing at all on single-threaded wasm32), and [`HeapCell`], its
//!   single-threaded sibling for arenas one thread owns;
//! - [`adapter`]: `GlobalAlloc` and allocator-api2 0.2's `Allocator` for every
//!   `LockedHeap<H>` (and `Allocator` for every `HeapCell<H>`);
//! - [`layout`] and [`Stats`]: address arithmetic and counters;
//! - [`checking`]: what the strategies' checking mode (a cargo feature of
//!   each allocator crate) shares: the misuses it names and the report;
//! - [`Retention`]: how much entirely free memory a heap keeps rather than
//!   give it back to the source.
//!
//! It is `no_std` and never allocates.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
pub mod checking;
pub mod heap;
pub mod layout;
pub mod retain;
pub mod source;
pub mod stats;
pub mod sync;

pub use heap::{CheckError, Heap};
pub use retain::Retention;
pub use source::{ConstDefault, DefaultSource, Source, Span};
pub use stats::{Counting, Recorder, Stats, Uncounted};
pub use sync::{HeapCell, LockedHeap};

/// allocator-api2, re-exported so users name the same trait version polyalloc
/// implements (0.2).
pub use allocator_api2;
/// allocator-api2 0.4, re-exported when the `allocator-api2-04` feature is on.
#[cfg(feature = "allocator-api2-04")]
pub use allocator_api2_04;
