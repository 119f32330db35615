//! polyalloc's free-list allocator: the general-purpose strategy.
//!
//! Every block can be freed in any order and its memory is reused at once.
//! Free blocks sit in segregated lists (two-level segregated fit: a level
//! per power of two, sixteen lists per level), found in constant time
//! through two bitmaps. Boundary tags merge a freed block with both free
//! neighbours in constant time. An allocated block costs one word of header;
//! a `Vec` that keeps pushing grows in place into the free block after it.
//!
//! - [`FreeListHeap`] is the single-threaded core, over any
//!   [`Source`](polyalloc_core::Source): the platform's (default) or a region
//!   you own.
//! - [`FreeListAlloc`] is the ready-to-use, thread-safe global allocator.
//!
//! ```
//! use polyalloc_freelist::FreeListAlloc;
//!
//! #[global_allocator]
//! static ALLOC: FreeListAlloc = FreeListAlloc::new();
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
//! use polyalloc_freelist::{FreeListHeap, LockedHeap};
//!
//! let mut buf = vec![0u8; 64 * 1024];
//! // SAFETY: `buf` outlives the heap and is only used through it.
//! let source = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
//! let heap = LockedHeap::with_heap(FreeListHeap::with_source(source));
//! let mut v = Vec::new_in(&heap);
//! v.extend_from_slice(b"hello");
//! drop(v);
//! // Spans came from the buffer, and nothing else.
//! let reserved = heap.stats().bytes_reserved;
//! assert!(reserved > 0 && reserved <= 64 * 1024);
//! ```
//!
//! See `docs/freelist.md` for the structure, the invariants and the cost of
//! each operation.

#![no_std]

mod heap;

pub use heap::FreeListHeap;
pub use polyalloc_core::{Counting, LockedHeap, Uncounted};

/// The thread-safe free-list allocator on the platform's default source
/// (`mmap` on unix, `memory.grow` on wasm32).
///
/// `FreeListAlloc` counts only the bytes it reserves; `FreeListAlloc<Counting>`
/// keeps every counter of [`Stats`](polyalloc_core::Stats) (allocations,
/// frees, live and peak bytes) for a few more additions per call.
///
/// ```
/// use allocator_api2::alloc::{Allocator, Layout};
/// use polyalloc_freelist::{Counting, FreeListAlloc};
///
/// static HEAP: FreeListAlloc<Counting> = FreeListAlloc::new();
/// let layout = Layout::new::<[u64; 4]>();
/// let block = (&HEAP).allocate(layout).unwrap();
/// assert!(block.len() >= 32);
/// assert_eq!(HEAP.stats().bytes_live, 32);
/// // SAFETY: `block` came from `HEAP` with `layout` and is not used again.
/// unsafe { (&HEAP).deallocate(block.cast(), layout) };
/// assert_eq!(HEAP.stats().bytes_live, 0);
/// ```
pub type FreeListAlloc<R = Uncounted> = LockedHeap<FreeListHeap<polyalloc_core::DefaultSource, R>>;

/// The self-hosted test run (`bash tests/selfhost.sh freelist`, which sets
/// `--cfg polyalloc_selfhost_freelist`): every binary that links this crate,
/// each test binary of the workspace among them, runs on `FreeListAlloc`.
#[cfg(all(polyalloc_selfhost_freelist, not(loom)))]
#[global_allocator]
static SELF_HOSTED: FreeListAlloc = FreeListAlloc::new();
