//! Is this process single-threaded right now? On glibc, the C library keeps a
//! flag that says so, `__libc_single_threaded`; the lock uses it to skip the
//! atomic instruction when no second thread exists.
//!
//! Why that is sound: glibc clears the flag in `pthread_create` *before* the
//! new thread starts, and thread creation happens-before everything the new
//! thread does. So when a thread reads "single-threaded", no other thread
//! exists to race with it, and once one is created, every access made without
//! the lock is already visible to it. If the flag is ever set again (after the
//! other threads are gone), the lock word is read with `Acquire` before
//! skipping the lock, which synchronises with the last thread's unlock.
//!
//! The flag is looked up with `dlsym` once, not linked, so binaries still load
//! on a glibc older than 2.32 that lacks it; elsewhere (musl, other unixes,
//! Miri) the answer is always "maybe not", and the lock is always taken.
//! Threads made with a raw `clone` system call instead of `pthread_create`
//! are not seen by the flag: a program that does that must not rely on this
//! allocator being thread-safe.

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
mod imp {
    use core::ptr;

    use crate::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

    /// Not looked up yet.
    const UNKNOWN: *mut u8 = ptr::null_mut();
    /// A lookup is running (it may allocate, re-entering the allocator).
    const LOOKING: *mut u8 = ptr::without_provenance_mut(1);
    /// The C library has no such flag.
    const ABSENT: *mut u8 = ptr::without_provenance_mut(2);

    /// Where glibc's flag byte is, or one of the states above.
    static FLAG: AtomicPtr<u8> = AtomicPtr::new(UNKNOWN);

    #[inline(always)]
    pub(crate) fn is_single_threaded() -> bool {
        let flag = FLAG.load(Ordering::Acquire);
        if flag.addr() > ABSENT.addr() {
            // SAFETY: `flag` is the address of glibc's `char` flag, found by
            // `dlsym`: valid for the life of the process and only written by
            // glibc while no other thread exists to read it.
            unsafe { AtomicU8::from_ptr(flag).load(Ordering::Relaxed) != 0 }
        } else {
            if flag == UNKNOWN {
                look_up();
            }
            false
        }
    }

    #[cold]
    #[inline(never)]
    fn look_up() {
        if FLAG
            .compare_exchange(UNKNOWN, LOOKING, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        // SAFETY: `dlsym` with RTLD_DEFAULT (a null handle on glibc) and a
        // NUL-terminated name has no other preconditions. It may allocate;
        // that re-enters the allocator, which sees `LOOKING` and locks.
        let found = unsafe { libc::dlsym(ptr::null_mut(), c"__libc_single_threaded".as_ptr()) };
        let state = if found.is_null() {
            ABSENT
        } else {
            found.cast::<u8>()
        };
        FLAG.store(state, Ordering::Release);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
mod imp {
    /// Unknown on this platform: always "maybe not".
    #[inline(always)]
    pub(crate) fn is_single_threaded() -> bool {
        false
    }
}

pub(crate) use imp::is_single_threaded;

#[cfg(test)]
mod tests {
    extern crate std;

    #[test]
    fn a_test_harness_with_threads_is_not_single_threaded() {
        // The test harness runs tests on worker threads, so the flag must say
        // "maybe not" (or be unknown): never a false "single".
        let t = std::thread::spawn(super::is_single_threaded);
        assert!(!t.join().unwrap());
        assert!(!super::is_single_threaded());
    }
}
