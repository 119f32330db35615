//! The buddy strategy core: a binary buddy system over arenas.
//!
//! Memory comes from the source in *spans*, each asked for at a power of two
//! in size and aligned to that size. A span is carved into *arenas*: blocks
//! of `2^K` bytes aligned to `2^K` (the first at the span's start; a source
//! that hands out more than asked, as wasm32's `memory.grow` does for large
//! alignments, leaves a tail that is carved into further maximal aligned
//! arenas). The heap keeps the arenas in a fixed table sorted by address
//! (at most [`MAX_ARENAS`]), with no header before any block.
//!
//! Inside an arena every block has an *order* `j`: it is `2^j` bytes and its
//! offset from the arena's base is a multiple of `2^j`. The buddy of the
//! block at offset `off` is the block at `off ^ 2^j`; the two are the halves
//! of the block of order `j + 1` at `off & !2^j`. The blocks of an arena form
//! a binary tree, numbered as a binary heap ([`node`]): the arena is node 1,
//! the halves of node `n` are `2n` and `2n + 1`, so a split or a merge is a
//! shift. The arena's first bytes hold its *bitmap*, itself a block of order
//! `meta_order(K) = K - MIN_ORDER - 3` that is never free: one bit per buddy
//! pair, `free(lower) XOR free(upper)`, at the index of the node the pair
//! makes up ([`bit_index`]), so that a free learns whether its buddy is free
//! from one bit. A new arena is the bitmap block and, for each order from
//! `meta_order(K)` to `K - 1`, one free block (the *spine*: the upper halves
//! at offsets `2^j`, whose pair bits are those of nodes `1, 2, 4, ...`: two
//! words say whether the arena is entirely free).
//!
//! Free blocks sit on doubly linked lists, one per order (links in their
//! first two words, so the smallest block, [`MIN_BLOCK`], is two words), and
//! a bit per non-empty list in `nonempty` finds the smallest fitting order
//! with one bit scan. A free block of more than two words also keeps its
//! arena's *tag* (base | order, [`Arena::tag`]) in its third word, so that
//! taking it needs no lookup. Freeing a block finds its arena through the
//! *lookup cache*, a direct-mapped table of tags indexed by the address's
//! 64 KiB granule, checked against the address and refilled from a binary
//! search of the table when it misses.
//!
//! # Invariants
//!
//! 1. **Arenas.** `arenas[..count]` are sorted by base address and disjoint;
//!    each base is a multiple of `2^order`, and `MIN_ARENA_ORDER <= order
//!    <= MAX_ARENA_ORDER`. An arena whose `span_len` is not zero starts a
//!    span of that length; the other arenas lie inside such a span. Every
//!    tag in the lookup cache is the tag of an arena of the table.
//! 2. **Blocks.** Every free block of order `j` lies in an arena of order
//!    `K > j`, at an offset that is a non-zero multiple of `2^j` and at least
//!    `2^meta_order(K)`: no free block overlaps a bitmap.
//! 3. **Lists.** Every free block is on exactly one list, the list of its
//!    order; `prev` links mirror `next` links (a head's `prev` is unused).
//!    Bit `j` of `nonempty` is set exactly when list `j` is non-empty. No two
//!    free blocks overlap. A free block of order above [`MIN_ORDER`] holds
//!    its arena's tag in its third word.
//! 4. **Coalescing.** No free block's buddy is free at the same order.
//! 5. **Bitmap.** The pair bit of order `j` for the pair at offset `p` (a
//!    multiple of `2^(j+1)`) is set exactly when one of the two blocks of
//!    order `j` at `p` and `p + 2^j` is free: with invariant 4, exactly when
//!    one of them is on list `j`. Every other bit of the bitmap block is 0.
//! 6. **Accounting.** `stats.bytes_reserved` is the sum of the `span_len` of
//!    the arenas.
//! 7. **Floor.** Since the last reset, no block of an order below `floor`
//!    has been split off, except in an arena's spine (orders from
//!    `meta_order(K)` up): every free block of order `j` has `j >= floor` or
//!    `j >= meta_order(K)`, so the pair bits of the orders below both are
//!    0 and a reset clears only the bitmap's first `2^(K - f - 3)` bytes, `f`
//!    the lower of the two ([`clear_from`]). A new heap's `floor` is 0 (clear
//!    everything: a zero heap is a valid one).
//!
//! An allocated block keeps no header: its order is recomputed from the
//! layout it is freed or resized with ([`order_of`]), which the `Heap`
//! contract says is the layout it was allocated or last resized with (the
//! adapters report exactly `layout.size()` as a block's length, so
//! allocator-api2 callers cannot free with a larger size).
//!
//! With a source that takes memory back (`mmap`), arenas that make up a
//! whole span and are entirely free are kept up to the heap's recent peak in
//! use ([`Retention`]: a program that frees everything and allocates the same
//! again faults nothing in anew) and released beyond it; other sources keep
//! every arena for reuse.
//!
//! Inlining: `allocate`, `deallocate` and the pieces of their fast paths are
//! always inlined on hosts, where speed is what counts; on wasm32 the two
//! are only `#[inline]`, so the guest's optimisation level decides.

use core::alloc::Layout;
use core::fmt;
use core::mem::size_of;
use core::ptr::{self, NonNull};

use polyalloc_core::layout::dangling;
use polyalloc_core::source::{DefaultSource, Source, Span};
use polyalloc_core::{CheckError, Heap, Recorder, Retention, Stats, Uncounted};

