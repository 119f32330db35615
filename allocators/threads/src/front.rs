//! [`ThreadCached`]: per-thread heaps for the sizes their core serves, one
//! shared locked heap for the rest.
//!
//! # Invariants
//!
//! 1. **Routing by layout.** A layout the per-thread core serves
//!    ([`ThreadCore::serves`]) goes to the calling thread's heap, asked for
//!    at least [`MIN_BLOCK`] bytes ([`thread_layout`]); when the thread has
//!    no heap (starting, exiting) or its heap is out of memory, to the
//!    *orphan* heap, a thread heap used under the registry lock. So every
//!    block of a served layout is a thread heap core's, tagged with that
//!    heap's address, and a free reads its heap from the block
//!    ([`ThreadCore::owner_of`]: for slab, the slab header). Any other
//!    layout goes to the shared heap, and so does its free.
//! 2. **Local or remote.** A block freed by the thread holding its heap goes
//!    straight back to the core; one freed by any other thread is pushed on
//!    its heap's remote list (`remote.rs`), never touching that heap's core.
//! 3. **Collection.** A heap's holder takes its remote list back in
//!    batches: every [`COLLECT_EVERY`] allocations, when the core cannot
//!    serve a request (before falling back to the shared heap), and when the
//!    thread exits. Between those, remote frees wait on the list: at most
//!    what the other threads freed over `COLLECT_EVERY` of the holder's
//!    allocations.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};
use polyalloc_core::adapter::{resize_any_size, zero_from};
use polyalloc_core::source::{DefaultSource, Source};
use polyalloc_core::sync::Lock;
use polyalloc_core::{CheckError, ConstDefault, Heap, LockedHeap, Recorder, Stats};
use polyalloc_slab::{Class, MAX_ALIGN, MAX_SMALL, SlabHeap, quick_class};

use crate::map::MAP;
use crate::registered::Registered;
use crate::registry::{Registry, ThreadHeap};
use crate::remote::{MIN_BLOCK, RemoteList};
use crate::tls::{self, PER_THREAD, Slot};

/// A strategy core that can serve as a thread's heap.
pub trait ThreadCore: Heap + Send + Sized {
    /// The core over a thread heap's source, tagging what it hands out with
    /// `owner` (the heap's address) for [`owner_of`](Self::owner_of).
    fn over(source: Registered, owner: *mut ()) -> Self;

    /// The `owner` tag of the core that allocated `ptr`, read from the
    /// block's memory (a slab's header): how a free on any thread finds the
    /// heap a block belongs to.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block that a core of this type allocated through
    /// [`allocate_served`](Self::allocate_served); the thread calling may
    /// not be the one using that core.
    unsafe fn owner_of(ptr: NonNull<u8>) -> *mut ();

    /// Whether the per-thread heaps serve `layout` (the rest goes to the
    /// shared heap). Must depend on the layout alone.
    fn serves(layout: Layout) -> bool;

    /// What the core needs to serve a layout it [`serves`](Self::serves)
    /// without looking at its size again (for slab, the size class).
    type Class: Copy;

    /// [`serves`](Self::serves) and the core's own size lookup in one
    /// step: `None` for a layout the per-thread heaps do not serve, else
    /// what [`allocate_class`](Self::allocate_class) takes. Must be `Some`
    /// exactly for the layouts `serves` accepts.
    fn served_class(layout: Layout) -> Option<Self::Class>;

    /// Allocates `layout` (as the caller asked it: any size, zero
    /// included), of class `class` ([`served_class`](Self::served_class)
    /// of that layout), as [`allocate_served`](Self::allocate_served) does
    /// for the layout raised to at least [`MIN_BLOCK`] bytes.
    fn allocate_class(&mut self, class: Self::Class, layout: Layout) -> Option<NonNull<u8>>;

    /// [`Heap::allocate`] for a layout it [`serves`](Self::serves), of at
    /// least [`MIN_BLOCK`] bytes: a core may skip tests such a layout
    /// passes.
    #[inline(always)]
    fn allocate_served(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.allocate(layout)
    }

