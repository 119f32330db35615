//! polyalloc's slab allocator: small objects by size class.
//!
//! Requests up to 16 KiB are rounded up to one of 36 *size classes* (16-byte
//! steps to 128 bytes, then four classes per power of two, so a block wastes
//! at most a quarter of its class). Each class serves its blocks from
//! *slabs*: 64 KiB spans aligned to 64 KiB, carved into equal slots with an
//! intrusive free list. A block has no header: its slab is found by masking
//! its address, so allocation and free take constant time. Each new slab of
//! a class starts its slots a different number of cache lines in (*cache
//! colouring*), so same-size blocks in different slabs do not all share the
//! same cache sets. Larger requests, and alignments above 64 bytes, take a
//! span of their own (the large-object path).
//!
//! - [`SlabHeap`] is the single-threaded core, over any
//!   [`Source`](polyalloc_core::Source): the platform's (default) or a region
//!   you own.
//! - [`SlabAlloc`] is the ready-to-use, thread-safe global allocator.
//!
//! ```
//! use polyalloc_slab::SlabAlloc;
//!
//! #[global_allocator]
//! static ALLOC: SlabAlloc = SlabAlloc::new();
//!
//! let mut v: Vec<u32> = (0..100).collect();
//! v.retain(|x| x % 3 == 0);
//! assert_eq!(v.iter().sum::<u32>(), 1683);
//! ```
//!
//! As an allocator-api2 `Allocator` over a buffer you own:
//!
//! ```
//! use allocator_api2::vec::Vec;
//! use polyalloc_core::source::RegionSource;
//! use polyalloc_slab::{LockedHeap, SlabHeap};
//!
//! let mut buf = vec![0u8; 512 * 1024];
//! // SAFETY: `buf` outlives the heap and is only used through it.
//! let source = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
//! let heap = LockedHeap::with_heap(SlabHeap::with_source(source));
//! let mut v = Vec::new_in(&heap);
//! v.extend_from_slice(b"hello");
//! drop(v);
//! // Slabs came from the buffer, and nothing else.
//! let reserved = heap.stats().bytes_reserved;
//! assert!(reserved > 0 && reserved <= 512 * 1024);
//! ```
//!
//! See `docs/slab.md` for the classes, the layout, the invariants and the
//! cost of each operation.

#![no_std]

mod class;
mod heap;

pub use class::{CLASSES, Class, MAX_ALIGN, MAX_SMALL, QUICK_MAX, SLAB, class_size, quick_class};
pub use heap::SlabHeap;
pub use polyalloc_core::{Counting, LockedHeap, Uncounted};

/// The thread-safe slab allocator on the platform's default source (`mmap`
/// on unix, `memory.grow` on wasm32).
///
/// `SlabAlloc` counts only the bytes it reserves; `SlabAlloc<Counting>`
/// keeps every counter of [`Stats`](polyalloc_core::Stats) (allocations,
/// frees, live and peak bytes) for a few more additions per call.
///
/// ```
/// use allocator_api2::alloc::{Allocator, Layout};
/// use polyalloc_slab::{Counting, SlabAlloc};
///
/// static HEAP: SlabAlloc<Counting> = SlabAlloc::new();
/// let layout = Layout::new::<[u64; 4]>();
/// let block = (&HEAP).allocate(layout).unwrap();
/// assert!(block.len() >= 32);
/// assert_eq!(HEAP.stats().bytes_live, 32);
/// // SAFETY: `block` came from `HEAP` with `layout` and is not used again.
/// unsafe { (&HEAP).deallocate(block.cast(), layout) };
/// assert_eq!(HEAP.stats().bytes_live, 0);
/// ```
pub type SlabAlloc<R = Uncounted> = LockedHeap<SlabHeap<polyalloc_core::DefaultSource, R>>;

/// The self-hosted test run (`bash tests/selfhost.sh slab`, which sets
/// `--cfg polyalloc_selfhost_slab`): every binary that links this crate,
/// each test binary of the workspace among them, runs on `SlabAlloc`.
#[cfg(all(polyalloc_selfhost_slab, not(loom)))]
#[global_allocator]
static SELF_HOSTED: SlabAlloc = SlabAlloc::new();
