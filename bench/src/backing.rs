//! Memory from the operating system for every general-purpose and
//! power-of-two contestant, counted the same way, so their peak reserved bytes can be compared.
//!
//! Each allocator is given the backing its host users give it, with a
//! [`Meter`] on the way in and out:
//!
//! | contestant | backing | grows by |
//! |---|---|---|
//! | polyalloc `FreeListHeap` | [`CountingSource`] over `MmapSource` | its own span policy |
//! | talc | [`TalcMmap`], an `OomHandler` | [`UNIT`]s, extending the last heap in place when the next pages are free |
//! | dlmalloc | [`DlmallocMmap`], a `dlmalloc::Allocator` | its own policy (64 KiB granularity) |
//! | rlsf | [`RlsfMmap`], a `FlexSource` | [`UNIT`]s, growing the last pool in place when it can (as rlsf's own unix source does) |
//! | linked_list_allocator | [`Region`], a large reservation | [`UNIT`]s, `extend`ed at the top |
//! | polyalloc `BuddyHeap` | [`CountingSource`] over `MmapSource` | its own arena policy |
//! | buddy_system_allocator | [`BuddyChunks`], a large aligned reservation, `add_to_heap`ed on out-of-memory | [`UNIT`]s, up to the end of an aligned block of the request's size |
//!
//! [`UNIT`] (64 KiB) is the step rlsf's and dlmalloc's own unix backings use
//! and the first span `FreeListHeap` asks for, so no peer is handed more than
//! a program using it on a host would have. The meters are touched only
//! when an allocator asks the OS for memory or returns it (its slow path),
//! never on a fast path.
//!
//! The system allocator has no such hook; [`glibc_heap_bytes`] reads glibc's
//! own figures instead.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};

use polyalloc_core::source::{MmapSource, Source, Span};

/// The step peers' backings grow by: 64 KiB, as rlsf's and dlmalloc's own
/// unix backings do.
pub const UNIT: usize = 64 * 1024;

/// Bytes asked beyond a request when talc runs out: its tags and a new
/// heap's bookkeeping.
const TALC_SLACK: usize = 64;

/// Virtual address space reserved for one [`Region`]. Untouched pages cost
/// nothing (`MAP_NORESERVE`); only what is `extend`ed is counted.
const REGION_RESERVE: usize = 1 << 32;

/// Current and peak bytes held from the OS.
///
/// Interior mutability so a backing whose hooks take `&self` (dlmalloc's)
/// can count too; single-threaded, like the contestants.
#[derive(Debug, Default)]
pub struct Meter {
    current: Cell<usize>,
    peak: Cell<usize>,
}

impl Meter {
    /// A meter at zero.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            current: Cell::new(0),
            peak: Cell::new(0),
        }
    }

    /// `bytes` more were taken from the OS.
    pub fn add(&self, bytes: usize) {
        let now = self.current.get() + bytes;
        self.current.set(now);
        self.peak.set(self.peak.get().max(now));
    }

    /// `bytes` were given back.
    pub fn sub(&self, bytes: usize) {
        self.current.set(self.current.get().saturating_sub(bytes));
    }

    /// Bytes held now.
    #[must_use]
    pub fn current(&self) -> usize {
        self.current.get()
    }

    /// The most bytes held at once since the meter was made.
    #[must_use]
    pub fn peak(&self) -> usize {
        self.peak.get()
    }
}

/// `size` rounded up to a multiple of `unit` (a power of two), or `None` on
/// overflow.
pub(crate) fn round_up(size: usize, unit: usize) -> Option<usize> {
    Some(size.checked_add(unit - 1)? & !(unit - 1))
}

/// The system's page size.
#[must_use]
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 && (size as usize).is_power_of_two() {
        size as usize
    } else {
        4096
    }
}

