//! The atomics the sync layer uses, from one place, so a model checker's
//! types can be swapped in here without touching the code that uses them.

#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
