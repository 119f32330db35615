//! loom models of the lock every `LockedHeap` takes: every interleaving of
//! two or three threads through it is explored, and the data it guards is a
//! loom cell, so an access not ordered after the previous holder's (a
//! `Relaxed` where `Acquire` is needed, a missed exclusion) fails the model.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p polyalloc-core --test loom --release
//! ```
//!
//! (A separate `CARGO_TARGET_DIR` keeps the normal build's cache: `.ci/run`
//! uses `target/loom`.)

#![cfg(loom)]

use core::alloc::Layout;
use core::ptr::NonNull;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use polyalloc_core::{Heap, LockedHeap, Stats};

/// A heap that allocates nothing: a counter the lock guards, and a count of
/// threads inside the lock at once.
struct Guarded {
    value: UnsafeCell<usize>,
    inside: Arc<AtomicUsize>,
}

// SAFETY: it never hands out a block.
unsafe impl Heap for Guarded {
    fn allocate(&mut self, _: Layout) -> Option<NonNull<u8>> {
        None
    }
    unsafe fn deallocate(&mut self, _: NonNull<u8>, _: Layout) {}
    fn owns(&self, _: NonNull<u8>) -> bool {
        false
    }
    fn reset(&mut self) {}
    fn stats(&self) -> Stats {
        Stats::new()
    }
}

/// One critical section: alone inside, and the counter's last write
/// happens-before this read (loom checks the cell's accesses).
fn bump(heap: &LockedHeap<Guarded>) {
    // SAFETY: the closure only touches the guarded counter.
    unsafe {
        heap.lock_heap(|h| {
            assert_eq!(
                h.inside.fetch_add(1, Ordering::Relaxed),
                0,
                "two threads in the lock"
            );
            h.value.with_mut(|v| *v += 1);
            h.inside.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

fn heap() -> Arc<LockedHeap<Guarded>> {
    Arc::new(LockedHeap::with_heap(Guarded {
        value: UnsafeCell::new(0),
        inside: Arc::new(AtomicUsize::new(0)),
    }))
}

fn total(heap: &LockedHeap<Guarded>) -> usize {
    // SAFETY: a read of the counter.
    unsafe { heap.lock_heap(|h| h.value.with(|v| *v)) }
}

#[test]
fn two_threads_exclude_each_other_and_see_each_others_writes() {
    loom::model(|| {
        let heap = heap();
        let other = {
            let heap = Arc::clone(&heap);
            thread::spawn(move || bump(&heap))
        };
        bump(&heap);
        other.join().unwrap();
        assert_eq!(total(&heap), 2);
    });
}

#[test]
fn two_threads_twice_each_with_a_query_between() {
    let mut builder = loom::model::Builder::new();
    // Spinning on one word: bound the preemptions so the search ends.
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let heap = heap();
        let other = {
            let heap = Arc::clone(&heap);
            thread::spawn(move || {
                bump(&heap);
                bump(&heap);
            })
        };
        bump(&heap);
        let seen = total(&heap);
        assert!((1..=3).contains(&seen), "saw {seen}");
        other.join().unwrap();
        assert_eq!(total(&heap), 3);
    });
}
