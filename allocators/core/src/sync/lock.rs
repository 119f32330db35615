//! The one lock polyalloc uses, picked per target.
//!
//! - Where threads exist (hosts, wasm32 with the `atomics` feature): a spin
//!   lock on one word. It works in `no_std` and never allocates; uncontended
//!   it costs one compare-exchange to take and one store to release. A
//!   waiter spins a few dozen turns, then yields its time slice to the OS
//!   (`sched_yield` on unix) between looks, so with more threads than cores
//!   it does not burn a slice while the holder waits to run.
//! - On glibc, while the process has a single thread, not even that: the lock
//!   keeps the address of glibc's single-thread flag (see
//!   [`single_thread`](super::single_thread)), so the check is one load of
//!   that address and one of the flag, and the value is used directly.
//! - wasm32 without `atomics`: the module cannot run a second thread, so the
//!   "lock" is a plain cell and costs nothing.
//!
//! # Why the single-thread path needs no lock bit
//!
//! While the flag says "one thread", no other thread exists, so none can hold
//! the lock: a thread releases it before `with` returns, even when unwinding,
//! and the allocator never re-enters itself. The flag word is loaded with
//! `Acquire`, and every release stores it back with `Release`, so if glibc
//! ever says "one thread" again after others have ended, what they did under
//! the lock is visible here.

use core::cell::UnsafeCell;

#[cfg(all(
    not(loom),
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
))]
use super::atomic::AtomicPtr;
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
use super::atomic::{AtomicBool, Ordering, SPINS_BEFORE_YIELD, spin_loop, yield_now};
#[cfg(all(
    not(loom),
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
))]
use super::single_thread::{NOT_ASKED, flag_ptr, read_flag};

