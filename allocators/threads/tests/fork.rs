//! `fork` while another thread holds the shared heap's lock: the fork
//! handlers make the `fork` wait for it, so the child starts with every lock
//! free and every heap consistent, and allocates normally.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]
#![cfg(unix)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use polyalloc_threads::ThreadAlloc;

#[global_allocator]
static ALLOC: ThreadAlloc = ThreadAlloc::new();

static LOCKED: AtomicBool = AtomicBool::new(false);
static RELEASED: AtomicBool = AtomicBool::new(false);

#[test]
fn fork_waits_for_the_shared_heap_and_the_child_allocates() {
    // The first small block makes this thread's heap, which registers the
    // fork handlers.
    let before: Vec<u64> = (0..100).collect();
    let holder = std::thread::spawn(|| {
        // SAFETY: the closure neither frees nor resets anything of the heap.
        unsafe {
            ALLOC.shared().lock_heap(|_| {
                LOCKED.store(true, Ordering::Release);
                std::thread::sleep(Duration::from_millis(300));
                RELEASED.store(true, Ordering::Release);
            });
        }
    });
    while !LOCKED.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    // SAFETY: the child only allocates, checks and calls `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // The child: a large block (the shared heap, whose lock the parent's
        // other thread held) and small ones (this thread's heap).
        let big = vec![7u8; 1 << 20];
        let small: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
        let ok = big.iter().all(|&b| b == 7)
            && small.iter().enumerate().all(|(i, b)| **b == i as u64)
            && before.iter().sum::<u64>() == 4950
            && ALLOC.check().is_ok();
        drop(small);
        drop(big);
        // SAFETY: ends the child without running the parent's test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let released = RELEASED.load(Ordering::Acquire);
    // Wait for the child, for 10 s at most: a child that inherited a held
    // lock would spin on it for ever.
    let mut status = 0;
    let mut waited = 0;
    for _ in 0..1000 {
        // SAFETY: polls the child just forked.
        waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if waited != 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if waited == 0 {
        // SAFETY: our own child, stuck; reaped right after.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
        }
    }
    assert!(
        released,
        "fork went ahead while another thread held the shared heap's lock"
    );
    assert_eq!(waited, pid, "the child hung on a lock it inherited held");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed to allocate after the fork (status {status:#x})"
    );
    holder.join().expect("holder");
}