    /// [`Heap::deallocate`] for a block allocated by
    /// [`allocate_served`](Self::allocate_served).
    ///
    /// # Safety
    ///
    /// As for [`Heap::deallocate`], with a layout the core serves of at
    /// least [`MIN_BLOCK`] bytes.
    #[inline(always)]
    unsafe fn deallocate_served(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: from the caller.
        unsafe { self.deallocate(ptr, layout) }
    }
}

impl<R: Recorder + Send> ThreadCore for SlabHeap<Registered, R> {
    fn over(source: Registered, owner: *mut ()) -> Self {
        let mut heap = SlabHeap::with_recorder(source);
        heap.set_owner(owner);
        heap
    }

    #[inline(always)]
    unsafe fn owner_of(ptr: NonNull<u8>) -> *mut () {
        // SAFETY: from the caller: a live block of a slab heap, of a served
        // (small) layout.
        unsafe { SlabHeap::<Registered, R>::owner_of(ptr) }
    }

    /// The sizes slab serves from slabs: up to [`MAX_SMALL`] bytes at up to
    /// [`MAX_ALIGN`].
    #[inline(always)]
    fn serves(layout: Layout) -> bool {
        // The class table's layouts first: most frees end after that test
        // (the table load itself is dropped when only `is_some` is asked).
        quick_class(layout).is_some() || (layout.size() <= MAX_SMALL && layout.align() <= MAX_ALIGN)
    }

    /// The class for the sizes the class table answers (up to
    /// [`QUICK_MAX`](polyalloc_slab::QUICK_MAX) bytes at up to 16-byte
    /// alignment), `None` for the other served layouts, which take
    /// [`SlabHeap::allocate_small`].
    type Class = Option<Class>;

    #[inline(always)]
    fn served_class(layout: Layout) -> Option<Self::Class> {
        // The common case first, one test for both questions; a zero or
        // under-`MIN_BLOCK` size reads the 16-byte class, which is what
        // `thread_layout` would ask for.
        const _: () = assert!(MIN_BLOCK <= 16);
        if let Some(c) = quick_class(layout) {
            return Some(Some(c));
        }
        Self::serves(layout).then_some(None)
    }

    #[inline(always)]
    fn allocate_class(&mut self, class: Self::Class, layout: Layout) -> Option<NonNull<u8>> {
        match class {
            Some(c) => self.allocate_class(c, thread_layout(layout).size()),
            None => self.allocate_small(thread_layout(layout)),
        }
    }

    #[inline(always)]
    fn allocate_served(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.allocate_small(layout)
    }

    #[inline(always)]
    unsafe fn deallocate_served(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: from the caller: a served, non-zero layout is a slab slot's.
        unsafe { self.deallocate_small(ptr, layout) }
    }
}

/// Allocations between two looks at a heap's remote list. Looking costs a
/// load of a line other threads write, and taking costs a swap on it, so
/// the holder does it once per batch rather than on every allocation (where
/// every block is freed by another thread, looking on every allocation
/// could take the swap nearly every time).
pub const COLLECT_EVERY: u32 = 64;

/// The layout a served request asks the thread heap for: at least two
/// words, so a block freed remotely can carry its link and layout.
#[inline(always)]
fn thread_layout(layout: Layout) -> Layout {
    let size = if layout.size() < MIN_BLOCK {
        MIN_BLOCK
    } else {
        layout.size()
    };
    // SAFETY: the alignment is a valid layout's; the size is the layout's
    // or `MIN_BLOCK`, and `MIN_BLOCK` rounded up to any alignment a valid
    // layout has still fits in an `isize` (the alignment itself does).
    unsafe { Layout::from_size_align_unchecked(size, layout.align()) }
}

/// A heap per thread for the layouts `H` serves, one shared, locked heap
/// `L` for the rest (module docs).
///
/// [`ThreadAlloc`](crate::ThreadAlloc) is the ready-made form: slab per
/// thread, the free list shared.
pub struct ThreadCached<H, L> {
    shared: LockedHeap<L>,
    registry: Lock<Registry<H>>,
}

impl<H, L> ThreadCached<H, L> {
    /// A front end with no thread heap yet and the default shared heap.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self
    where
        L: ConstDefault,
    {
        Self {
            shared: LockedHeap::new(),
            registry: Lock::new(Registry::EMPTY),
        }
    }

    /// The shared heap: where large requests, and requests made while a
    /// thread has no heap, are served.
    pub fn shared(&self) -> &LockedHeap<L> {
        &self.shared
    }

