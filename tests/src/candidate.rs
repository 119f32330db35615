//! The one trait an allocator implements to plug into the suite.

use polyalloc_core::source::RegionSource;
use polyalloc_core::{Heap, Source};

/// An allocator of the family, as the suite sees it.
///
/// The suite builds the allocator's strategy core two ways — over a region
/// the suite owns, and over the platform's default source — wraps it in
/// [`LockedHeap`](polyalloc_core::LockedHeap) and drives it through the
/// adapters (`GlobalAlloc` and allocator-api2's `Allocator`), calling
/// [`LockedHeap::check`](polyalloc_core::LockedHeap::check) after every step.
///
/// Implement it on a marker type in the allocator's integration test, then
/// invoke [`conformance_tests!`](crate::conformance_tests):
///
/// ```
/// use polyalloc_bump::BumpHeap;
/// use polyalloc_conformance::Candidate;
/// use polyalloc_core::Source;
/// use polyalloc_core::source::RegionSource;
///
/// struct Bump;
///
/// impl Candidate for Bump {
///     const NAME: &'static str = "bump";
///     const FREES_REUSE_MEMORY: bool = false;
///     type RegionHeap = BumpHeap<RegionSource>;
///     type DefaultHeap = BumpHeap;
///
///     fn over_region(source: RegionSource) -> Self::RegionHeap {
///         BumpHeap::with_source(source)
///     }
///
///     fn over_default() -> Self::DefaultHeap {
///         BumpHeap::new()
///     }
///
///     type Over<S: Source + Send + 'static> = BumpHeap<S>;
///
///     fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S> {
///         BumpHeap::with_source(source)
///     }
/// }
///
/// // In `tests/tests/bump.rs`: `polyalloc_conformance::conformance_tests!(Bump);`
/// polyalloc_conformance::bad_input::zero_size_is_dangling_and_aligned::<Bump>();
/// ```
pub trait Candidate: 'static {
    /// The allocator's name, used in failure messages.
    const NAME: &'static str;

    /// Whether every deallocation makes its memory available to later
    /// requests, whatever the order of frees (a free list, buddy or slab
    /// heap). A bump heap only reuses the most recent block, so it says
    /// `false`; the suite then skips the tests that rely on reuse and leaves
    /// reclaiming to `reset`.
    const FREES_REUSE_MEMORY: bool;

    /// The size of the region the out-of-memory tests use: small enough to
    /// run out of, large enough for the strategy's metadata and a handful of
    /// kilobyte blocks. 64 KiB unless the strategy needs more.
    const SMALL_REGION: usize = 64 * 1024;

    /// The strategy core over a caller-provided region.
    type RegionHeap: Heap + Send;

    /// The strategy core over the platform's default source.
    type DefaultHeap: Heap + Send;

    /// Builds the core over `source`, a region the suite owns and frees only
    /// after the heap is dropped.
    fn over_region(source: RegionSource) -> Self::RegionHeap;

    /// Builds the core over the platform's default source.
    fn over_default() -> Self::DefaultHeap;

    /// The strategy core over any source: the fault-injection tests run it
    /// over sources that fail on purpose.
    type Over<S: Source + Send + 'static>: Heap + Send;

    /// Builds the core over `source`.
    fn over<S: Source + Send + 'static>(source: S) -> Self::Over<S>;
}
