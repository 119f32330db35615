#![doc = include_str!("../../../README.md")]
#![no_std]

/// The shared layer: sources, the [`Heap`] trait, [`LockedHeap`], the
/// adapters.
pub use polyalloc_core as core;
pub use polyalloc_core::{Heap, LockedHeap, Stats};

/// The bump strategy: [`polyalloc_bump`].
#[cfg(feature = "bump")]
pub use polyalloc_bump as bump;
/// The thread-safe bump allocator on the platform's default source.
#[cfg(feature = "bump")]
pub use polyalloc_bump::BumpAlloc;

/// The free-list strategy: [`polyalloc_freelist`].
#[cfg(feature = "freelist")]
pub use polyalloc_freelist as freelist;
/// The thread-safe free-list allocator on the platform's default source.
#[cfg(feature = "freelist")]
pub use polyalloc_freelist::FreeListAlloc;

/// The buddy strategy: [`polyalloc_buddy`].
#[cfg(feature = "buddy")]
pub use polyalloc_buddy as buddy;
/// The thread-safe buddy allocator on the platform's default source.
#[cfg(feature = "buddy")]
pub use polyalloc_buddy::BuddyAlloc;

/// The adaptive meta-allocator: [`polyalloc_adaptive`].
#[cfg(feature = "adaptive")]
pub use polyalloc_adaptive as adaptive;
/// The thread-safe adaptive allocator on the platform's default source.
#[cfg(feature = "adaptive")]
pub use polyalloc_adaptive::AdaptiveAlloc;
/// The slab strategy: [`polyalloc_slab`].
#[cfg(feature = "slab")]
pub use polyalloc_slab as slab;
/// The thread-safe slab allocator on the platform's default source.
#[cfg(feature = "slab")]
pub use polyalloc_slab::SlabAlloc;

/// The thread-caching front end: [`polyalloc_threads`].
#[cfg(feature = "threads")]
pub use polyalloc_threads as threads;
/// A heap per thread (slab) with lock-free remote frees, the free list
/// shared for large blocks.
#[cfg(feature = "threads")]
pub use polyalloc_threads::ThreadAlloc;