/// A machine word: a list link, a bitmap word.
const WORD: usize = size_of::<usize>();
/// The order of the smallest block: two words, room for the list links
/// (16 bytes on 64-bit targets, 8 on wasm32).
pub(crate) const MIN_ORDER: u32 = (2 * WORD).trailing_zeros();
/// The smallest block.
pub(crate) const MIN_BLOCK: usize = 1 << MIN_ORDER;
/// One list head per possible order (only `MIN_ORDER..MAX_ARENA_ORDER` are
/// used).
pub(crate) const ORDERS: usize = usize::BITS as usize;
/// The largest arena: `2^62` bytes on 64-bit targets, 1 GiB on wasm32; far
/// enough below `usize::MAX` that no offset arithmetic overflows.
pub(crate) const MAX_ARENA_ORDER: u32 = usize::BITS - 2;
/// The largest block: half the largest arena (the other half holds the
/// bitmap).
pub(crate) const MAX_BLOCK_ORDER: u32 = MAX_ARENA_ORDER - 1;
/// The smallest arena (4 KiB): small enough to use the ends of a caller's
/// region, large enough that its bitmap is a block of at least
/// [`MIN_BLOCK`].
pub(crate) const MIN_ARENA_ORDER: u32 = 12;
/// The arena asked for first (64 KiB, one wasm page).
const FIRST_ARENA_ORDER: u32 = 16;
/// log2 of the address granule of the arena lookup cache: 64 KiB, the
/// first arena's size.
const LOOKUP_SHIFT: u32 = 16;
/// Entries of the arena lookup cache: 64 MiB of addresses before two
/// granules share an entry.
const LOOKUP: usize = 1024;
/// The size of the arena table. Arenas grow with the heap (each at least
/// half of what is reserved), so this many cover any address space.
pub(crate) const MAX_ARENAS: usize = 64;

/// Spine blocks per arena: orders `meta_order(K)` to `K - 1`.
const SPINE: u32 = MIN_ORDER + 3;
/// The low bits of an arena's tag that hold its order.
const TAG_ORDER: usize = (1 << MIN_ARENA_ORDER) - 1;

// The bitmap of the smallest arena is at least one block.
const _: () = assert!(MIN_ARENA_ORDER >= 2 * MIN_ORDER + 3);
const _: () = assert!(FIRST_ARENA_ORDER >= MIN_ARENA_ORDER && FIRST_ARENA_ORDER <= MAX_ARENA_ORDER);

/// The order of the bitmap block of an arena of order `k`: the arena has
/// `2^(k - MIN_ORDER) - 1` buddy pairs over all orders, a bit each.
#[inline(always)]
pub(crate) const fn meta_order(k: u32) -> u32 {
    k - MIN_ORDER - 3
}

/// The lowest order whose pair bits a reset of an arena of order `k` must
/// clear when no block below order `floor` was split off since the last one
/// (invariant 7): the lower of `floor` and the spine's lowest order, and at
/// least [`MIN_ORDER`]. The bits of the orders from there up are the first
/// `2^(k - clear_from - 3)` bytes of the bitmap (the tree numbering puts
/// larger orders first).
#[inline(always)]
pub(crate) const fn clear_from(k: u32, floor: usize) -> u32 {
    let m = meta_order(k);
    let f = if floor < m as usize { floor as u32 } else { m };
    if f < MIN_ORDER { MIN_ORDER } else { f }
}

/// The order of the block serving `layout`: `ceil(log2(max(size, align,
/// MIN_BLOCK)))`, or `None` past [`MAX_BLOCK_ORDER`] and for a zero size
/// (which the callers serve with a dangling pointer). A block of that order
/// is aligned to its size, so alignment costs nothing beyond rounding.
#[inline(always)]
pub(crate) fn order_of(layout: Layout) -> Option<u32> {
    // `ceil(log2(max(a, b))) = max(ceil(log2 a), ceil(log2 b))`, and for
    // `x >= 1` that is the bit length of `x - 1`: the bit length of the OR
    // is the largest. A zero size wraps to `usize::MAX`, which fails.
    let bits = layout.size().wrapping_sub(1) | (layout.align() - 1) | (MIN_BLOCK - 1);
    let k = usize::BITS - bits.leading_zeros();
    (k <= MAX_BLOCK_ORDER).then_some(k)
}

/// The node of the block of order `j` at offset `off` in an arena of order
/// `k`. The blocks of an arena form a binary tree numbered as a binary heap:
/// the arena is node 1 and the halves of node `n` are `2n` (lower) and
/// `2n + 1` (upper). So the buddy of node `n` is `n ^ 1`, the block they
/// make together is `n >> 1`, and a split or a merge is a shift.
#[inline(always)]
pub(crate) const fn node(k: u32, j: u32, off: usize) -> usize {
    (1 << (k - j)) | (off >> j)
}

/// The index of the pair bit of the block of order `j` at offset `off` in
/// an arena of order `k`: the node of the block the pair makes up (1 for
/// the arena's halves, up to `2^(k - MIN_ORDER) - 1` for the smallest
/// blocks). Bit 0 is never used.
#[inline(always)]
pub(crate) const fn bit_index(k: u32, j: u32, off: usize) -> usize {
    node(k, j, off) >> 1
}

/// One arena of the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arena {
    /// The first byte (the bitmap's), with provenance over the arena.
    pub(crate) base: *mut u8,
    /// `K`: the arena is `2^K` bytes, aligned to `2^K`.
    pub(crate) order: u32,
    /// Explicit zero bytes where padding would be, so that a new heap is
    /// all initialised zero bytes.
    _pad: [u8; WORD - 4],
    /// The length of the span this arena starts, or 0 if it lies inside a
    /// span another arena starts.
    pub(crate) span_len: usize,
}

impl Arena {
    /// An unused table entry: all zero bytes.
    const EMPTY: Self = Self {
        base: ptr::null_mut(),
        order: 0,
        _pad: [0; WORD - 4],
        span_len: 0,
    };

    /// The arena's size in bytes.
    #[inline(always)]
    pub(crate) const fn size(&self) -> usize {
        1 << self.order
    }

