//! The suite's own regression test: heaps broken on purpose must fail it.
//! Each broken heap wraps the correct bump core and breaks one promise of
//! the `Heap` contract; the model test and the bad-input table must report
//! each one (a test suite that passes everything proves nothing).

use core::alloc::Layout;
use core::ptr::NonNull;
use std::panic::{AssertUnwindSafe, catch_unwind};

use polyalloc_bump::BumpHeap;
use polyalloc_conformance::model::{Op, replay_fuzz, replay_region};
use polyalloc_conformance::{Candidate, bad_input};
use polyalloc_core::source::RegionSource;
use polyalloc_core::{CheckError, Counting, DefaultSource, Heap, Stats};

/// Which promise the wrapper breaks.
trait Fault: 'static + Send {
    /// Changes a correct answer into a wrong one.
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>>;

    /// Changes `owns`' correct answer, `inner`, for `ptr`; by default not.
    fn owns(inner: bool, _ptr: NonNull<u8>) -> bool {
        inner
    }
}

/// The correct core, with one fault.
struct Broken<F, S: polyalloc_core::Source> {
    inner: BumpHeap<S, Counting>,
    _fault: core::marker::PhantomData<F>,
}

// SAFETY: deliberately broken, for this test only; every block it hands out
// still lies in memory the inner heap owns, so the test process stays sound
// while the suite reports the broken promise.
unsafe impl<F: Fault, S: polyalloc_core::Source> Heap for Broken<F, S> {
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let inner = &mut self.inner;
        F::allocate(&mut |l| inner.allocate(l), layout)
    }
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { self.inner.deallocate(ptr, layout) }
    }
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        F::owns(self.inner.owns(ptr), ptr)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn stats(&self) -> Stats {
        self.inner.stats()
    }
    fn check(&self) -> Result<(), CheckError> {
        self.inner.check()
    }
}

/// Returns blocks with an alignment of 64 or more one byte past it.
struct Misaligns;
impl Fault for Misaligns {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        if layout.align() < 64 {
            return inner(layout);
        }
        let padded = Layout::from_size_align(layout.size() + 1, layout.align()).ok()?;
        // SAFETY: one byte into a block one byte longer than asked.
        inner(padded).map(|p| unsafe { p.add(1) })
    }
}

/// Hands out the second of two fresh 16-byte blocks overlapping the first.
struct Overlaps;
impl Fault for Overlaps {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        let p = inner(layout)?;
        if layout.size() >= 32 {
            // SAFETY: still inside the block just allocated.
            return Some(unsafe { p.add(layout.size() / 2) });
        }
        Some(p)
    }
}

/// Writes one byte into the block of 64 bytes or more it handed out just
/// before, which may still be live: corruption that no overlap or walk
/// shows, only the contents. (`LAST`: that block's address, 0 for none;
/// the one test using this fault clears it before each run.)
struct Scribbles;
static LAST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
impl Fault for Scribbles {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        let p = inner(layout)?;
        let last = LAST.swap(
            if layout.size() >= 64 {
                p.as_ptr().addr()
            } else {
                0
            },
            std::sync::atomic::Ordering::Relaxed,
        );
        if last != 0 {
            // SAFETY: a block of at least 64 bytes the inner heap handed out
            // earlier in this test (bump never reuses memory before a
            // reset), inside its region.
            unsafe { p.as_ptr().with_addr(last + 10).write(0x5A) };
        }
        Some(p)
    }
}

/// Denies owning any byte off an 8-byte boundary (the last byte of most
/// blocks): a heap that would not recognise its blocks' interiors.
struct Disowns;
impl Fault for Disowns {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        inner(layout)
    }
    fn owns(inner: bool, ptr: NonNull<u8>) -> bool {
        inner && ptr.as_ptr().addr() % 8 == 0
    }
}

/// Panics on a request near `isize::MAX` instead of failing it.
struct PanicsOnHuge;
impl Fault for PanicsOnHuge {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        assert!(layout.size() < isize::MAX as usize / 2, "huge request");
        inner(layout)
    }
}

/// Treats running out of memory as impossible: panics when the source
/// refuses.
struct PanicsWhenTheSourceFails;
impl Fault for PanicsWhenTheSourceFails {
    fn allocate(
        inner: &mut dyn FnMut(Layout) -> Option<NonNull<u8>>,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        Some(inner(layout).expect("the source never fails"))
    }
}

struct Cand<F>(F);
impl<F: Fault> Candidate for Cand<F> {
    const NAME: &'static str = "broken bump";
    const FREES_REUSE_MEMORY: bool = false;
    type RegionHeap = Broken<F, RegionSource>;
    type DefaultHeap = Broken<F, DefaultSource>;
    fn over_region(source: RegionSource) -> Self::RegionHeap {
        Broken {
            inner: BumpHeap::counting(source),
            _fault: core::marker::PhantomData,
        }
    }
    fn over_default() -> Self::DefaultHeap {
        Broken {
            inner: BumpHeap::counting(DefaultSource::new()),
            _fault: core::marker::PhantomData,
        }
    }
    type Over<S: polyalloc_core::Source + Send + 'static> = Broken<F, S>;
    fn over<S: polyalloc_core::Source + Send + 'static>(source: S) -> Self::Over<S> {
        Broken {
            inner: BumpHeap::counting(source),
            _fault: core::marker::PhantomData,
        }
    }
}

/// Whether running `test` panicked (the suite reports failures by panicking).
fn fails(test: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(test)).is_err()
}