    /// Thread heaps made so far: at most the number of threads that were
    /// alive at once and allocated, since an exiting thread's heap is
    /// adopted by the next thread that needs one.
    pub fn heaps(&self) -> usize {
        self.registry.with(|r| r.heaps())
    }

    /// Identity of this instance in thread slots.
    #[inline(always)]
    fn id(&self) -> *const () {
        ptr::from_ref(self).cast()
    }
}

/// Frees a block a heap's holder took back from its remote list.
#[inline(always)]
fn free_taken<H: ThreadCore>(core: &mut H, block: NonNull<u8>, layout: Layout) {
    // SAFETY: the block was pushed by a thread freeing it (remote list
    // invariant 1), with the layout the core allocated it with
    // (`thread_layout`), and this thread holds the core.
    unsafe { core.deallocate_served(block, layout) };
}

impl<H: ThreadCore, L: Heap + Send> ThreadCached<H, L> {
    /// The calling thread's heap for this instance, taking one if it has
    /// none; null when it cannot have one (it holds another instance's
    /// heap, it is starting or exiting, there is no memory).
    #[inline(always)]
    fn local(&self) -> *mut ThreadHeap<H> {
        let (owner, heap) = tls::owner_and_heap();
        if owner == self.id() {
            return heap.cast();
        }
        self.local_slow(tls::get())
    }

    /// The calling thread's heap for this instance if it holds one, else
    /// null.
    #[inline(always)]
    fn current(&self) -> *mut ThreadHeap<H> {
        let (owner, heap) = tls::owner_and_heap();
        if owner == self.id() {
            heap.cast()
        } else {
            ptr::null_mut()
        }
    }

    #[cold]
    #[inline(never)]
    fn local_slow(&self, slot: Slot) -> *mut ThreadHeap<H> {
        if !PER_THREAD || !slot.owner.is_null() {
            return ptr::null_mut();
        }
        // Anything allocated while the heap is taken (arming the exit hook
        // may allocate) goes to the shared heap.
        tls::set(Slot::BUSY);
        if !tls::arm_exit() {
            tls::set(Slot::DEAD);
            return ptr::null_mut();
        }
        let mut heap = self.registry.with(|r| r.adopt());
        if heap.is_null() {
            heap = self.make_heap();
        }
        if heap.is_null() {
            tls::set(Slot::EMPTY);
            return heap;
        }
        #[cfg(all(unix, feature = "std"))]
        crate::fork::protect(self.id(), &Self::FORK_OPS);
        tls::set(Slot {
            owner: self.id(),
            heap: heap.cast(),
            abandon: Some(Self::abandon_erased),
        });
        heap
    }

    /// How `fork` handlers lock and unlock this type of front end.
    #[cfg(all(unix, feature = "std"))]
    const FORK_OPS: crate::fork::ForkOps = crate::fork::ForkOps {
        lock: Self::fork_lock,
        unlock: Self::fork_unlock,
    };

    /// Takes the registry's lock, then the shared heap's, for a `fork`.
    ///
    /// # Safety
    ///
    /// `this` is a live front end of this type; [`fork_unlock`]
    /// (Self::fork_unlock) follows on the same thread, with neither lock
    /// used in between.
    #[cfg(all(unix, feature = "std"))]
    unsafe fn fork_lock(this: *const ()) {
        // SAFETY: from the caller.
        let this = unsafe { &*this.cast::<Self>() };
        // SAFETY: released by `fork_unlock`, nothing used in between.
        unsafe {
            this.registry.lock_held();
            this.shared.lock_held();
        }
    }

    /// Releases what [`fork_lock`](Self::fork_lock) took.
    ///
    /// # Safety
    ///
    /// `fork_lock` took them, in this process or in the parent of this
    /// `fork` child.
    #[cfg(all(unix, feature = "std"))]
    unsafe fn fork_unlock(this: *const ()) {
        // SAFETY: from the caller.
        let this = unsafe { &*this.cast::<Self>() };
        // SAFETY: both taken by `fork_lock`.
        unsafe {
            this.shared.unlock_held();
            this.registry.unlock_held();
        }
    }

