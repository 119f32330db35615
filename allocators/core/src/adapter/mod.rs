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