/// A mutual-exclusion cell around `T` with a closure interface, so no guard is
/// ever held across code that could re-enter the allocator.
///
/// [`LockedHeap`](super::LockedHeap) is this lock around a strategy core; it
/// is public for other state an allocator keeps beside its heap (a
/// profiler's tables, say) that must be shared without ever allocating.
/// `with` must not be called again on the same lock from inside `f`: it
/// would spin forever.
///
/// ```
/// use polyalloc_core::sync::Lock;
///
/// static COUNT: Lock<u64> = Lock::new(0);
/// COUNT.with(|n| *n += 1);
/// assert_eq!(COUNT.with(|n| *n), 1);
/// ```
pub struct Lock<T> {
    /// A byte that is non-zero while the process has one thread: glibc's flag
    /// once known, else a zero byte of ours ([`NOT_ASKED`] until asked).
    /// Not under loom, which models the lock itself.
    #[cfg(all(
        not(loom),
        not(all(target_arch = "wasm32", not(target_feature = "atomics")))
    ))]
    flag: AtomicPtr<u8>,
    /// The spin lock.
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
    /// A lock around `value`, free.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Self {
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            flag: AtomicPtr::new(NOT_ASKED.as_ptr()),
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Under loom atomics are not `const`; nor then is this.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access to the value: always through the lock
    /// under loom, which models it.
    #[cfg(loom)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.with_locked(core::ptr::null_mut(), f)
    }

    /// Runs `f` with exclusive access to the value.
    #[cfg(all(
        not(loom),
        not(all(target_arch = "wasm32", not(target_feature = "atomics")))
    ))]
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let flag = self.flag.load(Ordering::Acquire);
        // SAFETY: `flag` is `NOT_ASKED` or came from `flag_ptr`.
        if unsafe { read_flag(flag) } {
            // SAFETY: no other thread exists, so none holds the lock and no
            // other reference to the value can be live; the `Acquire` load
            // orders this access after every earlier release (module docs).
            return f(unsafe { &mut *self.value.get() });
        }
        self.with_locked(flag, f)
    }

    /// The slow path of [`with`](Self::with): takes the lock. Left to the
    /// compiler to inline: out of line, a multi-threaded program pays a call
    /// on every allocation (measured: 8.7 against 6.2 ns per alloc+free pair
    /// once a second thread exists), for a single-threaded gain of about
    /// 10% (`docs/benchmarks.md`).
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    #[inline]
    fn with_locked<R>(&self, flag: *mut u8, f: impl FnOnce(&mut T) -> R) -> R {
        // Ask for the flag before locking: the lookup may allocate, which
        // re-enters this lock.
        #[cfg(not(loom))]
        let flag = if flag == NOT_ASKED.as_ptr() {
            flag_ptr()
        } else {
            flag
        };
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Wait with plain loads until it looks free, then try again;
            // after a few dozen turns the holder is likely not running, so
            // give it the core (a waiter never spins through a whole time
            // slice).
            let mut spins = 0;
            while self.locked.load(Ordering::Relaxed) {
                if spins < SPINS_BEFORE_YIELD {
                    spins += 1;
                    spin_loop();
                } else {
                    yield_now();
                }
            }
        }
        let _release = Release { lock: self, flag };
        // SAFETY: the lock is held until `_release` drops, after `f` returns
        // (or unwinds), so this is the only reference to the value.
        f(unsafe { &mut *self.value.get() })
    }

    /// Runs `f` with exclusive access to the value.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: without the `atomics` feature a wasm32 module has one
        // thread, and the allocator never re-enters itself, so this is the
        // only reference to the value for `f`'s duration.
        f(unsafe { &mut *self.value.get() })
    }

    /// The value, through an exclusive borrow (no locking).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Takes the lock and keeps it until [`unlock_held`](Self::unlock_held),
    /// whatever the number of threads: for a `fork` handler, which must
    /// hold every lock across the `fork` so the child never inherits one
    /// taken mid-update by a thread it does not have.
    ///
    /// # Safety
    ///
    /// The calling thread must call `unlock_held` once afterwards (in a
    /// `fork`'s parent and child alike), and must not use the lock in
    /// between.
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    pub unsafe fn lock_held(&self) {
        let mut spins = 0;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                spin_loop();
            } else {
                yield_now();
            }
        }
    }

    /// Releases a lock taken by [`lock_held`](Self::lock_held).
    ///
    /// # Safety
    ///
    /// The lock must have been taken by `lock_held` (in this process, or in
    /// the parent of this `fork` child) and not released since.
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    pub unsafe fn unlock_held(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Without threads there is nothing to hold.
    ///
    /// # Safety
    ///
    /// None: kept `unsafe` to match the threaded form.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    pub unsafe fn lock_held(&self) {}

    /// Without threads there is nothing to release.
    ///
    /// # Safety
    ///
    /// None: kept `unsafe` to match the threaded form.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    pub unsafe fn unlock_held(&self) {}
}

/// Releases the lock when dropped, publishing the flag's address with it.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
struct Release<'a, T> {
    lock: &'a Lock<T>,
    // Under loom the single-thread probe is off and nothing is published.
    #[cfg_attr(loom, allow(dead_code))]
    flag: *mut u8,
}

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
impl<T> Drop for Release<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Every holder writes the same address (or `NOT_ASKED` while the
        // lookup runs), so none is lost; `Release` on both stores is what the
        // single-thread path's `Acquire` pairs with.
        #[cfg(not(loom))]
        self.lock.flag.store(self.flag, Ordering::Release);
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
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

    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    #[test]
    fn the_lock_learns_the_flag_and_is_left_unlocked() {
        use super::{NOT_ASKED, Ordering};

        let lock = Lock::new(1u32);
        lock.with(|v| *v += 1);
        lock.with(|v| *v += 1);
        assert!(!lock.locked.load(Ordering::Relaxed), "released");
        if cfg!(all(target_os = "linux", target_env = "gnu", not(miri))) {
            assert_ne!(
                lock.flag.load(Ordering::Relaxed),
                NOT_ASKED.as_ptr(),
                "flag looked up"
            );
        }
        assert_eq!(lock.with(|v| *v), 3);
    }
}
