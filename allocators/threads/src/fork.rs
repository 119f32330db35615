//! `fork` from a multi-threaded process: every front end's locks are held
//! across the `fork` (`pthread_atfork`), so the child never inherits the
//! shared heap or the registry locked, or caught mid-update, by a thread it
//! does not have.
//!
//! The handlers take no argument, so the front ends to protect are listed
//! here: up to [`INSTANCES`] of them (a program has one global allocator;
//! an instance past that is served as before but not protected), each an
//! address and the type-erased functions that lock and unlock it. An entry
//! is filled once, when the instance makes its first thread heap, and never
//! removed: instances that make heaps are `static`s in practice (the global
//! allocator), and a front end must outlive its heaps anyway.
//!
//! In the child, the heaps of the threads that did not survive the `fork`
//! stay held by those threads' slots, which no longer exist: they are never
//! adopted, and their memory is the child's only where it holds blocks from
//! them. The forking thread keeps its own heap.

use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Front ends protected at most.
pub(crate) const INSTANCES: usize = 4;

/// How to lock and unlock one front end, given its address.
pub(crate) struct ForkOps {
    /// Takes its locks (registry, then shared heap).
    pub(crate) lock: unsafe fn(*const ()),
    /// Releases them.
    pub(crate) unlock: unsafe fn(*const ()),
}

/// The instances, by address.
static ADDRS: [AtomicPtr<()>; INSTANCES] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; INSTANCES];
/// Their operations, set after the address (null until then: skipped).
static OPS: [AtomicPtr<ForkOps>; INSTANCES] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; INSTANCES];
/// Whether the handlers are registered with the C library.
static REGISTERED: AtomicBool = AtomicBool::new(false);

/// Protects the instance at `addr` from here on; `false` if the table is
/// full or the handlers could not be registered.
pub(crate) fn protect(addr: *const (), ops: &'static ForkOps) -> bool {
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: the three handlers are `extern "C"` functions with no
        // arguments, as `pthread_atfork` wants, valid for the whole
        // program.
        let r = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if r != 0 {
            REGISTERED.store(false, Ordering::Release);
            return false;
        }
    }
    for (a, o) in ADDRS.iter().zip(OPS.iter()) {
        match a.compare_exchange(
            core::ptr::null_mut(),
            addr.cast_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                o.store(core::ptr::from_ref(ops).cast_mut(), Ordering::Release);
                return true;
            }
            Err(other) if other == addr.cast_mut() => return true,
            Err(_) => {}
        }
    }
    false
}

/// Calls `f` with each protected instance's address and operations, in
/// table order or reversed.
fn each(reverse: bool, f: impl Fn(*const (), &ForkOps)) {
    let visit = |i: usize| {
        let addr = ADDRS[i].load(Ordering::Acquire);
        let ops = OPS[i].load(Ordering::Acquire);
        if !addr.is_null() && !ops.is_null() {
            // SAFETY: `ops` points at a `'static` table (`protect`).
            f(addr, unsafe { &*ops });
        }
    };
    if reverse {
        (0..INSTANCES).rev().for_each(visit);
    } else {
        (0..INSTANCES).for_each(visit);
    }
}

/// Before `fork`: take every protected instance's locks.
extern "C" fn prepare() {
    // SAFETY: each entry's address is a live front end of the type its
    // operations were made for (`protect`); `parent` or `child` releases
    // what this takes, on the same thread, with nothing used between.
    each(false, |addr, ops| unsafe { (ops.lock)(addr) });
}

/// After `fork`, in the parent: release them.
extern "C" fn parent() {
    // SAFETY: `prepare` took these locks on this thread.
    each(true, |addr, ops| unsafe { (ops.unlock)(addr) });
}

/// After `fork`, in the child: release them (the child's copies).
extern "C" fn child() {
    // SAFETY: the parent's `prepare` took these locks on the thread the
    // child continues.
    each(true, |addr, ops| unsafe { (ops.unlock)(addr) });
}
