//! Thread heaps and their hand-over.
//!
//! A [`ThreadHeap`] is one strategy core plus the [`RemoteList`] other
//! threads free into. Heaps are made from the platform's source and never
//! destroyed: when a thread exits its heap is *abandoned* (pushed on the
//! instance's abandoned stack, under the registry lock), and the next thread
//! that needs a heap *adopts* one from there before making a new one. Blocks
//! of an abandoned heap stay valid: frees from other threads keep going to
//! its remote list, and its adopter takes them back.
//!
//! # Invariants
//!
//! 1. **One user.** At any time a heap's core is used by at most one
//!    thread: the thread whose slot holds it; for the *orphan* heap (the
//!    one that serves threads without a heap of their own), the registry
//!    lock's holder; while it is abandoned, none (the registry lock's
//!    holder may walk it for a check).
//! 2. **Lists.** `all` links every heap the instance made (through `next`),
//!    `heaps` counts them; `abandoned` links (through `next_abandoned`)
//!    exactly the heaps no thread holds; `orphan` is null or a heap of
//!    `all` that is never abandoned or adopted.
//! 3. **Remote frees never stop.** A heap's remote list is valid for the
//!    whole life of the process, whatever happens to the thread that held
//!    it.

use core::ptr;

use crate::remote::RemoteList;

/// A thread's heap: the remote list first (`repr(C)`), so the owner map's
/// type-erased pointer reaches it whatever the core.
#[repr(C)]
pub(crate) struct ThreadHeap<H> {
    /// Blocks freed by other threads.
    pub(crate) remote: RemoteList,
    /// The next heap on the abandoned stack.
    next_abandoned: *mut ThreadHeap<H>,
    /// The next heap the instance made.
    next: *mut ThreadHeap<H>,
    /// Allocations left before the holder next looks at the remote list
    /// (`front.rs`, invariant 3).
    pub(crate) until_collect: u32,
    /// The strategy core.
    pub(crate) core: H,
}

impl<H> ThreadHeap<H> {
    /// A heap around `core`, on no list.
    pub(crate) fn new(core: H) -> Self {
        Self {
            remote: RemoteList::new(),
            next_abandoned: ptr::null_mut(),
            next: ptr::null_mut(),
            until_collect: 1,
            core,
        }
    }

    /// Takes back every block other threads freed, through `free`.
    #[inline(never)]
    pub(crate) fn collect(
        &mut self,
        mut free: impl FnMut(&mut H, core::ptr::NonNull<u8>, core::alloc::Layout),
    ) {
        let core = &mut self.core;
        self.remote
            .take_all(|block, layout| free(core, block, layout));
    }
}

/// An instance's heaps (invariant 2).
pub(crate) struct Registry<H> {
    abandoned: *mut ThreadHeap<H>,
    all: *mut ThreadHeap<H>,
    heaps: usize,
    orphan: *mut ThreadHeap<H>,
}

// SAFETY: the registry is only reached under its lock; the heaps it points
// at are `Send` when their cores are.
unsafe impl<H: Send> Send for Registry<H> {}

impl<H> Registry<H> {
    /// No heaps.
    pub(crate) const EMPTY: Self = Self {
        abandoned: ptr::null_mut(),
        all: ptr::null_mut(),
        heaps: 0,
        orphan: ptr::null_mut(),
    };

    /// The orphan heap, or null if none was made yet (invariant 2).
    pub(crate) fn orphan(&self) -> *mut ThreadHeap<H> {
        self.orphan
    }

    /// Makes `heap`, just made and held by the caller, the orphan heap,
    /// unless another thread installed one meanwhile: then `heap` is
    /// abandoned (the next new thread adopts it). Returns the orphan heap.
    ///
    /// # Safety
    ///
    /// As for [`abandon`](Self::abandon).
    pub(crate) unsafe fn install_orphan(&mut self, heap: *mut ThreadHeap<H>) -> *mut ThreadHeap<H> {
        if self.orphan.is_null() {
            self.orphan = heap;
        } else {
            // SAFETY: from the caller.
            unsafe { self.abandon(heap) };
        }
        self.orphan
    }

    /// Heaps made so far.
    pub(crate) fn heaps(&self) -> usize {
        self.heaps
    }

    /// Enters a new heap (held by the caller's thread).
    ///
    /// # Safety
    ///
    /// `heap` is valid for the rest of the process and on no list.
    pub(crate) unsafe fn add(&mut self, heap: *mut ThreadHeap<H>) {
        // SAFETY: from the caller.
        unsafe { (*heap).next = self.all };
        self.all = heap;
        self.heaps += 1;
    }

