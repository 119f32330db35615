//! Where a thread finds its heap: one thread-local slot, read without
//! allocating, and a thread-exit hook that hands the heap over.
//!
//! With the `std` feature on a target with threads, the slot is std's
//! `thread_local!` with a `const` initialiser and no destructor: a direct
//! access to thread-local storage, usable at any point of a thread's life,
//! including while other thread-locals are being destroyed. The hook is a
//! second thread-local whose destructor abandons the heap; it is armed when
//! the heap is first taken (arming may allocate on some platforms, which
//! the slot's `BUSY` state sends to the shared heap). Without `std`, or on
//! wasm32 without the `atomics` feature, there is no slot: [`get`] always
//! says [`Slot::DEAD`] and every request takes the shared heap.

use core::ptr;

/// A type-erased function that hands a thread's heap back to the allocator
/// instance that owns it.
pub(crate) type Abandon = unsafe fn(owner: *const (), heap: *mut ());

/// What the slot holds: the allocator instance the thread's heap belongs
/// to, the heap, and how to hand it back.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    /// The instance (its address), or one of the sentinels.
    pub(crate) owner: *const (),
    /// The heap, when `owner` is an instance.
    pub(crate) heap: *mut (),
    /// Set with `heap`. Read only by the thread-exit hook, which a build
    /// without per-thread heaps (no `std`, or wasm32 without threads) does
    /// not have.
    #[cfg_attr(
        not(all(
            feature = "std",
            not(all(target_arch = "wasm32", not(target_feature = "atomics")))
        )),
        allow(dead_code)
    )]
    pub(crate) abandon: Option<Abandon>,
}

impl Slot {
    /// No heap yet: the next allocation takes one.
    pub(crate) const EMPTY: Self = Self {
        owner: ptr::null(),
        heap: ptr::null_mut(),
        abandon: None,
    };
    /// A heap is being taken (any allocation meanwhile uses the shared heap).
    pub(crate) const BUSY: Self = Self {
        owner: ptr::without_provenance(1),
        heap: ptr::null_mut(),
        abandon: None,
    };
    /// The thread is exiting or has no slot: the shared heap only.
    pub(crate) const DEAD: Self = Self {
        owner: ptr::without_provenance(2),
        heap: ptr::null_mut(),
        abandon: None,
    };
}

#[cfg(all(
    feature = "std",
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
))]
mod imp {
    extern crate std;

    use core::cell::Cell;

    use super::Slot;

    std::thread_local! {
        static SLOT: Cell<Slot> = const { Cell::new(Slot::EMPTY) };
        static EXIT: Exit = const { Exit };
    }

    /// The calling thread's slot.
    #[inline(always)]
    pub(crate) fn get() -> Slot {
        SLOT.try_with(Cell::get).unwrap_or(Slot::DEAD)
    }

    /// The calling thread's slot's `owner` and `heap`, the two words the
    /// fast paths compare and use: [`get`] copies the whole slot (its
    /// `abandon` too) through the stack.
    #[inline(always)]
    pub(crate) fn owner_and_heap() -> (*const (), *mut ()) {
        SLOT.try_with(|s| {
            let p = s.as_ptr();
            // SAFETY: the slot is this thread's, and no reference into it
            // is held while this reads two of its fields (`get` and `set`
            // copy in and out).
            unsafe { ((*p).owner, (*p).heap) }
        })
        .unwrap_or((Slot::DEAD.owner, Slot::DEAD.heap))
    }

    /// Sets the calling thread's slot.
    #[inline]
    pub(crate) fn set(slot: Slot) {
        let _ = SLOT.try_with(|s| s.set(slot));
    }

    /// Arms the exit hook; `false` if the thread is already exiting.
    pub(crate) fn arm_exit() -> bool {
        EXIT.try_with(|_| ()).is_ok()
    }

    /// Its destructor runs as the thread exits.
    struct Exit;

    impl Drop for Exit {
        fn drop(&mut self) {
            let slot = get();
            // Allocations by the destructors still to run go to the shared
            // heap from here on.
            set(Slot::DEAD);
            if let Some(abandon) = slot.abandon
                && !slot.heap.is_null()
            {
                // SAFETY: `abandon`, `owner` and `heap` were set together by
                // the instance that gave this thread the heap, and the heap
                // is unused from now on (the slot says DEAD).
                unsafe { abandon(slot.owner, slot.heap) };
            }
        }
    }
}

#[cfg(not(all(
    feature = "std",
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
)))]
mod imp {
    use super::Slot;

    /// No thread-local storage: the shared heap only.
    #[inline(always)]
    pub(crate) fn get() -> Slot {
        Slot::DEAD
    }

    /// As [`get`]: the shared heap only.
    #[inline(always)]
    pub(crate) fn owner_and_heap() -> (*const (), *mut ()) {
        (Slot::DEAD.owner, Slot::DEAD.heap)
    }

    /// Nothing to set.
    #[inline]
    pub(crate) fn set(_slot: Slot) {}

    /// No hook to arm.
    pub(crate) fn arm_exit() -> bool {
        false
    }
}

pub(crate) use imp::{arm_exit, get, owner_and_heap, set};

/// Whether per-thread heaps exist in this build.
pub(crate) const PER_THREAD: bool = cfg!(all(
    feature = "std",
    not(all(target_arch = "wasm32", not(target_feature = "atomics")))
));