    /// The block at offset `off`.
    ///
    /// # Safety
    ///
    /// `off` is less than the arena's size.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, off: usize) -> *mut u8 {
        // SAFETY: the offset lies inside the arena, a live allocation.
        unsafe { self.base.add(off) }
    }

    /// The pair bit of order `j` for offset `off`.
    ///
    /// # Safety
    ///
    /// `MIN_ORDER <= j < order` and `off` lies in the arena, which is live.
    #[inline(always)]
    pub(crate) unsafe fn bit(&self, j: u32, off: usize) -> bool {
        // SAFETY: forwarded.
        unsafe { self.pair_bit(bit_index(self.order, j, off)) }
    }

    /// Flips pair bit `i` (a node number, [`bit_index`]); returns its new
    /// value.
    ///
    /// # Safety
    ///
    /// `0 < i < 2^(order - MIN_ORDER)` and the arena is live.
    #[inline(always)]
    pub(crate) unsafe fn toggle(&self, i: usize) -> bool {
        // SAFETY: the bit lies in the bitmap block at the arena's start,
        // which is word-aligned.
        unsafe {
            let w = self.base.cast::<usize>().add(i / usize::BITS as usize);
            let v = w.read() ^ (1 << (i % usize::BITS as usize));
            w.write(v);
            v >> (i % usize::BITS as usize) & 1 != 0
        }
    }

    /// The pair bit with index `i`.
    ///
    /// # Safety
    ///
    /// `0 < i < 2^(order - MIN_ORDER)` and the arena is live.
    #[inline(always)]
    unsafe fn pair_bit(&self, i: usize) -> bool {
        // SAFETY: the bit lies in the bitmap block at the arena's start,
        // which is word-aligned.
        let w = unsafe {
            self.base
                .cast::<usize>()
                .add(i / usize::BITS as usize)
                .read()
        };
        w >> (i % usize::BITS as usize) & 1 != 0
    }

    /// Whether every block of the arena is free: its spine blocks (the
    /// upper halves at `2^j` for `j` from `meta_order(K)` to `K - 1`, whose
    /// lower halves hold the bitmap) are all free, which their pair bits
    /// say. Those are the bits of nodes `2^t` for `t < SPINE`, the same in
    /// every arena: two words of the bitmap.
    ///
    /// # Safety
    ///
    /// The arena is live.
    #[inline(always)]
    pub(crate) unsafe fn is_empty(&self) -> bool {
        // SAFETY: `2^t < 2^SPINE <= 2^(order - MIN_ORDER)`.
        (0..SPINE).all(|t| unsafe { self.pair_bit(1 << t) })
    }

    /// The arena's *tag*: its base with its order in the low bits (the base
    /// is aligned to at least 4 KiB), kept in every free block of more than
    /// two words so that taking one needs no lookup.
    #[inline(always)]
    fn tag(&self) -> *mut u8 {
        self.base.map_addr(|a| a | self.order as usize)
    }

    /// The base and order of the arena with tag `tag`, as an arena value
    /// for its bitmap and blocks (its `span_len` is not known: 0).
    #[inline(always)]
    fn from_tag(tag: *mut u8) -> Self {
        Self {
            base: tag.map_addr(|a| a & !TAG_ORDER),
            order: (tag.addr() & TAG_ORDER) as u32,
            _pad: [0; WORD - 4],
            span_len: 0,
        }
    }
}

/// The `next` link of free block `b`.
///
/// # Safety
///
/// `b` is a free block of a live arena.
#[inline(always)]
pub(crate) unsafe fn next_free(b: *mut u8) -> *mut u8 {
    // SAFETY: a free block is at least two words; word 0 is `next`.
    unsafe { b.cast::<*mut u8>().read() }
}

/// The `prev` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
pub(crate) unsafe fn prev_free(b: *mut u8) -> *mut u8 {
    // SAFETY: word 1 of a free block is `prev`.
    unsafe { b.cast::<*mut u8>().add(1).read() }
}

/// The tag of the arena of free block `b` ([`Arena::tag`]).
///
/// # Safety
///
/// `b` is a free block of order above [`MIN_ORDER`] of a live arena.
#[inline(always)]
unsafe fn tag_of(b: *mut u8) -> *mut u8 {
    // SAFETY: such a block is at least four words; word 2 is the tag.
    unsafe { b.cast::<*mut u8>().add(2).read() }
}

/// Sets the arena tag of free block `b`.
///
/// # Safety
///
/// As for [`tag_of`].
#[inline(always)]
unsafe fn set_tag(b: *mut u8, tag: *mut u8) {
    // SAFETY: as for `tag_of`.
    unsafe { b.cast::<*mut u8>().add(2).write(tag) }
}

/// Sets the `next` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
unsafe fn set_next_free(b: *mut u8, next: *mut u8) {
    // SAFETY: as for `next_free`.
    unsafe { b.cast::<*mut u8>().write(next) }
}

/// Sets the `prev` link of free block `b`.
///
/// # Safety
///
/// As for [`next_free`].
#[inline(always)]
unsafe fn set_prev_free(b: *mut u8, prev: *mut u8) {
    // SAFETY: as for `prev_free`.
    unsafe { b.cast::<*mut u8>().add(1).write(prev) }
}

