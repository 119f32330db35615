//! Bad input and failure: what an allocator is handed beyond the happy path.
//!
//! The rules (from the design brief): failure is a value (`Err`, or null
//! from `GlobalAlloc`), never a panic; the heap stays consistent and usable
//! after any failure; zero-size requests get a dangling, aligned pointer;
//! any alignment a `Layout` can express works or fails cleanly; size and
//! alignment arithmetic never overflows silently. Each test also fails if a
//! block it gets is misaligned, overlaps a live block or lies outside its
//! region (through [`LiveSet`](crate::LiveSet)), or if the heap walk or the
//! counters disagree.
//!
//! - [`zero_size`]: zero-size requests, through the adapters and the core;
//! - [`alignment`]: alignments above a page, sizes near `isize::MAX`,
//!   reallocs whose size overflows;
//! - [`exhaustion`]: out of memory, failed grows, reset, reuse.

pub mod alignment;
pub mod exhaustion;
pub mod zero_size;

pub use alignment::{
    alignment_above_a_page, huge_sizes_fail_cleanly, realloc_overflow_returns_null,
};
pub use exhaustion::{
    alloc_free_cycles_do_not_leak, failed_grow_keeps_the_block, freed_memory_is_reused,
    out_of_memory_on_a_small_region, reset_reclaims_memory,
};
pub use zero_size::{
    zero_size_in_the_core, zero_size_is_dangling_and_aligned, zero_size_through_global_alloc,
};

/// Whether to send impossible requests to the default source: Miri stops the
/// program on a mapping larger than the machine, and cannot unmap part of a
/// mapping (how `mmap` meets alignments above a page), where the kernel
/// fails or does it cleanly. Under Miri those parts run over regions only.
pub(crate) const STRESS_DEFAULT_SOURCE: bool = !cfg!(miri);
