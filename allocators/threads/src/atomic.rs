//! The atomics of the remote-free list and the hand-over, from one place, so
//! loom's can be swapped in (`RUSTFLAGS="--cfg loom"`, see `tests/loom.rs`).

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicPtr, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, Ordering};
