//! polyalloc's bump allocator.
//!
//! Allocation moves one offset forward. Freeing the most recent block moves it
//! back; freeing any other block does nothing but count a *failed
//! deallocation*. [`reset`](polyalloc_core::Heap::reset) returns the offset to
//! the start, keeping the memory, so that a FaaS guest reuses the same hot
//! pages on every invocation. Growing or shrinking the most recent block
//! happens in place, so a `Vec` or `String` being built at the top never
//! copies.
//!
//! - [`BumpHeap`] is the single-threaded core, over any
//!   [`Source`](polyalloc_core::Source): the platform's (default) or a region
//!   you own.
//! - [`BumpAlloc`] is the ready-to-use, thread-safe global allocator.
//!
//! ```
//! use polyalloc_bump::BumpAlloc;
//!
//! #[global_allocator]
//! static ALLOC: BumpAlloc = BumpAlloc::new();
//!
//! let v: Vec<u32> = (0..100).collect();
//! assert_eq!(v.iter().sum::<u32>(), 4950);
//! ```
//!
//! As an allocator-api2 `Allocator` over a buffer you own:
//!
//! ```
//! use allocator_api2::vec::Vec;
//! use polyalloc_bump::{BumpHeap, LockedHeap};
//! use polyalloc_core::source::RegionSource;
//!
//! let mut buf = [0u8; 4096];
//! // SAFETY: `buf` outlives the heap and is only used through it.
//! let source = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
//! let arena = LockedHeap::with_heap(BumpHeap::with_source(source));
//! let mut v = Vec::new_in(&arena);
//! v.extend_from_slice(b"hello");
//! assert_eq!(&v[..], b"hello");
//! ```
//!
//! See `docs/bump.md` for the invariants and the cost of each operation.

#![no_std]

mod heap;

pub use heap::{BumpHeap, Checkpoint, RewindError};
pub use polyalloc_core::{Counting, LockedHeap, Uncounted};

/// The thread-safe bump allocator on the platform's default source (`mmap`
/// on unix, `memory.grow` on wasm32).
///
/// `BumpAlloc` counts only the bytes it reserves, keeping the fast path to an
/// offset move; `BumpAlloc<Counting>` keeps every counter of
/// [`Stats`](polyalloc_core::Stats) (allocations, frees, failed frees, live
/// and peak bytes) for two more additions per allocation.
///
/// ```
/// use polyalloc_bump::{BumpAlloc, Counting};
/// use allocator_api2::alloc::{Allocator, Layout};
///
/// static HEAP: BumpAlloc = BumpAlloc::new();
/// let block = (&HEAP).allocate(Layout::new::<[u64; 4]>()).unwrap();
/// assert_eq!(block.len(), 32);
///
/// static COUNTED: BumpAlloc<Counting> = BumpAlloc::new();
/// let _ = (&COUNTED).allocate(Layout::new::<u64>()).unwrap();
/// assert_eq!(COUNTED.stats().allocations, 1);
/// ```
pub type BumpAlloc<R = Uncounted> = LockedHeap<BumpHeap<polyalloc_core::DefaultSource, R>>;
