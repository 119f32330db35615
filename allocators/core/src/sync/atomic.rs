//! The atomics the sync layer uses, from one place, so a model checker's
//! types can be swapped in here without touching the code that uses them.

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
// The loom model checker's atomics (`RUSTFLAGS="--cfg loom"`, see
// `tests/loom.rs`): every interleaving of the lock is explored.
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

/// One turn of a spin-wait loop: a pause hint, or under loom a yield, so the
/// model checker runs the thread being waited for.
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Spin turns a waiter takes before it starts yielding its time slice.
#[allow(dead_code)]
pub(crate) const SPINS_BEFORE_YIELD: u32 = 64;

/// Gives the rest of this thread's time slice to the OS, where there is
/// one to give it to: a thread waiting for a lock held by a thread that is
/// not running (more threads than cores) lets it run instead of spinning
/// through a whole slice. Elsewhere (no OS scheduler to ask) a pause hint.
#[allow(dead_code)]
#[inline]
pub(crate) fn yield_now() {
    #[cfg(all(unix, not(loom)))]
    // SAFETY: `sched_yield` takes no arguments and only reschedules the
    // calling thread.
    unsafe {
        libc::sched_yield();
    }
    #[cfg(all(not(unix), not(loom)))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
