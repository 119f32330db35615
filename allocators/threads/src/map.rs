//! The owner map: for every 64 KiB *granule* of the address space, the
//! thread heap whose span covers it, so a free from any thread finds the
//! heap that owns a block in two loads, without a lock.
//!
//! A two-level radix table: a root of [`ROOT`] leaf pointers (a `static`, so
//! zero-filled and untouched until used: on a 64-bit host it reserves
//! 512 KiB of address space and occupies only the pages written), and leaves
//! of [`LEAF`] heap pointers, each taken from the platform's source the
//! first time a span lands in its range (a leaf covers 4 GiB).
//!
//! # Invariants
//!
//! 1. **Exact cover.** An entry is non-null exactly for the granules of
//!    spans a [`Registered`](crate::Registered) source handed to a thread
//!    heap and has not taken back; the spans start and end on granule
//!    boundaries, so no granule holds memory of two owners, or of a thread
//!    heap and anything else.
//! 2. **Leaves stay.** A leaf, once installed (a compare-exchange from
//!    null), is never removed or moved, so a reader that loaded its pointer
//!    may use it for ever. Fresh pages from the source are zero: every entry
//!    of a new leaf is null.
//! 3. **Owners are set before blocks exist.** A span's entries are written
//!    before the heap hands out any block from it, and cleared only after
//!    the heap gave the span back, when no block in it is live (a block
//!    freed remotely but not yet taken back is still live to its heap). So
//!    a thread that holds a block always reads its owner.

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use polyalloc_core::ConstDefault;
use polyalloc_core::source::{DefaultSource, Source, Span};

/// Bits of a granule: 64 KiB, a slab and a wasm page.
pub(crate) const GRANULE_BITS: u32 = 16;
/// A granule's size.
pub const GRANULE: usize = 1 << GRANULE_BITS;
/// Bits of user addresses the map covers (x86-64 and aarch64 hand out
/// 48-bit addresses; a span above is refused, see [`OwnerMap::register`]).
const ADDRESS_BITS: u32 = if usize::BITS >= 64 { 48 } else { usize::BITS };
/// Bits indexing a leaf.
const LEAF_BITS: u32 = 16;
/// Bits indexing the root.
const ROOT_BITS: u32 = ADDRESS_BITS - GRANULE_BITS - LEAF_BITS;
/// Leaf pointers in the root.
const ROOT: usize = 1 << ROOT_BITS;
/// Entries in a leaf.
const LEAF: usize = 1 << LEAF_BITS;

/// A leaf: the owner of each granule in its range.
type Leaf = [AtomicPtr<()>; LEAF];

/// The map (module docs).
pub(crate) struct OwnerMap {
    root: [AtomicPtr<Leaf>; ROOT],
}

/// The process's one owner map: granules are the process's, whichever
/// allocator instance registered them.
pub(crate) static MAP: OwnerMap = OwnerMap::new();

impl OwnerMap {
    const fn new() -> Self {
        Self {
            root: [const { AtomicPtr::new(ptr::null_mut()) }; ROOT],
        }
    }

    /// Root and leaf index of the granule holding `addr`, if the map covers
    /// it.
    #[inline(always)]
    fn index(addr: usize) -> Option<(usize, usize)> {
        let g = addr >> GRANULE_BITS;
        let r = g >> LEAF_BITS;
        (r < ROOT).then_some((r, g & (LEAF - 1)))
    }

    /// The heap that owns the granule of `addr`, or null.
    #[inline(always)]
    pub(crate) fn lookup(&self, addr: usize) -> *mut () {
        let Some((r, i)) = Self::index(addr) else {
            return ptr::null_mut();
        };
        let leaf = self.root[r].load(Ordering::Acquire);
        if leaf.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: an installed leaf is never removed (invariant 2) and `i`
        // is below `LEAF`.
        unsafe { (*leaf)[i].load(Ordering::Acquire) }
    }

    /// The leaf for root index `r`, installing one if there is none yet.
    fn leaf(&self, r: usize) -> Option<&Leaf> {
        let mut leaf = self.root[r].load(Ordering::Acquire);
        if leaf.is_null() {
            let mut source = DefaultSource::DEFAULT;
            let span = source.acquire(size_of::<Leaf>(), align_of::<Leaf>())?;
            let fresh = span.ptr().as_ptr().cast::<Leaf>();
            match self.root[r].compare_exchange(
                ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => leaf = fresh,
                Err(other) => {
                    // SAFETY: the span was just acquired and nothing saw it.
                    unsafe { source.release(span) };
                    leaf = other;
                }
            }
        }
        // SAFETY: installed leaves are zero-filled pages of the source (all
        // null entries, a valid `Leaf`) and stay for ever (invariant 2).
        Some(unsafe { &*leaf })
    }

    /// Sets the owner of every granule of `span` to `owner` (null clears).
    /// Returns `false`, having set nothing, if the span is not on granule
    /// boundaries, lies above the addresses the map covers, or a leaf could
    /// not be had.
    pub(crate) fn register(&self, span: Span, owner: *mut ()) -> bool {
        let (start, end) = (span.start(), span.end());
        if start % GRANULE != 0 || end % GRANULE != 0 || Self::index(end - 1).is_none() {
            return false;
        }
        // Leaves first, so a failure changes nothing.
        let (r0, _) = Self::index(start).unwrap_or((0, 0));
        let (r1, _) = Self::index(end - 1).unwrap_or((0, 0));
        for r in r0..=r1 {
            if self.leaf(r).is_none() {
                return false;
            }
        }
        let mut addr = start;
        while addr < end {
            if let Some((r, i)) = Self::index(addr)
                && let Some(leaf) = self.leaf(r)
            {
                leaf[i].store(owner, Ordering::Release);
            }
            addr += GRANULE;
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::ptr::NonNull;

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri's mmap cannot unmap the ends of an over-sized mapping, which a 64 KiB alignment needs"
    )]
    fn registered_granules_have_their_owner_and_nothing_else_does() {
        let mut source = DefaultSource::DEFAULT;
        let span = source.acquire(3 * GRANULE, GRANULE).unwrap();
        let owner = ptr::without_provenance_mut::<()>(0x1234_5670);
        assert!(MAP.register(span, owner));
        assert_eq!(MAP.lookup(span.start()), owner);
        assert_eq!(MAP.lookup(span.end() - 1), owner);
        assert_eq!(MAP.lookup(span.start() + GRANULE + 77), owner);
        assert!(MAP.register(span, ptr::null_mut()));
        assert!(MAP.lookup(span.start()).is_null());
        // SAFETY: acquired above, registered nowhere now.
        unsafe { source.release(span) };
    }

    #[test]
    fn unaligned_or_out_of_range_spans_are_refused() {
        let odd = Span::new(
            NonNull::new(ptr::without_provenance_mut(GRANULE + 8)).unwrap(),
            GRANULE,
        );
        assert!(!MAP.register(odd, ptr::without_provenance_mut(1)));
        assert!(MAP.lookup(GRANULE + 8).is_null());
        if usize::BITS == 64 {
            let high = 1usize << (ADDRESS_BITS + 1);
            let span = Span::new(
                NonNull::new(ptr::without_provenance_mut(high)).unwrap(),
                GRANULE,
            );
            assert!(!MAP.register(span, ptr::without_provenance_mut(1)));
            assert!(MAP.lookup(high).is_null());
        }
    }
}
