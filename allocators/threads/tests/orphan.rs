//! The orphan heap: a thread without a heap of its own (here, one holding
//! another instance's heap) is served by a thread heap used under the
//! registry lock, so that every small block carries its heap's tag; blocks
//! other threads free go back to it through its remote list and are
//! reused.

use std::alloc::Layout;
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::mpsc;

use allocator_api2::alloc::Allocator;
use polyalloc_threads::ThreadAlloc;

static A: ThreadAlloc = ThreadAlloc::new();
static B: ThreadAlloc = ThreadAlloc::new();

/// A pointer sent to another thread.
struct Sent(NonNull<u8>);
// SAFETY: the block is handed over whole; the sender does not use it again.
unsafe impl Send for Sent {}

#[test]
fn a_thread_without_a_heap_uses_the_orphan_heap_and_gets_remote_frees_back() {
    let layout = Layout::from_size_align(48, 8).unwrap();
    let (to_other, from_main) = mpsc::channel::<Vec<Sent>>();
    let (back, done) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let blocks = from_main.recv().unwrap();
        // This thread holds a heap of `B`: its frees of the orphan's blocks
        // are remote.
        let own = (&B).allocate(layout).unwrap();
        for Sent(p) in blocks {
            // SAFETY: live blocks of `B` with `layout`, handed over whole.
            unsafe { (&B).deallocate(p, layout) };
        }
        // SAFETY: as above, this thread's own.
        unsafe { (&B).deallocate(own.cast(), layout) };
        back.send(()).unwrap();
    });
    std::thread::spawn(move || {
        // The thread's slot holds `A`'s heap: `B` has none for it.
        let a = (&A).allocate(layout).unwrap();
        let first: Vec<NonNull<u8>> = (0..100)
            .map(|i| {
                let p = (&B).allocate(layout).unwrap().cast::<u8>();
                // SAFETY: a fresh block of 48 bytes.
                unsafe { p.as_ptr().write_bytes(i, 48) };
                p
            })
            .collect();
        assert_eq!(
            B.heaps(),
            1,
            "the heapless thread's blocks come from one orphan heap"
        );
        assert!(B.thread_stats().is_none(), "no heap of B is this thread's");
        for (i, p) in first.iter().enumerate() {
            assert!(B.owns(*p));
            // SAFETY: live, written above.
            assert_eq!(unsafe { p.as_ptr().add(47).read() }, i as u8);
        }
        let freed: HashSet<usize> = first.iter().map(|p| p.as_ptr().addr()).collect();
        to_other
            .send(first.into_iter().map(Sent).collect())
            .unwrap();
        done.recv().unwrap();
        // The worker freed them remotely, onto the orphan's remote list; the
        // next orphan allocations take them back and reuse them.
        let again: Vec<NonNull<u8>> = (0..100)
            .map(|_| (&B).allocate(layout).unwrap().cast())
            .collect();
        let reused = again
            .iter()
            .filter(|p| freed.contains(&p.as_ptr().addr()))
            .count();
        assert_eq!(
            reused, 100,
            "remote frees to the orphan heap were not reused"
        );
        for p in again {
            // SAFETY: live, from `B`, with `layout`.
            unsafe { (&B).deallocate(p, layout) };
        }
        // SAFETY: as above, from `A`.
        unsafe { (&A).deallocate(a.cast(), layout) };
        B.check().expect("heap walk");
    })
    .join()
    .expect("main thread of the test");
    worker.join().expect("worker");
    assert_eq!(B.heaps(), 2, "the orphan heap and the worker's");
}