/// The single-threaded buddy heap over a [`Source`].
///
/// `R` picks what it counts: [`Uncounted`] (the default) keeps only the
/// bytes reserved from the source; [`Counting`](polyalloc_core::Counting)
/// keeps every counter of [`Stats`].
///
/// A new heap is all zero bytes (with a source that is), so a `static` of
/// it takes no data segment in a wasm module.
///
/// See the [crate docs](crate) for what it is for, and the module source for
/// its invariants.
pub struct BuddyHeap<S: Source = DefaultSource, R: Recorder = Uncounted> {
    /// Bit `j` set when list `j` is non-empty (invariant 3).
    nonempty: usize,
    /// The first free block of each order, or null.
    heads: [*mut u8; ORDERS],
    /// The arenas, sorted by address (invariant 1); `arenas[count..]` are
    /// unused.
    arenas: [Arena; MAX_ARENAS],
    /// The arena lookup cache: entry `(addr >> LOOKUP_SHIFT) % LOOKUP` holds
    /// the tag ([`Arena::tag`]) of the arena last found for an address of
    /// that granule, or null. An entry is used only when its arena holds the
    /// address; the cache is cleared whenever an arena leaves the table, so
    /// every tag in it is an arena's of the table.
    lookup: [*mut u8; LOOKUP],
    /// Arenas in use.
    count: usize,
    /// The lowest order a block has been split to since the last reset
    /// (invariant 7): a reset clears the pair bits of this order and above.
    /// A word, not a `u32`, so the heap has no padding (a new heap is all
    /// initialised zero bytes).
    floor: usize,
    /// How many bytes of entirely free arenas to keep from a source that
    /// takes memory back.
    retention: Retention,
    stats: R,
    source: S,
}

// SAFETY: the heap exclusively owns every arena it points to; nothing else
// holds those pointers, so moving the heap to another thread moves that
// ownership. The source must be `Send` for the same reason.
unsafe impl<S: Source + Send, R: Recorder> Send for BuddyHeap<S, R> {}

polyalloc_core::heap_constructors!(BuddyHeap);

impl<S: Source, R: Recorder> BuddyHeap<S, R> {
    /// An empty heap over `source` with the recorder `R` named by the type
    /// (`BuddyHeap::<_, Counting>::with_recorder(source)`); for code generic
    /// over the recorder. Reserves nothing until the first allocation.
    #[must_use]
    pub const fn with_recorder(source: S) -> Self {
        Self {
            nonempty: 0,
            heads: [ptr::null_mut(); ORDERS],
            arenas: [Arena::EMPTY; MAX_ARENAS],
            lookup: [ptr::null_mut(); LOOKUP],
            count: 0,
            floor: 0,
            retention: Retention::new(),
            stats: R::NEW,
            source,
        }
    }

    /// The source the heap takes spans from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The number of arenas the heap holds.
    #[must_use]
    pub fn arena_count(&self) -> usize {
        self.count
    }

    /// Bytes in free blocks (a walk of the lists: for tests and
    /// diagnostics, not for fast paths).
    #[must_use]
    pub fn free_bytes(&self) -> usize {
        let mut total = 0;
        for (j, &head) in self.heads.iter().enumerate() {
            let mut b = head;
            while !b.is_null() {
                total += 1 << j;
                // SAFETY: every list holds free blocks of live arenas
                // (invariant 3).
                b = unsafe { next_free(b) };
            }
        }
        total
    }

    /// The arenas in use.
    pub(crate) fn arenas(&self) -> &[Arena] {
        &self.arenas[..self.count]
    }

    /// The index of the arena holding `addr`: a binary search of the table.
    #[inline]
    fn arena_index(&self, addr: usize) -> Option<usize> {
        let arenas = self.arenas();
        let i = arenas.partition_point(|a| a.base.addr() <= addr);
        let a = arenas.get(i.wrapping_sub(1))?;
        (addr - a.base.addr() < a.size()).then_some(i - 1)
    }

    /// The arena holding `addr` (for its bitmap and blocks: its `span_len`
    /// reads 0), through the lookup cache: the arena its entry names if that
    /// arena holds `addr` (the arenas are disjoint, so it is the one), else
    /// a binary search that refills the entry.
    #[inline(always)]
    fn arena_of(&mut self, ptr: NonNull<u8>) -> Option<Arena> {
        self.tag_at(ptr).map(|t| Arena::from_tag(t.as_ptr()))
    }

    /// The tag ([`Arena::tag`]) of the arena holding `ptr`, through the
    /// lookup cache, as [`arena_of`](Self::arena_of) finds it: a free
    /// passes it on to the block it pushes, with no need to rebuild it.
    #[inline(always)]
    fn tag_at(&mut self, ptr: NonNull<u8>) -> Option<NonNull<u8>> {
        let addr = ptr.as_ptr().addr();
        let slot = (addr >> LOOKUP_SHIFT) % LOOKUP;
        let tag = self.lookup[slot];
        let arena = Arena::from_tag(tag);
        // A null entry reads as an arena of order 0 at 0, which holds only
        // address 0, never a block's.
        if addr.wrapping_sub(arena.base.addr()) < arena.size() {
            // SAFETY: the entry's arena holds `addr`, which is not 0, so
            // the entry is not the null one.
            Some(unsafe { NonNull::new_unchecked(tag) })
        } else {
            self.arena_miss(addr, slot)
        }
    }

    /// Arena `i`, below `count`; the index is taken modulo the table's
    /// size, which changes no index below `count` and spares the bounds
    /// check on the fast paths.
    #[inline(always)]
    fn arena(&self, i: usize) -> &Arena {
        &self.arenas[i % MAX_ARENAS]
    }

    /// [`tag_at`](Self::tag_at) when the cache misses.
    #[cold]
    #[inline(never)]
    fn arena_miss(&mut self, addr: usize, slot: usize) -> Option<NonNull<u8>> {
        let tag = self.arenas[self.arena_index(addr)?].tag();
        self.lookup[slot] = tag;
        // An arena's base is never null, nor is its tag.
        NonNull::new(tag)
    }

    /// Frees the block of order `k` at offset `off` of `arena` (whose tag
    /// is `tag`), and hands the arena to the retention policy if that
    /// emptied it.
    ///
    /// # Safety
    ///
    /// As for [`free_block`](Self::free_block), and `tag` is `arena`'s.
    #[inline(always)]
    unsafe fn free_in(&mut self, arena: &Arena, tag: *mut u8, off: usize, k: u32) {
        // SAFETY: forwarded from the caller: once freed, the block is no
        // longer handed out.
        let (off, k) = unsafe { self.free_block(arena, tag, off, k) };
        // A spine block freed: the arena may be empty, and may go back to a
        // source that takes memory back (the test folds away for one that
        // does not).
        // SAFETY: `arena` is live.
        if self.source.can_release() && off == 1 << k && unsafe { arena.is_empty() } {
            self.emptied(arena.base.addr());
        }
    }

