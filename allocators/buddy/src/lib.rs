//! polyalloc's buddy allocator: power-of-two blocks, split and merged.
//!
//! Every block is a power of two in size and aligned to its size. A request
//! takes the smallest free block of its order or above, halving it until it
//! fits; a free merges the block with its *buddy* (the other half of the
//! block it was split from) for as long as the buddy is free too. A bit per
//! buddy pair says whether the buddy is free, so no operation walks a list:
//! each costs at most a step per order. Alignments up to the block size cost
//! nothing, and a block grows in place by absorbing its free buddy.
//!
//! - [`BuddyHeap`] is the single-threaded core, over any
//!   [`Source`](polyalloc_core::Source): the platform's (default) or a region
//!   you own.
//! - [`BuddyAlloc`] is the ready-to-use, thread-safe global allocator.
//!
//! ```
//! use polyalloc_buddy::BuddyAlloc;
//!
//! #[global_allocator]
//! static ALLOC: BuddyAlloc = BuddyAlloc::new();
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
//! use polyalloc_buddy::{BuddyHeap, LockedHeap};
//! use polyalloc_core::source::RegionSource;
//!
//! let mut buf = vec![0u8; 256 * 1024];
//! // SAFETY: `buf` outlives the heap and is only used through it.
//! let source = unsafe { RegionSource::new(buf.as_mut_ptr(), buf.len()) };
//! let heap = LockedHeap::with_heap(BuddyHeap::with_source(source));
//! let mut v = Vec::new_in(&heap);
//! v.extend_from_slice(b"hello");
//! drop(v);
//! // Arenas came from the buffer, and nothing else.
//! let reserved = heap.stats().bytes_reserved;
//! assert!(reserved > 0 && reserved <= 256 * 1024);
//! ```
//!
//! See `docs/buddy.md` for the structure, the invariants and the cost of
//! each operation.

#![no_std]

mod heap;

pub use heap::BuddyHeap;
pub use polyalloc_core::{Counting, LockedHeap, Uncounted};

/// The thread-safe buddy allocator on the platform's default source
/// (`mmap` on unix, `memory.grow` on wasm32).
///
/// `BuddyAlloc` counts only the bytes it reserves; `BuddyAlloc<Counting>`
/// keeps every counter of [`Stats`](polyalloc_core::Stats) (allocations,
/// frees, live and peak bytes) for a few more additions per call.
///
/// ```
/// use allocator_api2::alloc::{Allocator, Layout};
/// use polyalloc_buddy::{BuddyAlloc, Counting};
///
/// static HEAP: BuddyAlloc<Counting> = BuddyAlloc::new();
/// let layout = Layout::new::<[u64; 4]>();
/// let block = (&HEAP).allocate(layout).unwrap();
/// assert!(block.len() >= 32);
/// assert_eq!(HEAP.stats().bytes_live, 32);
/// // SAFETY: `block` came from `HEAP` with `layout` and is not used again.
/// unsafe { (&HEAP).deallocate(block.cast(), layout) };
/// assert_eq!(HEAP.stats().bytes_live, 0);
/// ```
pub type BuddyAlloc<R = Uncounted> = LockedHeap<BuddyHeap<polyalloc_core::DefaultSource, R>>;

/// The self-hosted test run (`bash tests/selfhost.sh buddy`, which sets
/// `--cfg polyalloc_selfhost_buddy`): every binary that links this crate,
/// each test binary of the workspace among them, runs on `BuddyAlloc`.
#[cfg(all(polyalloc_selfhost_buddy, not(loom)))]
#[global_allocator]
static SELF_HOSTED: BuddyAlloc = BuddyAlloc::new();
