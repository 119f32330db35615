//! The power-of-two group runs end to end: every contestant, every
//! workload, the same operations, a peak and a requested figure from every
//! row; its workloads ask for the sizes they say; the `matrix` measurement
//! computes the same product on every contestant. (Behaviour only: speed is
//! the comparison run's business.)

mod common;

use core::alloc::Layout;
use core::ptr::NonNull;
use std::alloc::System;

use polyalloc_bench::adapters::ViaGlobal;
use polyalloc_bench::backing::{BUDDY_REGION_ALIGN, BuddyChunks, UNIT};
use polyalloc_bench::contestants::buddy::{self, CoreBuddy};
use polyalloc_bench::contestants::{Contestant, SystemAlloc, Visitor};
use polyalloc_bench::matrix::{Matrices, expected_checksum};
use polyalloc_bench::requested::Requested;
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Group, Workload};

#[test]
fn every_contestant_runs_every_workload_with_the_same_operations() {
    common::same_operations(Group::Buddy);
}

#[test]
fn the_peak_pass_has_the_timed_rows_and_counts_every_backing() {
    common::peaks_cover_the_timed_rows(Group::Buddy);
}

#[test]
fn contestants_grow_blocks_keeping_the_bytes() {
    common::grow_keeps_the_bytes(Group::Buddy);
}

/// The system allocator, noting the size of every block it hands out and
/// every grow.
struct Log {
    allocs: Vec<usize>,
    grows: Vec<(usize, usize)>,
}

impl Contestant for Log {
    const KEY: &'static str = "log";
    const NAME: &'static str = "log";
    const RESETS: bool = false;
    type Api<'a> = ViaGlobal<'static, System>;

    fn new() -> Self {
        Self {
            allocs: Vec::new(),
            grows: Vec::new(),
        }
    }

    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        self.allocs.push(layout.size());
        SystemAlloc.alloc(layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        self.grows.push((old.size(), new_size));
        // SAFETY: forwarded from the caller.
        unsafe { SystemAlloc.grow(ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        ViaGlobal(&System)
    }

    unsafe fn reset(&mut self) {}
}

fn logged(w: Workload) -> Log {
    let mut log = Log::new();
    w.run(&mut log, &mut Input::new());
    log
}

#[test]
fn pow2_asks_for_every_power_of_two_from_64_bytes_to_1_mib() {
    let log = logged(Workload::Pow2);
    assert!(log.allocs.iter().all(|s| s.is_power_of_two()));
    let mut seen: Vec<usize> = log.allocs.clone();
    seen.sort_unstable();
    seen.dedup();
    let all: Vec<usize> = (6..=20).map(|e| 1 << e).collect();
    assert_eq!(seen, all);
}

#[test]
fn random_sizes_are_never_powers_of_two_and_stay_in_range() {
    let log = logged(Workload::RandomSizes);
    for &s in &log.allocs {
        assert!(!s.is_power_of_two(), "{s}");
        assert!((64..1 << 20).contains(&s), "{s}");
    }
}

#[test]
fn realloc_growth_doubles_some_blocks_and_grows_others_by_a_quarter() {
    let log = logged(Workload::ReallocGrowth);
    assert!(
        log.grows
            .iter()
            .all(|&(old, new)| new > old && new <= 1 << 20)
    );
    let doubled = log.grows.iter().filter(|&&(old, new)| new == 2 * old);
    let quarter = log
        .grows
        .iter()
        .filter(|&&(old, new)| new == (old + old / 4).next_multiple_of(8));
    assert!(doubled.count() > 100);
    assert!(quarter.count() > 300);
}

#[test]
fn requests_are_counted_through_calls_and_collections_alike() {
    let mut c = Requested::<CoreBuddy>::new();
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = c.alloc(l);
    // SAFETY: `p` is live with `l`; 300 >= 100.
    let p = unsafe { c.grow(p, l, 300) };
    assert_eq!((c.meter().current(), c.meter().peak()), (300, 300));
    let mut v = allocator_api2::vec::Vec::<u8, _>::with_capacity_in(1000, c.api());
    v.push(1);
    drop(v);
    assert_eq!((c.meter().current(), c.meter().peak()), (300, 1300));
    // SAFETY: `p` is live with 300 bytes.
    unsafe { c.dealloc(p, Layout::from_size_align(300, 8).unwrap()) };
    assert_eq!(c.meter().current(), 0);
}

#[test]
fn buddy_system_chunks_are_contiguous_hold_an_aligned_block_and_are_counted() {
    let mut chunks = BuddyChunks::new();
    let (a, a_end) = chunks.chunk(64).unwrap();
    assert_eq!(a_end - a, UNIT);
    assert_eq!(a % BUDDY_REGION_ALIGN, 0);
    let (b, b_end) = chunks.chunk(1 << 20).unwrap();
    assert_eq!(b, a_end);
    // The range holds a 1 MiB block aligned to 1 MiB, and ends with it.
    assert_eq!(b_end % (1 << 20), 0);
    assert!(b_end - b >= 1 << 20);
    assert_eq!(chunks.meter().current(), b_end - a);
    assert_eq!(chunks.meter().peak(), b_end - a);
}

/// Multiplies on every `matrix` contestant, noting the checksum and the
/// stride of `B`'s rows.
struct Multiply(Vec<(&'static str, f64, Option<isize>)>);

impl Visitor for Multiply {
    fn visit<C: Contestant + 'static>(&mut self) {
        let mut c = C::new();
        let mut m = Matrices::new(&mut c);
        let sum = m.multiply();
        self.0.push((C::KEY, sum, m.row_stride()));
        // SAFETY: the rows came from `c`.
        unsafe { m.free(&mut c) };
    }
}

#[test]
fn the_matrix_product_is_the_same_on_every_contestant() {
    let mut run = Multiply(Vec::new());
    buddy::for_each_matrix(&mut run);
    assert_eq!(run.0.len(), 6);
    let expected = expected_checksum();
    for &(key, sum, _) in &run.0 {
        assert_eq!(sum, expected, "{key}");
    }
    // The premise of the measurement: both buddy allocators put 4 KiB rows
    // at exact 4 KiB strides.
    for &(key, _, stride) in &run.0 {
        if key == "buddy" || key == "buddy-system" {
            assert_eq!(stride, Some(4096), "{key}");
        }
        // The slab heap's 4 KiB class is a line more than 4 KiB apart.
        if key == "slab" {
            assert_eq!(stride, Some(4096 + 64), "{key}");
        }
    }
}
