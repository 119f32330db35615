//! The size classes: which class serves a layout, and how a slab of each
//! class is laid out.
//!
//! Classes go up in 16-byte steps to 128 bytes, then in four steps per power
//! of two (160, 192, 224, 256, 320, ...) up to [`MAX_SMALL`]. A request is
//! rounded up to the next class, so the bytes a block wastes are less than
//! the step below its class: at most 1/4 of the class size (15 of 16 bytes
//! for the 16-byte class, whose step is the smallest alignment).
//!
//! Slots of a class are `stride` bytes apart: the class size, except that a
//! class whose size is a multiple of 1 KiB gets one more cache line, so that
//! the slots of one slab do not fall at power-of-two strides, where they
//! would all share a few cache sets (see `docs/slab.md`). A slab's first slot
//! starts [`HEADER`] bytes after its header plus its colour (a multiple of
//! [`LINE`]; the header itself is a whole number of lines in), so
//! every slot is aligned to `min(lowest set bit of the stride, 64)`: the
//! class's alignment. A layout whose alignment its class lacks takes the
//! next class that has it; one aligned to more than [`MAX_ALIGN`] takes the
//! large-object path.

use core::alloc::Layout;

/// The size and alignment of a slab: the unit the source hands out for
/// small blocks (one wasm page). A block's slab starts at its address
/// rounded down to a multiple of this, and the slab's header a few lines in
/// from there (by the slab's address alone).
pub const SLAB: usize = 64 * 1024;
/// The slab header's room: one cache line.
pub(crate) const HEADER: usize = 64;
/// A cache line: the unit of colouring.
pub(crate) const LINE: usize = 64;
/// The number of places a slab's header can take: it lies `(base / SLAB) mod
/// HEADER_PLACES` lines into the slab, by the slab's address. Headers at
/// multiples of [`SLAB`] all fall in one set of each cache (64 KiB apart:
/// the 8 ways of a 32 KiB L1 set, and of a 1 MiB L2's two sets), so a
/// workload that takes from 20 classes in turn missed both on most header
/// reads; spread over 8 lines, they use 8 sets.
pub(crate) const HEADER_PLACES: usize = 8;
/// The room a slab keeps for its header and the lines before it.
pub(crate) const HEADER_ROOM: usize = HEADER + (HEADER_PLACES - 1) * LINE;

/// Where the header of the slab holding the byte at `addr` lies, in bytes
/// from the slab's start: `(addr / SLAB) mod HEADER_PLACES` lines (see
/// [`HEADER_PLACES`]), read off `addr`'s bits with one shift and one mask.
#[inline(always)]
#[must_use]
pub(crate) const fn header_offset(addr: usize) -> usize {
    (addr / (SLAB / LINE)) & ((HEADER_PLACES - 1) * LINE)
}

const _: () = assert!(SLAB.is_power_of_two() && LINE.is_power_of_two());
const _: () = assert!(HEADER_PLACES.is_power_of_two());
/// The largest alignment a slot gives: a cache line (colours move first
/// slots by whole lines). Larger alignments take the large-object path.
pub const MAX_ALIGN: usize = LINE;
/// The number of size classes.
pub const CLASSES: usize = 36;
/// The largest size served from slabs; larger requests take a span each.
pub const MAX_SMALL: usize = class_size(CLASSES - 1);
/// Sizes up to this are looked up in a table indexed by `(size + 15) / 16`.
const TABLE_MAX: usize = 1024;

/// The size of class `c` (`c < CLASSES`): `16 (c + 1)` for the first eight,
/// then `(5 + m) 2^(k - 2)` for class `8 + 4 (k - 7) + m`.
#[must_use]
pub const fn class_size(c: usize) -> usize {
    if c < 8 {
        (c + 1) * 16
    } else {
        let j = c - 8;
        (5 + j % 4) << (7 + j / 4 - 2)
    }
}

/// The class of a size above 128 bytes and at most [`MAX_SMALL`], computed:
/// the power of two below `size - 1` picks the group of four, the two bits
/// after the leading one the class in it.
#[inline(always)]
const fn class_above_128(size: usize) -> usize {
    let k = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    8 + (k - 7) * 4 + (((size - 1) >> (k - 2)) & 3)
}

/// The class of a size from 1 to [`MAX_SMALL`], by formula (the table is
/// built from this).
const fn class_by_formula(size: usize) -> usize {
    if size <= 128 {
        size.div_ceil(16) - 1
    } else {
        class_above_128(size)
    }
}

/// The class of every size up to [`TABLE_MAX`], indexed by `(size + 15) /
/// 16` (index 0, size 0, reads class 0).
static SMALL_TABLE: [u8; TABLE_MAX / 16 + 1] = {
    let mut t = [0u8; TABLE_MAX / 16 + 1];
    let mut i = 1;
    while i < t.len() {
        t[i] = class_by_formula(i * 16) as u8;
        i += 1;
    }
    t
};

/// How a slab of one class is laid out. Every field fits 16 bits (the
/// largest stride is 16 KiB and a line, the most slots 4,092), as in the
/// slab header: the table is 288 bytes of a wasm module's data, not 576.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassInfo {
    /// Bytes between consecutive slots.
    pub(crate) stride: u16,
    /// Slots per slab.
    pub(crate) cap: u16,
    /// The number of distinct colours: first-slot offsets `HEADER + i *
    /// LINE` after the header, for `i < colours`, that leave room for `cap`
    /// slots wherever the header lies.
    pub(crate) colours: u16,
    /// The alignment every slot of the class has.
    pub(crate) align: u16,
}