    /// [`deallocate`](Heap::deallocate) when the lookup cache's entry
    /// `slot` does not name the block's arena: refills it, then frees.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of order `k` of this heap, freed by the call.
    #[cold]
    #[inline(never)]
    unsafe fn deallocate_missed(&mut self, ptr: NonNull<u8>, k: u32, slot: usize) {
        let Some(tag) = self.arena_miss(ptr.as_ptr().addr(), slot) else {
            debug_assert!(false, "freed a block this heap does not hold");
            return;
        };
        let arena = Arena::from_tag(tag.as_ptr());
        let off = ptr.as_ptr().addr() - arena.base.addr();
        // SAFETY: forwarded from the caller; `ptr` lies in `arena`.
        unsafe { self.free_in(&arena, tag.as_ptr(), off, k) };
    }

    // ---- lists ---------------------------------------------------------

    /// Puts free block `b` at the head of list `j`; a block of more than two
    /// words also keeps `tag`, its arena's tag, in its third.
    ///
    /// # Safety
    ///
    /// `b` is a free block of order `j` of the live arena whose tag is
    /// `tag`, on no list.
    /// (A head's `prev` link is never read, so it is never written: a push
    /// or a pop touches no block but the one it moves and, for a push, the
    /// old head.)
    #[inline(always)]
    unsafe fn push(&mut self, b: *mut u8, j: u32, tag: *mut u8) {
        let head = self.heads[j as usize % ORDERS];
        // SAFETY: `b` is free and `head`, if any, is a free block on a list.
        unsafe {
            set_next_free(b, head);
            if j > MIN_ORDER {
                set_tag(b, tag);
            }
            if !head.is_null() {
                set_prev_free(head, b);
            }
        }
        self.heads[j as usize % ORDERS] = b;
        self.nonempty |= 1 << j;
    }

    /// Takes free block `b` off list `j`.
    ///
    /// # Safety
    ///
    /// `b` is a free block on list `j`.
    #[inline(always)]
    unsafe fn unlink(&mut self, b: *mut u8, j: u32) {
        if self.heads[j as usize % ORDERS] == b {
            // SAFETY: forwarded.
            unsafe { self.pop(b, j) };
            return;
        }
        // SAFETY: `b` is not the head, so its `prev` link is valid; it and
        // its neighbours on the list are free blocks.
        unsafe {
            let next = next_free(b);
            let prev = prev_free(b);
            set_next_free(prev, next);
            if !next.is_null() {
                set_prev_free(next, prev);
            }
        }
    }

    /// Takes free block `b`, the head of list `j`, off the list. The next
    /// block becomes the head; its `prev` link is left as it is.
    ///
    /// # Safety
    ///
    /// `b` is the head of list `j`.
    #[inline(always)]
    unsafe fn pop(&mut self, b: *mut u8, j: u32) {
        // SAFETY: `b` is a free block.
        let next = unsafe { next_free(b) };
        self.heads[j as usize % ORDERS] = next;
        if next.is_null() {
            self.nonempty &= !(1 << j);
        }
    }

    // ---- blocks --------------------------------------------------------

    /// Takes the first free block of order `j` (its list is non-empty) and
    /// makes it an allocated block of order `k <= j`, halving it and freeing
    /// the upper halves. Returns the block.
    ///
    /// The lists of orders `k` to `j - 1` are empty (`j` is the smallest
    /// order at or above `k` with a free block), so each upper half becomes
    /// the only block of its list: no old head to link to, and their
    /// non-empty bits are set at once.
    ///
    /// # Safety
    ///
    /// List `j` is non-empty, `k <= j`, and the lists of orders `k` to
    /// `j - 1` are empty.
    #[inline(always)]
    unsafe fn take(&mut self, j: u32, k: u32) -> Option<*mut u8> {
        let b = self.heads[j as usize % ORDERS];
        let tag = if j > MIN_ORDER {
            // SAFETY: `b` is free, of order `j`.
            unsafe { tag_of(b) }
        } else {
            // SAFETY: a free block of an arena is never at address 0.
            self.tag_at(unsafe { NonNull::new_unchecked(b) })?.as_ptr()
        };
        let arena = Arena::from_tag(tag);
        let off = b.addr() - arena.base.addr();
        let mut n = node(arena.order, j, off);
        // SAFETY: `b` heads list `j` (the caller), in `arena` with `j`
        // below its order (invariant 2); the halves split off lie inside it,
        // and their nodes are below `2^(order - MIN_ORDER)`.
        unsafe {
            #[cfg(feature = "checking")]
            checking::verify_free(b, j, k);
            #[cfg(feature = "checking")]
            let from = j;
            self.pop(b, j);
            arena.toggle(n >> 1);
            if j > k {
                // Invariant 7: blocks of order `k` exist from now on.
                self.floor = self.floor.min(k as usize);
                // Lists `k..j` each get their only block below.
                self.nonempty |= (1 << j) - (1 << k);
            }
            let mut j = j;
            while j > k {
                // Split: keep the lower half (node `2n`), free the upper
                // (`2n + 1`); their pair bit is the bit of node `n`. The
                // upper half is alone on its list (the caller): the list's
                // head, with no next and (as for any head) no prev.
                j -= 1;
                debug_assert!(
                    self.heads[j as usize].is_null(),
                    "split onto a non-empty list"
                );
                let half = arena.at(off + (1 << j));
                set_next_free(half, ptr::null_mut());
                if j > MIN_ORDER {
                    set_tag(half, tag);
                }
                self.heads[j as usize % ORDERS] = half;
                #[cfg(feature = "checking")]
                checking::poison_split(half, j, from);
                arena.toggle(n);
                n <<= 1;
            }
        }
        Some(b)
    }

