//! polyalloc: a family of memory allocators for Rust, one dependency.
//!
//! Each strategy lives in its own crate and is re-exported here behind a
//! cargo feature of the same name:
//!
//! | feature | crate | global type |
//! |---|---|---|
//! | `bump` (default) | [`polyalloc_bump`](bump) | [`BumpAlloc`] |
//!
//! ```
//! #[global_allocator]
//! static ALLOC: polyalloc::BumpAlloc = polyalloc::BumpAlloc::new();
//!
//! let s = String::from("served by polyalloc");
//! assert!(s.ends_with("polyalloc"));
//! ```
//!
//! The shared layer (sources, the [`Heap`] trait, [`LockedHeap`]) is
//! re-exported as [`core`].

#![no_std]

pub use polyalloc_core as core;
pub use polyalloc_core::{Heap, LockedHeap, Stats};

/// The bump strategy: [`polyalloc_bump`].
#[cfg(feature = "bump")]
pub use polyalloc_bump as bump;
#[cfg(feature = "bump")]
pub use polyalloc_bump::BumpAlloc;