    /// A new heap, in memory of its own from the platform's source, never
    /// given back: remote frees may reach it at any time (registry
    /// invariant 3).
    fn make_heap(&self) -> *mut ThreadHeap<H> {
        let mut source = DefaultSource::DEFAULT;
        let Some(span) = source.acquire(size_of::<ThreadHeap<H>>(), align_of::<ThreadHeap<H>>())
        else {
            return ptr::null_mut();
        };
        let heap = span.ptr().as_ptr().cast::<ThreadHeap<H>>();
        let core = H::over(Registered::new(heap.cast()), heap.cast());
        // SAFETY: the span is fresh, large enough and aligned for a heap.
        unsafe { heap.write(ThreadHeap::new(core)) };
        // SAFETY: valid for ever (never given back), on no list yet.
        self.registry.with(|r| unsafe { r.add(heap) });
        heap
    }

    /// Hands a thread's heap back as the thread exits.
    ///
    /// # Safety
    ///
    /// `owner` is a live `ThreadCached<H, L>` (a `static`, for a global
    /// allocator) and `heap` the exiting thread's heap from it, not used
    /// again by that thread.
    unsafe fn abandon_erased(owner: *const (), heap: *mut ()) {
        // SAFETY: from the caller.
        let this = unsafe { &*owner.cast::<Self>() };
        let heap = heap.cast::<ThreadHeap<H>>();
        // Take back what other threads freed, so the next holder starts
        // with it on the core's own lists.
        // SAFETY: the thread still holds the heap (registry invariant 1).
        unsafe { (*heap).collect(free_taken) };
        // SAFETY: one of this instance's heaps, no longer used here.
        this.registry.with(|r| unsafe { r.abandon(heap) });
    }

    /// Allocates `layout` (any size, zero included); null when neither the
    /// thread heap nor the shared heap has the memory.
    #[inline(always)]
    fn alloc_raw(&self, layout: Layout) -> *mut u8 {
        if !PER_THREAD {
            // SAFETY: as below.
            return unsafe { GlobalAlloc::alloc(&self.shared, layout) };
        }
        if let Some(class) = H::served_class(layout) {
            let heap = self.local();
            if !heap.is_null() {
                // SAFETY: the calling thread holds its heap (registry
                // invariant 1), so this is the only reference to it.
                let heap = unsafe { &mut *heap };
                // One decrement and a branch on its result: the countdown
                // runs from `COLLECT_EVERY` down to 0 (a new heap starts at
                // 1, so its first allocation looks).
                heap.until_collect = heap.until_collect.wrapping_sub(1);
                if heap.until_collect == 0 {
                    Self::look_at_remote(heap);
                }
                if let Some(p) = heap.core.allocate_class(class, layout) {
                    return p.as_ptr();
                }
                if let Some(p) = Self::collect_and_retry(heap, layout) {
                    return p.as_ptr();
                }
            }
            return self.alloc_orphan(layout);
        }
        // SAFETY: `GlobalAlloc::alloc` of the shared heap, whose adapter
        // takes any layout (a zero size included).
        unsafe { GlobalAlloc::alloc(&self.shared, layout) }
    }

    /// Serves a layout the thread heaps serve from the orphan heap, under
    /// the registry lock: for a thread without a heap (starting, exiting,
    /// holding another instance's heap), or whose heap is out of memory.
    /// Null when there is no memory.
    #[cold]
    #[inline(never)]
    fn alloc_orphan(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.registry.with(|r| r.orphan());
        if heap.is_null() {
            let made = self.make_heap();
            if made.is_null() {
                return ptr::null_mut();
            }
            // SAFETY: just made, held by no other thread, not used here
            // after (unless it becomes the orphan heap).
            heap = self.registry.with(|r| unsafe { r.install_orphan(made) });
        }
        self.registry.with(|_| {
            // SAFETY: the orphan heap's core is used only under the
            // registry lock, which this thread holds (registry invariant 1).
            let heap = unsafe { &mut *heap };
            if !heap.remote.is_empty() {
                heap.collect(free_taken);
            }
            heap.core
                .allocate_served(thread_layout(layout))
                .map_or(ptr::null_mut(), NonNull::as_ptr)
        })
    }