    /// Frees the block of order `k` at offset `off` of `arena`, merging it
    /// with its buddy for as long as the buddy is free. Returns the offset
    /// and order of the free block that results.
    ///
    /// # Safety
    ///
    /// The `2^k` bytes at `off` are a block of `arena` (a live arena of the
    /// table, `k` below its order, `off` a non-zero multiple of `2^k` past
    /// the bitmap) that is no longer handed out and on no list.
    #[inline(always)]
    unsafe fn free_block(
        &mut self,
        arena: &Arena,
        tag: *mut u8,
        mut off: usize,
        mut k: u32,
    ) -> (usize, u32) {
        let mut n = node(arena.order, k, off);
        // SAFETY: the buddy and the merged blocks lie in the arena: the
        // bitmap's side of the arena is never free, so the pair bit of
        // order `K - 1` (node 1) never reads "both free" and `k` stays below
        // `K`.
        unsafe {
            while !arena.toggle(n >> 1) {
                // Both halves are free: the buddy (node `n ^ 1`) leaves its
                // list, the pair bit returns to 0 (neither half is free at
                // `k` any more), and the parent (`n >> 1`) is freed.
                self.unlink(arena.at(off ^ (1 << k)), k);
                off &= !(1 << k);
                k += 1;
                n >>= 1;
                debug_assert!(k < arena.order, "merged past the arena");
            }
            self.push(arena.at(off), k, tag);
            #[cfg(feature = "checking")]
            checking::poison_free(arena.at(off), k);
        }
        (off, k)
    }

