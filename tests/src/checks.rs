//! Checks shared by the suite's tests: the heap walk, the shadow's
//! contents and counters, and how a failure becomes a panic that names the
//! allocator.

use core::alloc::Layout;

use allocator_api2::alloc::Allocator;
use polyalloc_core::{Heap, LockedHeap};

use crate::candidate::Candidate;
use crate::live::{LiveSet, Outcome};

/// Panics with the candidate's name and the context if `outcome` failed.
///
/// # Panics
///
/// If `outcome` is an `Err`.
pub fn report<C: Candidate>(context: &str, outcome: Outcome) {
    if let Err(e) = outcome {
        panic!("{} ({context}): {e}", C::NAME);
    }
}

/// `Layout::from_size_align` as an [`Outcome`].
///
/// # Errors
///
/// If `size` and `align` make no `Layout`.
pub fn layout(size: usize, align: usize) -> Outcome<Layout> {
    Layout::from_size_align(size, align).map_err(|e| format!("bad layout {size}/{align}: {e}"))
}

/// The heap walk as an [`Outcome`].
///
/// # Errors
///
/// The broken invariant the walk reports.
pub fn walk<H: Heap>(heap: &LockedHeap<H>) -> Outcome {
    heap.check().map_err(|e| e.to_string())
}

/// Everything a test can check about the heap and the blocks it holds: the
/// walk, every block's contents, the counters (see
/// [`LiveSet::check_stats`] for `baseline`) and `owns` for every block.
///
/// # Errors
///
/// At the first check that fails.
pub fn consistent<H: Heap>(heap: &LockedHeap<H>, live: &LiveSet, baseline: u64) -> Outcome {
    consistent_but_contents(heap, live, baseline)?;
    live.verify_all()
}

/// [`consistent`] without reading the blocks' contents: the walk, the
/// counters and `owns`, whose cost does not grow with the bytes held.
///
/// # Errors
///
/// At the first check that fails.
pub fn consistent_but_contents<H: Heap>(
    heap: &LockedHeap<H>,
    live: &LiveSet,
    baseline: u64,
) -> Outcome {
    consistent_structure(heap, live, baseline)?;
    live.check_owned(|p| heap.owns(p))
}

/// The heap's own side of [`consistent`]: the walk and the counters, none
/// of whose cost grows with the blocks held. For a caller that checks each
/// block's contents and `owns` before the block leaves the set instead
/// (the fuzz targets: see `model::fuzz_one`).
///
/// # Errors
///
/// At the first check that fails.
pub fn consistent_structure<H: Heap>(
    heap: &LockedHeap<H>,
    live: &LiveSet,
    baseline: u64,
) -> Outcome {
    walk(heap)?;
    live.check_stats(&heap.stats(), baseline)
}

/// Frees every block in `live`, newest first, checking after each.
///
/// # Errors
///
/// At the first check that fails.
pub fn free_all<H: Heap>(heap: &LockedHeap<H>, live: &mut LiveSet, baseline: u64) -> Outcome {
    while !live.is_empty() {
        let block = live.release(live.len() - 1)?;
        // SAFETY: the block was live with this layout and is forgotten.
        unsafe { heap.deallocate(block.ptr, block.layout) };
        consistent(heap, live, baseline)?;
    }
    Ok(())
}