/// Maps `len` fresh bytes, readable and writable, anywhere; with `at`, only
/// exactly there, never over an existing mapping (`MAP_FIXED_NOREPLACE`).
pub(crate) fn map(
    len: usize,
    at: Option<*mut u8>,
    extra_flags: libc::c_int,
) -> Option<NonNull<u8>> {
    let (hint, fixed) = match at {
        Some(a) => (a.cast(), libc::MAP_FIXED_NOREPLACE),
        None => (ptr::null_mut(), 0),
    };
    // SAFETY: an anonymous private mapping; MAP_FIXED_NOREPLACE never
    // replaces an existing mapping, so no memory in use is touched. Failure
    // is reported as MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            hint,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | fixed | extra_flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    if let Some(a) = at {
        if p.cast::<u8>() != a {
            // A kernel older than 4.17 treats the flag as a hint: not ours.
            // SAFETY: the mapping was just made and nothing uses it.
            unsafe { libc::munmap(p, len) };
            return None;
        }
    }
    NonNull::new(p.cast())
}

/// Unmaps `len` bytes at `p`.
///
/// # Safety
///
/// The range is whole pages mapped by [`map`] and no longer used.
unsafe fn unmap(p: *mut u8, len: usize) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { libc::munmap(p.cast(), len) == 0 }
}

// ---------------------------------------------------------------------------
// polyalloc

/// A [`Source`] that forwards to `S` and counts the bytes it holds.
#[derive(Debug, Default)]
pub struct CountingSource<S = MmapSource> {
    inner: S,
    meter: Meter,
}

impl<S> CountingSource<S> {
    /// Counts what `inner` hands out.
    pub const fn new(inner: S) -> Self {
        Self {
            inner,
            meter: Meter::new(),
        }
    }

    /// The counts so far.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }
}

// SAFETY: every span comes from `inner` unchanged and goes back to it
// unchanged, so `inner`'s guarantees carry over; counting touches no memory.
unsafe impl<S: Source> Source for CountingSource<S> {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let span = self.inner.acquire(size, align)?;
        self.meter.add(span.len());
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        // SAFETY: forwarded from the caller: a span `inner` handed out.
        let taken = unsafe { self.inner.release(span) };
        if taken {
            self.meter.sub(span.len());
        }
        taken
    }

    fn can_release(&self) -> bool {
        self.inner.can_release()
    }
}

// ---------------------------------------------------------------------------
// talc

/// talc's out-of-memory handler for a host: maps [`UNIT`]s, extends the
/// last heap when the pages right after it are free, else claims a new heap.
/// Keeps the mappings so they can be returned when the allocator goes.
#[derive(Debug, Default)]
pub struct TalcMmap {
    /// The heap last claimed or extended (empty before the first).
    heap: talc::Span,
    /// Every mapping made, to unmap at the end.
    maps: Vec<(NonNull<u8>, usize)>,
    meter: Meter,
}

impl TalcMmap {
    /// A handler with nothing mapped.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Unmaps everything mapped.
    ///
    /// # Safety
    ///
    /// The `Talc` using this handler is not used again.
    pub unsafe fn release_all(&mut self) {
        for (p, len) in self.maps.drain(..) {
            // SAFETY: mapped by `map`, and the caller promises the heap in
            // it is dead.
            unsafe { unmap(p.as_ptr(), len) };
            self.meter.sub(len);
        }
        self.heap = talc::Span::empty();
    }
}

impl talc::OomHandler for TalcMmap {
    fn handle_oom(talc: &mut talc::Talc<Self>, layout: Layout) -> Result<(), ()> {
        // Room for the request and talc's tags (its own wasm handler asks
        // for less; when short, talc simply calls again).
        let need = (layout.size() + TALC_SLACK).max(layout.align() * 2);
        let len = round_up(need, UNIT).ok_or(())?;
        let (heap, mapped) = talc_map_more(talc, talc.oom_handler.heap, len)?;
        let handler = &mut talc.oom_handler;
        handler.heap = heap;
        handler.maps.push((mapped, len));
        handler.meter.add(len);
        Ok(())
    }
}

