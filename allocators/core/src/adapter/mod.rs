//! The standard allocator traits, implemented once for every strategy.
//!
//! [`LockedHeap<H>`](crate::LockedHeap) gets `core::alloc::GlobalAlloc` and
//! allocator-api2 0.2's `Allocator` for any `H: Heap`, and
//! [`HeapCell<H>`](crate::HeapCell) gets `Allocator`; references to either
//! are `Allocator`s through allocator-api2's blanket impl for references.
//!
//! The contract details follow allocator-api2's `Global`: a zero-size request
//! gets a dangling pointer whose address is the alignment, freeing it is a
//! no-op, and a grow may ask for a larger alignment than the block had.

mod api2;
mod global;

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::layout::dangling;

/// allocator-api2's `grow` and `shrink` with zero-size blocks on either side
/// handled, written once for every adapter (the locked and per-thread heaps,
/// and the per-thread front end of `polyalloc-threads`): each closure is
/// called only with non-zero sizes.
///
/// - `new` of size zero: the old block, if it has a size, goes to `dealloc`,
///   and the result is a dangling pointer aligned to `new`;
/// - `old` of size zero (a dangling block, never a heap's): `alloc(new)`;
/// - both sizes non-zero: `resize(ptr, old, new)`, which must leave the
///   block intact when it returns `None`.
///
/// # Safety
///
/// `ptr` is a live block with `old` of the allocator the closures act on
/// (dangling if `old` has size zero), and is not used again unless the
/// result is `None`. The closures are called under this contract: `dealloc`
/// and `resize` only with `ptr` and `old`.
#[inline]
pub unsafe fn resize_any_size(
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
    alloc: impl FnOnce(Layout) -> Option<NonNull<u8>>,
    dealloc: impl FnOnce(NonNull<u8>, Layout),
    resize: impl FnOnce(NonNull<u8>, Layout, Layout) -> Option<NonNull<u8>>,
) -> Option<NonNull<u8>> {
    if new.size() == 0 {
        if old.size() != 0 {
            dealloc(ptr, old);
        }
        Some(dangling(new.align()))
    } else if old.size() == 0 {
        alloc(new)
    } else {
        resize(ptr, old, new)
    }
}

/// The zeroing half of allocator-api2's `grow_zeroed`, for a block already
/// grown by an adapter's `grow`: writes zeros over bytes `from..` of
/// `block` (the ones past the old contents). Unlike the trait's default,
/// which always allocates anew and copies, an adapter that grows, then
/// calls this, keeps in-place grows in place.
///
/// # Safety
///
/// `block` is valid for writes of its whole length, and `from` is at most
/// that length.
#[inline]
pub unsafe fn zero_from(block: NonNull<[u8]>, from: usize) {
    debug_assert!(from <= block.len());
    // SAFETY: from the caller: `from..block.len()` lies inside the block.
    unsafe {
        block
            .cast::<u8>()
            .as_ptr()
            .add(from)
            .write_bytes(0, block.len() - from);
    }
}
