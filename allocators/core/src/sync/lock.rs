//! The one lock polyalloc uses, picked per target.
//!
//! - Where threads exist (hosts, wasm32 with the `atomics` feature): a spin
//!   lock on one `AtomicBool`. It works in `no_std` and never allocates;
//!   uncontended it costs one compare-exchange to take and one store to
//!   release. On glibc, while the process has a single thread, it skips the
//!   compare-exchange altogether (see [`single_thread`](super::single_thread)),
//!   so a single-threaded program pays one load and a branch.
//! - wasm32 without `atomics`: the module cannot run a second thread, so the
//!   "lock" is a plain cell and costs nothing.

use core::cell::UnsafeCell;

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
use super::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion cell around `T` with a closure interface, so no guard is
/// ever held across code that could re-enter the allocator.
pub(crate) struct Lock<T> {
    /// `true` while a thread is inside `with`.
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which gives one thread at
// a time exclusive access (by the lock, by the process having one thread, or
// by the target having no threads at all); so sharing the lock only requires
// that the value may move between threads.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access to the value.
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if super::single_thread::is_single_threaded() && !self.locked.load(Ordering::Acquire) {
            // SAFETY: no other thread exists, so no other reference to the
            // value can be live; the `Acquire` load of the lock word orders
            // this access after the last unlock by any thread that has since
            // ended (single_thread.rs explains the argument in full).
            return f(unsafe { &mut *self.value.get() });
        }
        self.acquire();
        let _release = Release(&self.locked);
        // SAFETY: the lock is held until `_release` drops, after `f` returns
        // (or unwinds), so this is the only reference to the value.
        f(unsafe { &mut *self.value.get() })
    }

    /// Runs `f` with exclusive access to the value.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: without the `atomics` feature a wasm32 module has one
        // thread, and the allocator never re-enters itself, so this is the
        // only reference to the value for `f`'s duration.
        f(unsafe { &mut *self.value.get() })
    }

    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    #[inline(always)]
    fn acquire(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Wait with plain loads until it looks free, then try again.
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// Releases the lock when dropped.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
struct Release<'a>(&'a AtomicBool);

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
impl Drop for Release<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::Lock;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn threads_see_each_others_updates() {
        let lock = Arc::new(Lock::new(0u64));
        let threads: std::vec::Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    for _ in 0..10_000 {
                        lock.with(|v| *v += 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lock.with(|v| *v), 40_000);
    }
}
