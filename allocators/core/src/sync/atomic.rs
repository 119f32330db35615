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
