//! `ThreadAlloc` as the global allocator of a test with one test function,
//! so no other test's threads run meanwhile and the counts are exact.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

use std::sync::mpsc;

use polyalloc_threads::ThreadAlloc;

#[global_allocator]
static ALLOC: ThreadAlloc = ThreadAlloc::new();

#[test]
fn heaps_are_handed_over_and_remote_frees_come_home() {
    exiting_threads_hand_their_heaps_over();
    remote_frees_come_back_to_their_heap();
    ALLOC.check().expect("heap walk");
}

/// A thread that exits hands its heap over: the next thread adopts it
/// instead of making a new one.
fn exiting_threads_hand_their_heaps_over() {
    drop(Box::new(1u64));
    let before = ALLOC.heaps();
    for round in 0..20u64 {
        std::thread::spawn(move || {
            let v: Vec<u64> = (0..1000).map(|i| i * round).collect();
            assert_eq!(v[999], 999 * round);
        })
        .join()
        .expect("thread");
    }
    // One thread at a time: one more heap at most, adopted by each in turn.
    let after = ALLOC.heaps();
    assert!(
        after <= before + 1,
        "{before} heaps before, {after} after: exited threads' heaps were not adopted"
    );
}

/// Blocks freed by another thread go back to the heap that made them and
/// are reused by it: the producer's heap stays at the size of a few
/// batches, whatever the number of batches.
fn remote_frees_come_back_to_their_heap() {
    let (tx, rx) = mpsc::channel::<Vec<Box<[u8; 48]>>>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let producer = std::thread::spawn(move || {
        let mut first = 0;
        let mut peak = 0;
        for round in 0..200u8 {
            let batch: Vec<Box<[u8; 48]>> = (0..200).map(|_| Box::new([round; 48])).collect();
            tx.send(batch).expect("consumer");
            // Wait for the consumer to free it, so frees are remote.
            done_rx.recv().expect("consumer");
            let own = ALLOC.thread_stats().expect("the producer has a heap");
            if round == 0 {
                first = own.bytes_reserved;
            }
            peak = peak.max(own.bytes_reserved);
        }
        peak - first
    });
    let mut n = 0;
    for (round, batch) in rx.into_iter().enumerate() {
        assert!(batch.iter().all(|b| b.iter().all(|&x| x == round as u8)));
        n += batch.len();
        drop(batch);
        if done_tx.send(()).is_err() {
            break;
        }
    }
    let growth = producer.join().expect("producer");
    assert_eq!(n, 200 * 200);
    // 200 batches of 200 × 48 bytes is 1.9 MB in all (30 slabs); one batch
    // is 9.6 KB. With reuse the heap stops growing after the first rounds.
    assert!(
        growth <= 2 * polyalloc_slab::SLAB,
        "the producer's heap grew by {growth} bytes after the first batch: remote frees were not reused"
    );
}