/// Maps `len` more bytes (whole pages) for `talc` and hands them over:
/// extends `heap`, the heap last claimed or extended (empty before the
/// first), when the new pages land right after it, else claims them as a
/// new heap. Returns the heap they are now part of and the mapping made.
pub(crate) fn talc_map_more<O: talc::OomHandler>(
    talc: &mut talc::Talc<O>,
    heap: talc::Span,
    len: usize,
) -> Result<(talc::Span, NonNull<u8>), ()> {
    if let Some((base, acme)) = heap.get_base_acme() {
        if let Some(more) = map(len, Some(acme), 0) {
            // SAFETY: `heap` came from `claim` or `extend` of this talc;
            // the new span adds only the fresh pages mapped right after
            // it, which nothing else uses.
            let heap = unsafe { talc.extend(heap, talc::Span::new(base, acme.wrapping_add(len))) };
            return Ok((heap, more));
        }
    }
    let fresh = map(len, None, 0).ok_or(())?;
    // SAFETY: a fresh mapping, readable and writable, used by nothing
    // else, not at address zero.
    match unsafe { talc.claim(talc::Span::from_base_size(fresh.as_ptr(), len)) } {
        Ok(heap) => Ok((heap, fresh)),
        Err(()) => {
            // SAFETY: just mapped, never handed to talc.
            unsafe { unmap(fresh.as_ptr(), len) };
            Err(())
        }
    }
}

// ---------------------------------------------------------------------------
// dlmalloc

/// dlmalloc's system hooks, as its own unix backing does them (`mmap`,
/// `mremap`, `munmap`), with a [`Meter`].
#[derive(Debug, Default)]
pub struct DlmallocMmap {
    meter: Meter,
}

impl DlmallocMmap {
    /// Hooks with nothing mapped.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            meter: Meter::new(),
        }
    }

    /// The counts so far.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        &self.meter
    }
}

// SAFETY: `alloc` hands out fresh private mappings of the size it reports;
// `remap`, `free_part` and `free` only act on ranges dlmalloc got from
// `alloc`, as the trait's contract says dlmalloc calls them.
//
// The trait's methods are safe functions taking raw pointers: the pointers
// they unmap are trusted because only dlmalloc calls them, with its own
// mappings (the contract of the `unsafe impl`), hence the allow.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
unsafe impl dlmalloc::Allocator for DlmallocMmap {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        match map(size, None, 0) {
            Some(p) => {
                self.meter.add(size);
                (p.as_ptr(), size, 0)
            }
            None => (ptr::null_mut(), 0, 0),
        }
    }

    fn remap(&self, ptr: *mut u8, oldsize: usize, newsize: usize, can_move: bool) -> *mut u8 {
        let flags = if can_move { libc::MREMAP_MAYMOVE } else { 0 };
        // SAFETY: dlmalloc passes a mapping it got from `alloc`, with its
        // size; mremap either moves or resizes it, or fails and leaves it.
        let p = unsafe { libc::mremap(ptr.cast(), oldsize, newsize, flags) };
        if p == libc::MAP_FAILED {
            return ptr::null_mut();
        }
        self.meter.sub(oldsize);
        self.meter.add(newsize);
        p.cast()
    }

    fn free_part(&self, ptr: *mut u8, oldsize: usize, newsize: usize) -> bool {
        // SAFETY: dlmalloc passes a mapping of `oldsize` bytes it got from
        // `alloc` and no longer uses its tail past `newsize`.
        let ok = unsafe {
            libc::mremap(ptr.cast(), oldsize, newsize, 0) != libc::MAP_FAILED
                || unmap(ptr.add(newsize), oldsize - newsize)
        };
        if ok {
            self.meter.sub(oldsize - newsize);
        }
        ok
    }

    fn free(&self, ptr: *mut u8, size: usize) -> bool {
        // SAFETY: dlmalloc passes a whole mapping it got from `alloc` and no
        // longer uses.
        let ok = unsafe { unmap(ptr, size) };
        if ok {
            self.meter.sub(size);
        }
        ok
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        true
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        page_size()
    }
}

// ---------------------------------------------------------------------------
// rlsf

/// rlsf's `FlexSource` as its own unix source does it (mmap in [`UNIT`]s,
/// grow the last pool in place with `MAP_FIXED_NOREPLACE`), plus returning
/// the pools when the allocator is dropped, and a [`Meter`].
#[derive(Debug, Default)]
pub struct RlsfMmap {
    meter: Meter,
}