    /// The countdown to the next look at the remote list ran out: resets
    /// it and takes the list back if it is not empty.
    #[cold]
    #[inline(never)]
    fn look_at_remote(heap: &mut ThreadHeap<H>) {
        heap.until_collect = COLLECT_EVERY;
        if !heap.remote.is_empty() {
            heap.collect(free_taken);
        }
    }

    /// The core could not serve `layout`: takes the remote list back and
    /// tries once more before the shared heap is asked.
    #[cold]
    #[inline(never)]
    fn collect_and_retry(heap: &mut ThreadHeap<H>, layout: Layout) -> Option<NonNull<u8>> {
        if heap.remote.is_empty() {
            return None;
        }
        heap.collect(free_taken);
        heap.core.allocate_served(thread_layout(layout))
    }

    /// Frees a block of this front end.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this front end allocated with `layout`.
    #[inline(always)]
    unsafe fn dealloc_raw(&self, ptr: NonNull<u8>, layout: Layout) {
        if PER_THREAD && H::serves(layout) {
            // SAFETY: a served layout's block was allocated by a thread
            // heap's core (invariant 1), and is live (the caller's).
            let owner = unsafe { H::owner_of(ptr) };
            let mine = self.current();
            if owner == mine.cast() {
                // SAFETY: the block is in this thread's heap, which only
                // this thread uses, allocated there with `thread_layout`
                // (invariant 1).
                unsafe { (*mine).core.deallocate_served(ptr, thread_layout(layout)) };
            } else {
                // SAFETY: the tag is the address of a live thread heap (never
                // destroyed), whose remote list comes first; the block is at
                // least `MIN_BLOCK` bytes, pointer-aligned (slots are 16-byte
                // multiples) and the caller's to give.
                unsafe {
                    (*owner.cast::<RemoteList>()).push(ptr, thread_layout(layout));
                }
            }
            return;
        }
        // SAFETY: not a thread heap's block (invariant 1): the shared heap's.
        unsafe { GlobalAlloc::dealloc(&self.shared, ptr.as_ptr(), layout) };
    }

    /// Resizes a block to `new` (same alignment as `old`): in the core when
    /// this thread's heap holds it and both sizes are served there, in the
    /// shared heap when neither is, else by moving it. Null on failure, the
    /// block left as it was.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this front end allocated with `old`.
    unsafe fn realloc_raw(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> *mut u8 {
        let (old_served, new_served) = (H::serves(old), H::serves(new));
        if PER_THREAD && old_served && new_served {
            let mine = self.current();
            // SAFETY: a served layout's live block, from a thread heap's
            // core (invariant 1).
            let owner = unsafe { H::owner_of(ptr) };
            if !mine.is_null() && owner == mine.cast() {
                // SAFETY: the block is in this thread's heap (see
                // `dealloc_raw`); on failure it stays live.
                let moved = unsafe {
                    (*mine)
                        .core
                        .resize(ptr, thread_layout(old), thread_layout(new))
                };
                if let Some(p) = moved {
                    return p.as_ptr();
                }
            }
        } else if !PER_THREAD || (!old_served && !new_served) {
            // SAFETY: the block is the shared heap's (invariant 1).
            return unsafe { GlobalAlloc::realloc(&self.shared, ptr.as_ptr(), old, new.size()) };
        }
        let to = self.alloc_raw(new);
        if !to.is_null() {
            // SAFETY: both blocks are live and distinct; the smaller size
            // fits in each.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), to, old.size().min(new.size()));
                self.dealloc_raw(ptr, old);
            }
        }
        to
    }

    /// Counters of the calling thread's own heap, if it has one for this
    /// instance.
    pub fn thread_stats(&self) -> Option<Stats> {
        let mine = self.current();
        // SAFETY: this thread holds its heap.
        (!mine.is_null()).then(|| unsafe { (*mine).core.stats() })
    }

    /// Counters of the shared heap plus the calling thread's own heap (other
    /// threads' heaps are in use and not read).
    pub fn stats(&self) -> Stats {
        let shared = self.shared.stats();
        match self.thread_stats() {
            Some(own) => shared.combined(&own),
            None => shared,
        }
    }

    /// Whether `ptr` lies in memory of this front end: a thread heap's span
    /// or a live block of the shared heap.
    pub fn owns(&self, ptr: NonNull<u8>) -> bool {
        !MAP.lookup(ptr.as_ptr().addr()).is_null() || self.shared.owns(ptr)
    }