    /// Puts a heap its thread no longer uses on the abandoned stack.
    ///
    /// # Safety
    ///
    /// `heap` is one of this registry's, held by the calling thread, which
    /// does not use it afterwards.
    pub(crate) unsafe fn abandon(&mut self, heap: *mut ThreadHeap<H>) {
        // SAFETY: from the caller: the heap is valid and no other thread
        // uses it (invariant 1).
        unsafe { (*heap).next_abandoned = self.abandoned };
        self.abandoned = heap;
    }

    /// Takes an abandoned heap for the calling thread, if there is one.
    pub(crate) fn adopt(&mut self) -> *mut ThreadHeap<H> {
        let heap = self.abandoned;
        if !heap.is_null() {
            // SAFETY: heaps on the stack are valid and used by no thread.
            unsafe {
                self.abandoned = (*heap).next_abandoned;
                (*heap).next_abandoned = ptr::null_mut();
            }
        }
        heap
    }

    /// Calls `f` on every abandoned heap (under the registry lock, so none
    /// is adopted meanwhile).
    pub(crate) fn for_each_abandoned(&self, mut f: impl FnMut(&ThreadHeap<H>)) {
        let mut heap = self.abandoned;
        while !heap.is_null() {
            // SAFETY: heaps on the stack are valid and used by no thread;
            // the caller holds the registry lock.
            let h = unsafe { &*heap };
            f(h);
            heap = h.next_abandoned;
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    extern crate std;

    use super::*;
    use core::alloc::Layout;
    use core::ptr::NonNull;
    use loom::sync::Arc;
    use polyalloc_core::sync::Lock;
    use std::boxed::Box;

    /// A core that only counts what comes back to it.
    struct Counted(usize);

    /// A pointer the model's threads pass around.
    struct Shared<T>(*mut T);
    impl<T> Clone for Shared<T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T> Copy for Shared<T> {}
    // SAFETY: the model hands the pointee over as the protocol under test
    // says; that is what loom checks.
    unsafe impl<T> Send for Shared<T> {}

    /// A two-word block, leaked for the model.
    fn block() -> Shared<u8> {
        Shared(Box::leak(Box::new([0usize; 2])).as_mut_ptr().cast())
    }

    /// Every interleaving of: another thread freeing two of a heap's blocks
    /// remotely, while the heap's thread takes some back and exits
    /// (abandons the heap); then a new thread adopts it and takes the rest.
    /// Each block must come back exactly once.
    #[test]
    fn remote_frees_reach_the_heap_across_a_hand_over() {
        loom::model(|| {
            let registry = Arc::new(Lock::new(Registry::<Counted>::EMPTY));
            let heap = Shared(
                Box::leak(Box::new(ThreadHeap::new(Counted(0)))) as *mut ThreadHeap<Counted>
            );
            // SAFETY: a fresh heap, valid for the model's life.
            registry.with(|r| unsafe { r.add(heap.0) });
            let layout = Layout::from_size_align(16, 8).unwrap();
            let blocks = [block(), block()];

            let remote = loom::thread::spawn(move || {
                let heap = heap;
                for b in blocks {
                    // SAFETY: a two-word block given to the heap, once.
                    unsafe { (*heap.0).remote.push(NonNull::new(b.0).unwrap(), layout) };
                }
            });
            let r = Arc::clone(&registry);
            let owner = loom::thread::spawn(move || {
                let heap = heap;
                // SAFETY: this thread holds the heap until it abandons it.
                unsafe { (*heap.0).collect(|c, _, _| c.0 += 1) };
                // SAFETY: held by this thread, not used after.
                r.with(|r| unsafe { r.abandon(heap.0) });
            });
            owner.join().unwrap();
            remote.join().unwrap();
            let adopted = registry.with(|r| r.adopt());
            assert_eq!(adopted, heap.0);
            // SAFETY: adopted: this thread holds it now.
            let h = unsafe { &mut *adopted };
            h.collect(|c, _, _| c.0 += 1);
            assert_eq!(h.core.0, 2, "a remote free was lost or taken twice");
            assert!(registry.with(|r| r.adopt()).is_null());
        });
    }

    /// Two threads push while the owner takes: every block is taken once.
    #[test]
    fn concurrent_pushes_and_takes_lose_nothing() {
        loom::model(|| {
            let list = Arc::new(RemoteList::new());
            let layout = Layout::from_size_align(16, 8).unwrap();
            let pushers: std::vec::Vec<_> = (0..2)
                .map(|_| {
                    let list = Arc::clone(&list);
                    let b = block();
                    loom::thread::spawn(move || {
                        let b = b;
                        // SAFETY: a two-word block, pushed once.
                        unsafe { list.push(NonNull::new(b.0).unwrap(), layout) };
                    })
                })
                .collect();
            let mut taken = list.take_all(|_, l| assert_eq!(l, layout));
            for p in pushers {
                p.join().unwrap();
            }
            taken += list.take_all(|_, l| assert_eq!(l, layout));
            assert_eq!(taken, 2);
        });
    }
}
