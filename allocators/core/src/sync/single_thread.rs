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
//! Each lock keeps the flag's address in a word of its own, so the check
//! costs two loads and a branch (see `lock.rs`).
//!
//! The flag is looked up with `dlsym` once, not linked, so binaries still load
//! on a glibc older than 2.32 that lacks it; elsewhere (musl, other unixes,
//! Miri) the answer is always "maybe not", and the lock is always taken.
//! Threads made with a raw `clone` system call instead of `pthread_create`
//! are not seen by the flag: a program that does that must not rely on this
//! allocator being thread-safe. Likewise the child of a `fork` in a
//! multi-threaded program must not allocate before `exec` (POSIX allows it
//! only async-signal-safe calls, which allocation is not): a lock held by a
//! parent thread at the fork would be skipped, not waited on, in the child.

/// The byte a lock points at before it has asked for the C library's flag:
/// always zero ("maybe not single-threaded"), so the lock takes its slow path
/// and asks.
pub(crate) static NOT_ASKED: AtomicU8 = AtomicU8::new(0);

/// The byte that stands for the flag where the C library has none: always
/// zero.
static NO_FLAG: AtomicU8 = AtomicU8::new(0);

/// Reads the byte at `flag`: non-zero means the process has one thread.
///
/// # Safety
///
/// `flag` must be [`NOT_ASKED`]'s address or come from [`flag_ptr`].
#[inline(always)]
pub(crate) unsafe fn read_flag(flag: *mut u8) -> bool {
    // SAFETY: the caller passes one of our two static bytes, or glibc's
    // `char` flag found by `dlsym`: valid for the life of the process, and
    // glibc writes its flag only while no other thread exists to read it.
    unsafe { AtomicU8::from_ptr(flag).load(Ordering::Relaxed) != 0 }
}

use crate::sync::atomic::{AtomicU8, Ordering};

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
mod imp {
    use core::ptr;

    use super::{NO_FLAG, NOT_ASKED};
    use crate::sync::atomic::{AtomicPtr, Ordering};

    /// [`FOUND`] while a lookup is running (it may allocate, re-entering
    /// the allocator).
    const LOOKING: *mut u8 = ptr::without_provenance_mut(1);

    /// The flag's address once looked up (glibc's, or [`NO_FLAG`]'s), null
    /// before, or [`LOOKING`].
    static FOUND: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

    /// The address of glibc's `__libc_single_threaded` byte, or of a zero
    /// byte of ours if there is none, or [`NOT_ASKED`]'s while the lookup is
    /// under way. The first call looks it up with `dlsym`, which may
    /// allocate.
    pub(crate) fn flag_ptr() -> *mut u8 {
        let found = FOUND.load(Ordering::Acquire);
        if found.is_null() {
            look_up()
        } else if found == LOOKING {
            NOT_ASKED.as_ptr()
        } else {
            found
        }
    }

    #[cold]
    #[inline(never)]
    fn look_up() -> *mut u8 {
        if FOUND
            .compare_exchange(
                ptr::null_mut(),
                LOOKING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return NOT_ASKED.as_ptr();
        }
        // SAFETY: `dlsym` with RTLD_DEFAULT (a null handle on glibc) and a
        // NUL-terminated name has no other preconditions. It may allocate;
        // that re-enters the allocator, which finds `LOOKING` and locks.
        let found = unsafe { libc::dlsym(ptr::null_mut(), c"__libc_single_threaded".as_ptr()) };
        let flag = if found.is_null() {
            NO_FLAG.as_ptr()
        } else {
            found.cast::<u8>()
        };
        FOUND.store(flag, Ordering::Release);
        flag
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
mod imp {
    use super::NO_FLAG;

    /// No flag on this platform: a zero byte of ours.
    #[inline(always)]
    pub(crate) fn flag_ptr() -> *mut u8 {
        NO_FLAG.as_ptr()
    }
}

pub(crate) use imp::flag_ptr;

/// Whether the process has a single thread right now, as far as the C
/// library says (always `false` where it cannot say).
pub(crate) fn is_single_threaded() -> bool {
    // SAFETY: the pointer comes from `flag_ptr`.
    unsafe { read_flag(flag_ptr()) }
}

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