    /// Resizes the block at `ptr` from order `ko` to `kn` without moving it:
    /// halves it (freeing the upper halves) or absorbs its free buddies.
    /// Returns `false`, changing nothing, when it cannot.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of order `ko` of this heap.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, ko: u32, kn: u32) -> bool {
        if kn == ko {
            return true;
        }
        let Some(arena) = self.arena_of(ptr) else {
            return false;
        };
        let off = ptr.as_ptr().addr() - arena.base.addr();
        let k = arena.order;
        // SAFETY: `ptr` is a block of order `ko` of `arena`; every half and
        // buddy named below lies inside it, at orders below the arena's.
        unsafe {
            if kn < ko {
                // The upper halves become free; their buddies (the lower
                // halves) are still ours, so nothing merges.
                self.floor = self.floor.min(kn as usize);
                for j in (kn..ko).rev() {
                    let r = off + (1 << j);
                    self.push(arena.at(r), j, arena.tag());
                    #[cfg(feature = "checking")]
                    checking::poison_free(arena.at(r), j);
                    arena.toggle(bit_index(k, j, r));
                }
                return true;
            }
            if kn >= arena.order {
                return false;
            }
            // The block must be the lower half at each order up to `kn`, and
            // each upper half free: the lower half (holding the block) is
            // not free, so the pair bit says whether the upper half is.
            for j in ko..kn {
                if off & (1 << j) != 0 || !arena.bit(j, off) {
                    return false;
                }
            }
            for j in ko..kn {
                let r = off + (1 << j);
                self.unlink(arena.at(r), j);
                arena.toggle(bit_index(k, j, r));
            }
        }
        true
    }

    // ---- arenas --------------------------------------------------------

    /// Gets a span from the source for a block of order `k` and lays it out
    /// as arenas. The span is at least twice the block (the bitmap takes the
    /// first bytes of the arena's lower half) and at least half of what is
    /// already reserved, so arenas grow geometrically and few cover any heap;
    /// when the source cannot give that much, the ask is halved down to what
    /// `k` needs.
    #[cold]
    #[inline(never)]
    fn extend(&mut self, k: u32) -> Option<()> {
        let lowest = (k + 1).max(MIN_ARENA_ORDER);
        if lowest > MAX_ARENA_ORDER || self.count == MAX_ARENAS {
            return None;
        }
        let half = self.stats.bytes_reserved() / 2;
        let grown = usize::BITS - half.saturating_sub(1).leading_zeros();
        let mut order = lowest
            .max(FIRST_ARENA_ORDER)
            .max(grown)
            .min(MAX_ARENA_ORDER);
        let span = loop {
            if let Some(span) = self.acquire(order) {
                break span;
            }
            if order == lowest {
                return None;
            }
            order -= 1;
        };
        self.stats.record_reserve(span.len());
        let start = span.ptr().as_ptr();
        // The span as maximal aligned arenas, the first at its start (which
        // holds the span's length): one arena of `2^order` when the source
        // gave exactly what was asked.
        let mut at = 0usize;
        while self.count < MAX_ARENAS {
            let rest = span.len() - at;
            let addr = span.start() + at;
            let fits = usize::BITS - 1 - (rest | 1).leading_zeros();
            let o = fits.min(addr.trailing_zeros()).min(MAX_ARENA_ORDER);
            if rest == 0 || o < MIN_ARENA_ORDER {
                break;
            }
            let span_len = if at == 0 { span.len() } else { 0 };
            // SAFETY: `2^o` bytes at `at` lie in the span, unused, and
            // `addr` is a multiple of `2^o`.
            unsafe { self.add_arena(start.add(at), o, span_len) };
            at += 1 << o;
        }
        // Every ask is aligned to at least `2^MIN_ARENA_ORDER` and at least
        // that long (the source's contract), so the first arena exists and
        // holds the span (invariant 6).
        debug_assert!(at > 0, "a span too small for an arena");
        Some(())
    }

    /// Asks the source for a span holding an aligned arena of `2^order`
    /// bytes: `2^order` bytes aligned to their size. Miri cannot unmap part
    /// of a mapping, which is how `mmap` meets alignments above a page, so
    /// under Miri the ask is twice the size at page alignment (the span then
    /// holds the aligned arena among others, see [`extend`](Self::extend)).
    fn acquire(&mut self, order: u32) -> Option<Span> {
        let size = 1usize << order;
        if cfg!(miri) {
            let align = 1 << MIN_ARENA_ORDER;
            self.source.acquire(size.checked_mul(2)?, align)
        } else {
            self.source.acquire(size, size)
        }
    }

    /// Enters a fresh arena of order `order` at `base` into the table and
    /// lays it out empty.
    ///
    /// # Safety
    ///
    /// `2^order` bytes at `base` are memory of ours, aligned to `2^order`,
    /// in no arena; `order` is between the arena bounds; the table has room.
    unsafe fn add_arena(&mut self, base: *mut u8, order: u32, span_len: usize) {
        let arena = Arena {
            base,
            order,
            _pad: [0; WORD - 4],
            span_len,
        };
        let i = self
            .arenas()
            .partition_point(|a| a.base.addr() < base.addr());
        self.arenas.copy_within(i..self.count, i + 1);
        self.arenas[i] = arena;
        self.count += 1;
        // SAFETY: forwarded from the caller. The memory may hold anything:
        // the whole bitmap is cleared.
        unsafe { self.lay_out_empty(i, 0) };
    }

    /// Writes arena `i` empty: a zero bitmap and the spine of free blocks.
    /// Only the pair bits of order `from` and above are cleared
    /// ([`clear_from`]); those below must be 0 already.
    ///
    /// # Safety
    ///
    /// Arena `i` is a live arena of the table none of whose blocks is on a
    /// list or handed out, and its pair bits of the orders below
    /// `clear_from(K, from)` are 0.
    unsafe fn lay_out_empty(&mut self, i: usize, from: usize) {
        let arena = *self.arena(i);
        let m = meta_order(arena.order);
        // SAFETY: the bitmap block is the first `2^m` bytes of the arena,
        // and the bytes cleared are a prefix of it; the spine blocks at
        // `2^j` lie inside the arena.
        unsafe {
            arena
                .base
                .write_bytes(0, 1 << (arena.order - clear_from(arena.order, from) - 3));
            for j in m..arena.order {
                self.push(arena.at(1 << j), j, arena.tag());
                #[cfg(feature = "checking")]
                checking::poison_free(arena.at(1 << j), j);
                arena.toggle(bit_index(arena.order, j, 1 << j));
            }
        }
    }

    /// Whether `a` is a whole span and entirely free: an arena that could go
    /// back to the source.
    fn is_releasable(a: &Arena) -> bool {
        // SAFETY: every arena of the table is live.
        a.span_len == a.size() && unsafe { a.is_empty() }
    }

    /// `arena`, a whole span, has just become entirely free: asks the
    /// retention policy how many bytes of such arenas to keep, and releases
    /// the rest.
    #[cold]
    #[inline(never)]
    fn emptied(&mut self, base: usize) {
        let Some(i) = self.arena_index(base) else {
            return;
        };
        let arena = self.arenas[i];
        if arena.span_len != arena.size() {
            return;
        }
        let empty: usize = self
            .arenas()
            .iter()
            .filter(|a| Self::is_releasable(a))
            .map(Arena::size)
            .sum();
        let in_use = self.stats.bytes_reserved() - empty;
        let keep = self.retention.emptied(arena.size(), in_use);
        if empty > keep {
            self.release_empty_arenas(keep);
        }
    }

    /// Gives entirely free arenas that make up a whole span back to a
    /// source that takes memory back, keeping the first of them (in address
    /// order) up to `keep` bytes in all. Returns the bytes released.
    fn release_empty_arenas(&mut self, keep: usize) -> usize {
        if !self.source.can_release() {
            return 0;
        }
        let (mut kept, mut released) = (0usize, 0usize);
        let mut i = 0;
        while i < self.count {
            let a = self.arenas[i];
            if !Self::is_releasable(&a) {
                i += 1;
                continue;
            }
            if kept + a.size() <= keep {
                kept += a.size();
                i += 1;
                continue;
            }
            let m = meta_order(a.order);
            // SAFETY: the arena is empty: its spine blocks are free, on
            // their lists (invariant 3); it is a whole span the source
            // handed out, and none of its blocks is used again once the
            // source takes it.
            unsafe {
                for j in m..a.order {
                    self.unlink(a.at(1 << j), j);
                }
                self.arenas.copy_within(i + 1..self.count, i);
                self.count -= 1;
                let whole = Span::new(NonNull::new_unchecked(a.base), a.span_len);
                if self.source.release(whole) {
                    self.stats.record_release(a.span_len);
                    released += a.span_len;
                } else {
                    // The source kept it after all: keep using it.
                    self.arenas.copy_within(i..self.count, i + 1);
                    self.arenas[i] = a;
                    self.count += 1;
                    for j in m..a.order {
                        self.push(a.at(1 << j), j, a.tag());
                    }
                    i += 1;
                }
            }
        }
        if released > 0 {
            // No tag of a released arena may stay in the cache: its
            // addresses may come back as an arena of another order.
            self.lookup = [ptr::null_mut(); LOOKUP];
        }
        released
    }

    /// Gives every entirely free arena that makes up a whole span back to
    /// the source, if it takes memory back (`mmap`; not wasm32's
    /// `memory.grow` or a region), and returns the bytes released. Frees
    /// keep empty arenas up to the heap's recent peak in use
    /// ([`Retention`]), so a program that frees everything and starts again
    /// does not fault its pages in anew; `trim` is for a program that knows
    /// it is done with them, and forgets that peak.
    ///
    /// On a [`LockedHeap`](polyalloc_core::LockedHeap) (a `BuddyAlloc`),
    /// call it through `lock_heap`.
    pub fn trim(&mut self) -> usize {
        self.retention.forget();
        self.release_empty_arenas(0)
    }
}