impl RlsfMmap {
    /// A source with nothing mapped.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            meter: Meter::new(),
        }
    }

    /// The counts so far.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        &self.meter
    }
}

// SAFETY: `alloc` hands out fresh private mappings of the length it reports,
// aligned to pages (at least `min_align`); `realloc_inplace_grow` only adds
// fresh pages right after an existing allocation; `dealloc` unmaps exactly
// what rlsf passes back, which is an allocation made here.
unsafe impl rlsf::FlexSource for RlsfMmap {
    unsafe fn alloc(&mut self, min_size: usize) -> Option<NonNull<[u8]>> {
        let len = round_up(min_size, UNIT)?;
        let p = map(len, None, 0)?;
        self.meter.add(len);
        Some(NonNull::slice_from_raw_parts(p, len))
    }

    unsafe fn realloc_inplace_grow(
        &mut self,
        ptr: NonNull<[u8]>,
        min_new_len: usize,
    ) -> Option<usize> {
        let old = ptr.len();
        let new = round_up(min_new_len, UNIT)?;
        let end = ptr.cast::<u8>().as_ptr().wrapping_add(old);
        map(new - old, Some(end), 0)?;
        self.meter.add(new - old);
        Some(new)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<[u8]>) {
        // SAFETY: rlsf passes back an allocation made by `alloc` (possibly
        // grown in place), whole pages, no longer used.
        if unsafe { unmap(ptr.cast::<u8>().as_ptr(), ptr.len()) } {
            self.meter.sub(ptr.len());
        }
    }

    fn supports_dealloc(&self) -> bool {
        true
    }

    fn supports_realloc_inplace_grow(&self) -> bool {
        true
    }

    fn min_align(&self) -> usize {
        // Every allocation starts at a page boundary.
        4096
    }
}

// ---------------------------------------------------------------------------
// linked_list_allocator

/// A large reservation of address space whose first bytes are handed to a
/// heap that grows at its top (linked_list_allocator's `extend`): the way a
/// program gives it more memory. Only what was handed over is counted.
#[derive(Debug)]
pub struct Region {
    base: NonNull<u8>,
    /// Bytes handed to the heap so far.
    used: usize,
    meter: Meter,
}

impl Region {
    /// Reserves the address space (no memory yet).
    ///
    /// # Panics
    ///
    /// If the OS refuses the reservation.
    #[must_use]
    pub fn new() -> Self {
        let base = map(REGION_RESERVE, None, libc::MAP_NORESERVE)
            .expect("reserving address space for a heap region");
        Self {
            base,
            used: 0,
            meter: Meter::new(),
        }
    }

    /// Reserves the address space at a multiple of `align` (a power of
    /// two, at least a page).
    ///
    /// # Panics
    ///
    /// If the OS refuses the reservation.
    #[must_use]
    pub fn aligned(align: usize) -> Self {
        // Reserve enough to hold an aligned reservation, then give back
        // what lies around it.
        let whole = REGION_RESERVE + align;
        let p = map(whole, None, libc::MAP_NORESERVE)
            .expect("reserving address space for a heap region");
        let head = p.as_ptr().align_offset(align);
        let tail = whole - head - REGION_RESERVE;
        // SAFETY: `head` and `tail` bytes at the two ends of the
        // reservation just made, whole pages (`align` and the reservation
        // are multiples of the page size), used by nothing; the aligned
        // range between them is kept.
        let base = unsafe {
            if head > 0 {
                unmap(p.as_ptr(), head);
            }
            if tail > 0 {
                unmap(p.as_ptr().add(head + REGION_RESERVE), tail);
            }
            p.add(head)
        };
        Self {
            base,
            used: 0,
            meter: Meter::new(),
        }
    }

    /// The first byte not yet handed out.
    #[must_use]
    pub fn top(&self) -> *mut u8 {
        self.base.as_ptr().wrapping_add(self.used)
    }