/// The stride of a class of `size` bytes: see the module docs.
const fn stride_of(size: usize) -> usize {
    if size % 1024 == 0 { size + LINE } else { size }
}

/// Per-class layouts, computed once at compile time.
pub(crate) static INFO: [ClassInfo; CLASSES] = {
    let mut t = [ClassInfo {
        stride: 0,
        cap: 0,
        colours: 0,
        align: 0,
    }; CLASSES];
    let mut c = 0;
    while c < CLASSES {
        let stride = stride_of(class_size(c));
        let room = SLAB - HEADER_ROOM;
        let cap = room / stride;
        let slack = room - cap * stride;
        let low = 1 << stride.trailing_zeros();
        let colours = slack / LINE + 1;
        // Each field fits its 16 bits (checked at compile time).
        assert!(stride <= u16::MAX as usize && cap <= u16::MAX as usize);
        assert!(colours <= u16::MAX as usize);
        t[c] = ClassInfo {
            stride: stride as u16,
            cap: cap as u16,
            colours: colours as u16,
            align: if low < MAX_ALIGN { low } else { MAX_ALIGN } as u16,
        };
        c += 1;
    }
    t
};

// The largest class is 16 KiB, and every slab holds at least two slots (so
// a slab that was full never becomes empty on one free).
const _: () = assert!(MAX_SMALL == 16 * 1024);
const _: () = assert!((SLAB - HEADER_ROOM) / stride_of(MAX_SMALL) >= 2);
const _: () = assert!(class_above_128(MAX_SMALL) == CLASSES - 1);

/// The class of a non-zero `size` at most 16-byte alignment, or `None`
/// above [`MAX_SMALL`].
#[inline(always)]
pub(crate) fn class_of_size(size: usize) -> Option<usize> {
    if size <= TABLE_MAX {
        Some(SMALL_TABLE[(size + 15) >> 4] as usize)
    } else if size <= MAX_SMALL {
        Some(class_above_128(size))
    } else {
        None
    }
}

/// A size class of the slabs, below [`CLASSES`]: what [`quick_class`]
/// finds for a layout and
/// [`SlabHeap::allocate_class`](crate::SlabHeap::allocate_class) serves.
/// A front end that routes by layout reads it once and passes it on, so
/// the slab core does not look the size up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class(u8);

impl Class {
    /// Class number `c`.
    ///
    /// # Safety
    ///
    /// `c < CLASSES` (every class [`class_of`] finds is): the slab heap
    /// indexes its per-class lists with a `Class` unchecked.
    #[inline(always)]
    pub(crate) unsafe fn of_index(c: usize) -> Self {
        debug_assert!(c < CLASSES);
        Self(c as u8)
    }

    /// The class number, below [`CLASSES`].
    #[must_use]
    #[inline(always)]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The size of the class's slots ([`class_size`]).
    #[must_use]
    pub const fn size(self) -> usize {
        class_size(self.0 as usize)
    }
}

/// The largest size [`quick_class`] answers: the class table's.
pub const QUICK_MAX: usize = TABLE_MAX;

/// The class of a layout of at most [`QUICK_MAX`] bytes at an alignment of
/// at most 16, read from the class table in one load; `None` for any other
/// layout. A zero size reads the smallest class (16 bytes), as a front end
/// that asks for at least 16 bytes wants;
/// [`SlabHeap::allocate_small`](crate::SlabHeap::allocate_small) serves
/// such a layout with [`Heap::allocate`](polyalloc_core::Heap::allocate)'s
/// answer instead.
///
/// For every size from 1 to [`QUICK_MAX`] it is the class
/// [`SlabHeap`](crate::SlabHeap) serves the layout from, so a block
/// allocated through
/// [`SlabHeap::allocate_class`](crate::SlabHeap::allocate_class) is freed
/// and resized with the layout it was asked with.
#[must_use]
#[inline(always)]
pub fn quick_class(layout: Layout) -> Option<Class> {
    if layout.size() <= TABLE_MAX && layout.align() <= 16 {
        Some(Class(SMALL_TABLE[(layout.size() + 15) >> 4]))
    } else {
        None
    }
}

/// The class serving a non-zero-size request of `size` bytes aligned to
/// `align`, or `None` for the large-object path. Depends on the layout
/// alone, so a block freed or resized with the layout it was allocated with
/// is found in the class it came from.
#[inline(always)]
pub(crate) fn class_of(size: usize, align: usize) -> Option<usize> {
    if align <= 16 {
        return class_of_size(size);
    }
    class_of_aligned(size, align)
}

/// [`class_of`] for alignments above 16: the class of `max(size, align)`,
/// or the next one whose slots are aligned enough.
#[inline(never)]
fn class_of_aligned(size: usize, align: usize) -> Option<usize> {
    if align > MAX_ALIGN {
        return None;
    }
    let mut c = class_of_size(size.max(align))?;
    while (INFO[c].align as usize) < align {
        c += 1;
        if c == CLASSES {
            return None;
        }
    }
    Some(c)
}