// SAFETY: blocks are carved from arenas of spans the source handed out.
// `take` hands out a block that was free, and only blocks being freed or
// resized become free again, so live blocks are disjoint (invariants 2-3).
// A block of order `k` is aligned to `2^k` (arena bases are aligned to their
// size), and `order_of` makes `2^k` at least the size and the alignment. A
// failed request returns before changing any block. No method panics: the
// order arithmetic is bounded by `MAX_ARENA_ORDER` and every index is checked.
unsafe impl<S: Source, R: Recorder> Heap for BuddyHeap<S, R> {
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let Some(k) = order_of(layout) else {
            // A zero size wraps past every order (see `order_of`): it gets a
            // dangling pointer. Any other request past them fails.
            return (layout.size() == 0).then(|| dangling(layout.align()));
        };
        let mut fit = self.nonempty & (usize::MAX << k);
        if fit == 0 {
            self.extend(k)?;
            fit = self.nonempty & (usize::MAX << k);
            if fit == 0 {
                return None;
            }
        }
        // SAFETY: bit `j` of `nonempty` says list `j` is non-empty
        // (invariant 3), `j >= k`, and `j` is the lowest such bit at or
        // above `k`: the lists of orders `k..j` are empty.
        let b = unsafe { self.take(fit.trailing_zeros(), k)? };
        self.stats.record_alloc(layout.size());
        // SAFETY: a block in an arena is never at address 0.
        Some(unsafe { NonNull::new_unchecked(b) })
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // A zero size has no order (see `allocate`): its block is a dangling
        // pointer, and freeing it does nothing.
        let Some(k) = order_of(layout) else {
            return;
        };
        #[cfg(feature = "checking")]
        self.check_free(ptr, layout);
        self.stats.record_dealloc(layout.size());
        // The lookup cache, inline here so that the arena it finds is used
        // as found: a miss takes the whole free out of line.
        let addr = ptr.as_ptr().addr();
        let slot = (addr >> LOOKUP_SHIFT) % LOOKUP;
        let tag = self.lookup[slot];
        let arena = Arena::from_tag(tag);
        let off = addr.wrapping_sub(arena.base.addr());
        if off >= arena.size() {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_missed(ptr, k, slot) };
            return;
        }
        // SAFETY: `ptr` is a live block of order `k` of this heap (the
        // caller), so of `arena`, whose tag is `tag`.
        unsafe { self.free_in(&arena, tag, off, k) };
    }

    #[inline]
    unsafe fn grow_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.shrink_in_place(ptr, old, new) }
    }

    #[inline]
    unsafe fn shrink_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> bool {
        // A zero-size block is dangling, and a block shrunk to nothing must
        // become dangling (freeing it with a zero size is a no-op): both
        // take a move.
        if old.size() == 0 || new.size() == 0 {
            return false;
        }
        let (Some(ko), Some(kn)) = (order_of(old), order_of(new)) else {
            return false;
        };
        // A block of order `kn` is aligned to `2^kn`, at least `new.align()`:
        // a block that stays or becomes one needs no alignment test.
        // SAFETY: `ptr` is a live block allocated with `old`, so of order
        // `ko`.
        if !unsafe { self.resize_in_place(ptr, ko, kn) } {
            return false;
        }
        self.stats.record_realloc(old.size(), new.size());
        true
    }

    /// Whether `ptr` lies in an arena holding at least one live block, past
    /// its bitmap. This is an answer by address range, as routing a free
    /// needs: it is true for every byte of every live block, false for
    /// memory the heap does not hold and for an arena whose blocks are all
    /// free (after a reset, every arena), and may be true for free blocks
    /// between live ones. Costs a binary search and two words of the bitmap.
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        let Some(i) = self.arena_index(addr) else {
            return false;
        };
        let a = &self.arenas[i];
        // SAFETY: `a` is a live arena of the table.
        addr - a.base.addr() >= 1 << meta_order(a.order) && !unsafe { a.is_empty() }
    }

    fn reset(&mut self) {
        self.stats.forget(0, 0);
        self.nonempty = 0;
        self.heads = [ptr::null_mut(); ORDERS];
        let floor = self.floor;
        for i in 0..self.count {
            // SAFETY: the arena is live and the lists were just emptied, so
            // none of its blocks is on a list; its pair bits below the floor
            // (and its spine) are 0 (invariant 7).
            unsafe { self.lay_out_empty(i, floor) };
        }
        // Only the spines are laid out: no block of a lower order exists.
        self.floor = usize::MAX;
    }

    fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    fn check(&self) -> Result<(), CheckError> {
        #[cfg(debug_assertions)]
        {
            self.check_invariants()
        }
        #[cfg(not(debug_assertions))]
        {
            Ok(())
        }
    }
}

impl<S: Source, R: Recorder> Drop for BuddyHeap<S, R> {
    fn drop(&mut self) {
        // Every span goes back to a source that takes it; the rest is the
        // source's to keep (a region) or the module's for good (wasm32).
        for i in 0..self.count {
            let a = self.arenas[i];
            if a.span_len != 0 {
                // SAFETY: the arena starts a span of `span_len` bytes exactly
                // as handed out (invariant 1); the heap is going away, so no
                // block of it is used again.
                unsafe {
                    let whole = Span::new(NonNull::new_unchecked(a.base), a.span_len);
                    if self.source.release(whole) {
                        self.stats.record_release(a.span_len);
                    }
                }
            }
        }
        self.count = 0;
    }
}

impl<S: Source, R: Recorder> fmt::Debug for BuddyHeap<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuddyHeap")
            .field("arenas", &self.count)
            .field("free_bytes", &self.free_bytes())
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}

#[cfg(debug_assertions)]
mod check;
#[cfg(feature = "checking")]
mod checking;
#[cfg(test)]
mod tests;