    /// Hands out the next `by` bytes (whole pages), counting them; `None`
    /// when the reservation is used up.
    pub fn take(&mut self, by: usize) -> Option<NonNull<u8>> {
        if by > REGION_RESERVE - self.used {
            return None;
        }
        // SAFETY: inside the reservation (checked above), so in bounds of
        // one mapping and not null.
        let start = unsafe { self.base.add(self.used) };
        self.used += by;
        self.meter.add(by);
        Some(start)
    }

    /// The counts so far.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Gives `heap` at least enough new memory for `layout`, in [`UNIT`]s:
    /// the first call initialises it, later ones extend it. `false` when the
    /// reservation is used up.
    pub fn grow(&mut self, heap: &mut linked_list_allocator::Heap, layout: Layout) -> bool {
        let need = layout.size() + layout.align() + 4 * size_of::<usize>();
        let Some(by) = round_up(need, UNIT) else {
            return false;
        };
        let first = self.used == 0;
        let Some(start) = self.take(by) else {
            return false;
        };
        if first {
            // SAFETY: the first `by` bytes of the reservation, mapped
            // readable and writable, used by nothing else.
            unsafe { heap.init(start.as_ptr(), by) };
        } else {
            // SAFETY: the `by` bytes right after what the heap already has,
            // inside the reservation, unused.
            unsafe { heap.extend(by) };
        }
        true
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the reservation made in `new`; its heap is dropped before
        // it (the owner declares the heap first).
        unsafe { unmap(self.base.as_ptr(), REGION_RESERVE) };
    }
}

// ---------------------------------------------------------------------------
// buddy_system_allocator

/// Memory for buddy_system_allocator's `Heap`, handed over as its users do
/// when an allocation fails (what its `LockedHeapWithRescue`'s rescue
/// function is for): more of one contiguous [`Region`], `add_to_heap`ed,
/// and the allocation tried again, the way a kernel grows its heap.
///
/// `add_to_heap` cuts a range into blocks aligned to their size, so each
/// step runs from the region's top to the end of the first block of the
/// request's size that is aligned to that size, rounded up to [`UNIT`]s;
/// every byte of it goes to the heap. The region is aligned to
/// [`BUDDY_REGION_ALIGN`], so which blocks can merge does not depend on
/// where the OS put it. (Separate mappings per chunk made the peer's speed
/// depend on how they happened to lie: up to four times apart from one
/// process to the next, as its free walks its lists looking for the
/// buddy.) The heap never gives memory back.
#[derive(Debug)]
pub struct BuddyChunks {
    region: Region,
}

/// The alignment of the region [`BuddyChunks`] hands out: far above the
/// largest block a workload asks for.
pub const BUDDY_REGION_ALIGN: usize = 1 << 30;

impl BuddyChunks {
    /// Reserves the region (no memory yet).
    ///
    /// # Panics
    ///
    /// If the OS refuses the reservation.
    #[must_use]
    pub fn new() -> Self {
        Self {
            region: Region::aligned(BUDDY_REGION_ALIGN),
        }
    }

    /// The counts so far.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        self.region.meter()
    }

    /// Hands over the next range of the region that holds a block of
    /// `block` bytes (a power of two) aligned to its size, as the
    /// `(start, end)` addresses `add_to_heap` takes; `None` when the
    /// reservation is used up.
    pub fn chunk(&mut self, block: usize) -> Option<(usize, usize)> {
        let top = self.region.top().addr();
        let end = round_up(top, block)?.checked_add(block)?;
        let by = round_up(end - top, UNIT)?;
        let start = self.region.take(by)?.as_ptr().addr();
        Some((start, start + by))
    }
}

impl Default for BuddyChunks {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------
// glibc

/// The bytes glibc's malloc holds from the OS (`arena + hblkhd` of
/// `mallinfo2`: the heap grown with `brk` and the chunks it mapped on their
/// own) and the bytes it has handed out (`uordblks + hblkhd`). `None` where
/// `mallinfo2` does not exist.
#[must_use]
pub fn glibc_heap_bytes() -> Option<(usize, usize)> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let m = unsafe { libc::mallinfo2() };
        Some((m.arena + m.hblkhd, m.uordblks + m.hblkhd))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}
