//! polyalloc's thread-caching front end: a heap per thread for small
//! blocks, so a multi-threaded program's common path takes no lock and no
//! atomic read-modify-write.
//!
//! - Each thread allocates small blocks (up to 16 KiB at up to 64-byte
//!   alignment) from its own slab heap ([`polyalloc_slab::SlabHeap`]),
//!   found through one thread-local load.
//! - A block freed by the thread that holds its heap goes straight back to
//!   it. A block freed by any other thread is pushed on its heap's
//!   lock-free *remote-free list*; the owner takes the whole list back in
//!   one swap, once every [`COLLECT_EVERY`] allocations.
//! - The owner of a block is read from its slab's header, which each thread
//!   heap tags with its address; a thread without a heap of its own is
//!   served small blocks by the *orphan* heap, under a lock, so every small
//!   block has a tagged owner.
//! - When a thread exits its heap is *abandoned*, and the next thread that
//!   needs a heap *adopts* it: nothing is leaked, and a program that starts
//!   and ends threads all day keeps as many heaps as it ran threads at once.
//! - Larger blocks go to one shared free-list heap behind the family's lock,
//!   which spins briefly and then yields to the OS.
//!
//! Per-thread heaps need thread-local storage: enable the `std` feature
//! (host programs). Without it, and on wasm32 without the `atomics` target
//! feature, the per-thread path compiles away and every request takes the
//! shared heap.
//!
//! ```
//! use polyalloc_threads::ThreadAlloc;
//!
//! #[global_allocator]
//! static ALLOC: ThreadAlloc = ThreadAlloc::new();
//!
//! let handles: Vec<_> = (0..4)
//!     .map(|t| std::thread::spawn(move || (0..1000).map(|i| i * t).collect::<Vec<u64>>()))
//!     .collect();
//! let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap().iter().sum()).collect();
//! assert_eq!(sums[3], 3 * 499_500);
//! ```
//!
//! See `docs/threads.md` for the design, the invariants and the figures.

#![no_std]
// Under loom only the remote list and the registry are built, for their
// models.
#![cfg_attr(loom, allow(dead_code))]

mod atomic;
#[cfg(all(unix, feature = "std", not(loom)))]
mod fork;
#[cfg(not(loom))]
mod front;
#[cfg(not(loom))]
mod map;
#[cfg(not(loom))]
mod registered;
mod registry;
mod remote;
#[cfg(not(loom))]
mod tls;

#[cfg(not(loom))]
pub use front::{COLLECT_EVERY, ThreadCached, ThreadCore};
#[cfg(not(loom))]
pub use map::GRANULE;
#[cfg(not(loom))]
pub use registered::Registered;
pub use remote::{MIN_BLOCK, RemoteList};

pub use polyalloc_core::{Counting, Uncounted};

/// The ready-made thread-caching allocator: a slab heap per thread for
/// blocks up to 16 KiB, the free list shared for the rest, both on the
/// platform's source.
///
/// `ThreadAlloc<Counting>` keeps every counter in each heap.
#[cfg(not(loom))]
pub type ThreadAlloc<R = Uncounted> = ThreadCached<
    polyalloc_slab::SlabHeap<Registered, R>,
    polyalloc_freelist::FreeListHeap<polyalloc_core::DefaultSource, R>,
>;

/// The self-hosted test run (`bash tests/selfhost.sh threads`, which sets
/// `--cfg polyalloc_selfhost_threads`): every binary that links this crate,
/// each test binary of the workspace among them, runs on `ThreadAlloc`.
#[cfg(all(polyalloc_selfhost_threads, not(loom)))]
#[global_allocator]
static SELF_HOSTED: ThreadAlloc = ThreadAlloc::new();