#[test]
fn the_model_reports_a_misaligned_block() {
    let ops = [Op::Alloc { size: 8, align: 64 }];
    let err = replay_region::<Cand<Misaligns>>(&ops, 1 << 20).unwrap_err();
    assert!(err.contains("align"), "{err}");
}

#[test]
fn the_model_reports_overlapping_blocks() {
    let ops = [
        Op::Alloc { size: 64, align: 8 },
        Op::Alloc { size: 64, align: 8 },
    ];
    assert!(replay_region::<Cand<Overlaps>>(&ops, 1 << 20).is_err());
}

#[test]
fn the_model_and_the_fuzz_replay_report_a_block_written_over() {
    // Three large blocks: the second allocation writes into the first, the
    // third into the second; all three stay live until the model frees
    // them at the end.
    let ops = [
        Op::Alloc { size: 64, align: 8 },
        Op::Alloc {
            size: 100,
            align: 8,
        },
        Op::Alloc {
            size: 200,
            align: 16,
        },
    ];
    // `LAST` must not carry a block of one run's region into the next.
    LAST.store(0, std::sync::atomic::Ordering::Relaxed);
    let every_step = replay_region::<Cand<Scribbles>>(&ops, 1 << 20).unwrap_err();
    assert!(
        every_step.contains("overwritten") && every_step.contains("step 1"),
        "{every_step}"
    );
    // The fuzz targets read contents only as blocks leave the set: the same
    // fault, found when the blocks are freed at the end of the input.
    LAST.store(0, std::sync::atomic::Ordering::Relaxed);
    let on_release = replay_fuzz::<Cand<Scribbles>>(&ops, true).unwrap_err();
    assert!(on_release.contains("overwritten"), "{on_release}");
}

#[test]
fn the_model_and_the_fuzz_replay_report_a_block_owns_denies() {
    let ops = [
        Op::Alloc { size: 64, align: 8 },
        Op::Alloc {
            size: 100,
            align: 8,
        },
    ];
    // After every step: the first step's block (its last byte is at +63).
    let every_step = replay_region::<Cand<Disowns>>(&ops, 1 << 20).unwrap_err();
    assert!(
        every_step.contains("owns(") && every_step.contains("step 0"),
        "{every_step}"
    );
    // The fuzz targets ask `owns` as blocks leave the set: the same fault,
    // found when the blocks are freed at the end of the input.
    let on_release = replay_fuzz::<Cand<Disowns>>(&ops, true).unwrap_err();
    assert!(
        on_release.contains("owns(") && on_release.contains("freeing the blocks left"),
        "{on_release}"
    );
}

#[test]
fn the_bad_input_table_reports_a_panic_and_a_misaligned_block() {
    assert!(fails(
        bad_input::huge_sizes_fail_cleanly::<Cand<PanicsOnHuge>>
    ));
    assert!(fails(bad_input::alignment_above_a_page::<Cand<Misaligns>>));
}

#[test]
fn the_same_tests_pass_on_the_correct_heap() {
    let ops = [
        Op::Alloc { size: 8, align: 64 },
        Op::Alloc { size: 64, align: 8 },
        Op::Alloc { size: 64, align: 8 },
    ];
    replay_region::<polyalloc_conformance::candidates::CountingBump>(&ops, 1 << 20).unwrap();
    bad_input::huge_sizes_fail_cleanly::<polyalloc_conformance::candidates::CountingBump>();
    bad_input::alignment_above_a_page::<polyalloc_conformance::candidates::CountingBump>();
}

#[test]
fn fault_injection_reports_a_heap_that_panics_when_its_source_fails() {
    assert!(fails(
        polyalloc_conformance::faults::injected_faults_fail_cleanly::<Cand<PanicsWhenTheSourceFails>>
    ));
    // The honest bump heap passes the same test.
    polyalloc_conformance::faults::injected_faults_fail_cleanly::<
        polyalloc_conformance::candidates::CountingBump,
    >();
}

/// A free list that never frees: memory grows every round.
struct Leaky<S: polyalloc_core::Source>(polyalloc_freelist::FreeListHeap<S>);

// SAFETY: every block comes from the inner heap; not freeing one is sound
// (it leaks).
unsafe impl<S: polyalloc_core::Source> Heap for Leaky<S> {
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate(layout)
    }
    unsafe fn deallocate(&mut self, _ptr: NonNull<u8>, _layout: Layout) {}
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        self.0.owns(ptr)
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn stats(&self) -> Stats {
        self.0.stats()
    }
    fn check(&self) -> Result<(), CheckError> {
        self.0.check()
    }
}

struct LeakyCand;
impl Candidate for LeakyCand {
    const NAME: &'static str = "leaky free list";
    const FREES_REUSE_MEMORY: bool = true;
    type RegionHeap = Leaky<RegionSource>;
    type DefaultHeap = Leaky<DefaultSource>;
    fn over_region(source: RegionSource) -> Self::RegionHeap {
        Leaky(polyalloc_freelist::FreeListHeap::with_source(source))
    }
    fn over_default() -> Self::DefaultHeap {
        Leaky(polyalloc_freelist::FreeListHeap::new())
    }
    type Over<S: polyalloc_core::Source + Send + 'static> = Leaky<S>;
    fn over<S: polyalloc_core::Source + Send + 'static>(source: S) -> Self::Over<S> {
        Leaky(polyalloc_freelist::FreeListHeap::with_source(source))
    }
}

#[test]
fn the_steady_state_test_reports_memory_that_grows() {
    assert!(fails(
        polyalloc_conformance::faults::steady_state::<LeakyCand>
    ));
}