    /// Walks the heaps no other thread is using (the shared heap, the
    /// calling thread's own and the abandoned ones) and checks their
    /// invariants; a no-op in release builds.
    pub fn check(&self) -> Result<(), CheckError> {
        self.shared.check()?;
        let mine = self.current();
        if !mine.is_null() {
            // SAFETY: this thread holds its heap.
            unsafe { (*mine).core.check()? };
        }
        let mut result = Ok(());
        self.registry.with(|r| {
            r.for_each_abandoned(|h| {
                if result.is_ok() {
                    result = h.core.check();
                }
            });
            let orphan = r.orphan();
            if result.is_ok() && !orphan.is_null() {
                // SAFETY: the orphan heap is used only under the registry
                // lock, held here (registry invariant 1).
                result = unsafe { (*orphan).core.check() };
            }
        });
        result
    }
}

#[cfg(not(loom))]
impl<H, L: ConstDefault> Default for ThreadCached<H, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: ThreadCore, L: Heap + Send> core::fmt::Debug for ThreadCached<H, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadCached")
            .field("heaps", &self.heaps())
            .field("shared", &self.shared)
            .finish()
    }
}

// SAFETY: blocks come from a thread heap's core or the shared heap, whose
// contracts make them aligned, large enough and disjoint; a block is freed
// to the heap that made it (invariants 1 and 2); failures are null, and no
// method can panic or unwind.
unsafe impl<H: ThreadCore, L: Heap + Send> GlobalAlloc for ThreadCached<H, L> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_raw(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block of this allocator with its
            // layout.
            unsafe { self.dealloc_raw(ptr, layout) };
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        let Some(block) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block with `layout`.
        unsafe { self.realloc_raw(block, layout, new) }
    }
}

/// A dangling, aligned pointer for a zero-size block.
fn dangling(align: usize) -> NonNull<u8> {
    polyalloc_core::layout::dangling(align)
}

// SAFETY: as for `GlobalAlloc` above; zero-size blocks are dangling and never
// reach a heap; a block stays valid until freed through this allocator (or
// a copy of the reference), and a failed grow or shrink leaves it intact.
unsafe impl<H: ThreadCore, L: Heap + Send> Allocator for &ThreadCached<H, L> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
        }
        NonNull::new(self.alloc_raw(layout))
            .map(|p| NonNull::slice_from_raw_parts(p, layout.size()))
            .ok_or(AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: from the caller: a block of this allocator.
            unsafe { self.dealloc_raw(ptr, layout) };
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: from the caller.
        unsafe { self.resize_block(ptr, old, new) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: from the caller.
        let block = unsafe { self.resize_block(ptr, old, new) }?;
        // SAFETY: the block is valid for `new.size()` bytes, of which the
        // first `old.size()` hold the old contents.
        unsafe { zero_from(block, old.size()) };
        Ok(block)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: from the caller.
        unsafe { self.resize_block(ptr, old, new) }
    }
}

impl<H: ThreadCore, L: Heap + Send> ThreadCached<H, L> {
    /// A grow or shrink for `Allocator`, zero sizes (core's
    /// [`resize_any_size`]) and alignment changes included.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this allocator with `old`.
    unsafe fn resize_block(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: from the caller; `resize_any_size` hands each closure the
        // caller's live block and non-zero sizes only.
        let p = unsafe {
            resize_any_size(
                ptr,
                old,
                new,
                |new| NonNull::new(self.alloc_raw(new)),
                |ptr, old| self.dealloc_raw(ptr, old),
                |ptr, old, new| {
                    if old.align() == new.align() {
                        return NonNull::new(self.realloc_raw(ptr, old, new));
                    }
                    let to = NonNull::new(self.alloc_raw(new))?;
                    // Both live and distinct: the old block is freed only
                    // once its bytes are copied.
                    ptr::copy_nonoverlapping(ptr.as_ptr(), to.as_ptr(), old.size().min(new.size()));
                    self.dealloc_raw(ptr, old);
                    Some(to)
                },
            )
        };
        p.map(|p| NonNull::slice_from_raw_parts(p, new.size()))
            .ok_or(AllocError)
    }
}
