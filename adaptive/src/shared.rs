//! The host-shared heap: a heap the host manages inside a region of a
//! guest's linear memory, so that it writes a function's input straight
//! where the function reads it.
//!
//! A wasm runtime may move a guest's memory when it grows (wasmtime does
//! for memories it cannot grow in place), so a heap kept inside it must not
//! hold host pointers. [`SharedHeap`] holds no pointer at all: blocks are
//! offsets into the guest's memory, and the heap's metadata (which ranges are
//! live, which free) lives on the host side, keyed by offset. The guest
//! memory is passed in only for the moment a call writes into it, so the
//! heap is valid whatever address the memory has between calls.
//!
//! It follows the adaptive policy: it starts as a bump pointer over the
//! region (input buffers are request-scoped: the host writes them, the
//! function reads them, [`reset`](SharedHeap::reset) ends the invocation),
//! counts the bytes it cannot reuse when a block other than the newest is
//! freed, and past [`Policy`]'s waste thresholds switches to a best-fit free
//! list. Because the metadata is exact, the switch reclaims bump's waste at
//! once: every byte that is not in a live block becomes free.
//!
//! # Invariants
//!
//! 1. Every live block is a range `[offset, offset + len)` inside the region,
//!    disjoint from every other, recorded in `live`.
//! 2. Bump mode: every live block lies below `top`, and `waste` is the bytes
//!    below `top` in no live block.
//! 3. Free-list mode: `free` holds the maximal ranges of the region in no
//!    live block, coalesced (no two adjacent), and `by_size` indexes exactly
//!    those ranges by `(len, offset)`.
//!
//! Needs the `host` feature (it uses `alloc` for its maps).

use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;
use core::ops::Range;

use crate::policy::{Policy, Strategy};
use crate::usage::{Usage, bucket};

/// Why a call on a [`SharedHeap`] failed. The heap is unchanged after any of
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedError {
    /// No free range of the region holds the request.
    OutOfMemory {
        /// Bytes requested.
        size: u32,
        /// Alignment requested.
        align: u32,
    },
    /// The alignment is not a power of two.
    BadAlignment {
        /// The alignment given.
        align: u32,
    },
    /// No live block starts at this offset (a double free, or an offset the
    /// heap never handed out).
    NotLive {
        /// The offset given.
        offset: u32,
    },
    /// The guest memory passed in is smaller than the region: the block
    /// cannot be written.
    MemoryTooSmall {
        /// Bytes the region needs.
        needed: usize,
        /// Bytes the memory has.
        len: usize,
    },
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfMemory { size, align } => write!(
                f,
                "host-shared heap out of memory: no free range holds {size} bytes aligned to {align}"
            ),
            Self::BadAlignment { align } => {
                write!(
                    f,
                    "host-shared heap: alignment {align} is not a power of two"
                )
            }
            Self::NotLive { offset } => write!(
                f,
                "host-shared heap: no live block at offset {offset:#x} (double free or foreign offset)"
            ),
            Self::MemoryTooSmall { needed, len } => write!(
                f,
                "host-shared heap: guest memory has {len} bytes, the region needs {needed}"
            ),
        }
    }
}

impl core::error::Error for SharedError {}

/// A heap inside a region of a guest's memory, managed from the host by
/// offsets (see the [module docs](self)).
///
/// ```
/// use polyalloc_adaptive::shared::SharedHeap;
///
/// // The guest reserved bytes 65536..131072 of its memory for the host.
/// let mut memory = vec![0u8; 2 * 65536];
/// let mut heap = SharedHeap::new(65536..131072);
/// let input = heap.write(&mut memory, b"{\"n\": 42}", 8).unwrap();
/// assert_eq!(&memory[input as usize..input as usize + 9], b"{\"n\": 42}");
/// // ... the host calls the guest with (input, 9); then ends the invocation:
/// heap.reset();
///
/// // The runtime moves the memory: offsets stay right.
/// let moved = memory.clone();
/// drop(memory);
/// let mut memory = moved;
/// let again = heap.write(&mut memory, b"next", 8).unwrap();
/// assert_eq!(again, input);
/// ```
#[derive(Clone, Debug)]
pub struct SharedHeap {
    region: Range<u32>,
    policy: Policy,
    strategy: Strategy,
    top: u32,
    waste: u64,
    live: BTreeMap<u32, u32>,
    free: BTreeMap<u32, u32>,
    by_size: BTreeSet<(u32, u32)>,
    bytes_live: u64,
    /// Offset of the most recent allocation, if it is still live.
    last: Option<u32>,
    invocation: Usage,
    past: Usage,
    invocations: u64,
}

impl SharedHeap {
    /// A heap over `region` (offsets into the guest's memory) with
    /// [`Policy::DEFAULT`].
    #[must_use]
    pub fn new(region: Range<u32>) -> Self {
        Self::with_policy(region, Policy::DEFAULT)
    }

    /// A heap over `region` with the given policy.
    #[must_use]
    pub fn with_policy(region: Range<u32>, policy: Policy) -> Self {
        let region = region.start..region.end.max(region.start);
        Self {
            top: region.start,
            region,
            policy,
            strategy: Strategy::Bump,
            waste: 0,
            live: BTreeMap::new(),
            free: BTreeMap::new(),
            by_size: BTreeSet::new(),
            bytes_live: 0,
            last: None,
            invocation: Usage::ZERO,
            past: Usage::ZERO,
            invocations: 0,
        }
    }

    /// The region the heap manages.
    pub fn region(&self) -> Range<u32> {
        self.region.clone()
    }

    /// The strategy serving requests: bump, or the free list after a switch.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Bytes in live blocks.
    pub fn bytes_live(&self) -> u64 {
        self.bytes_live
    }

    /// Live blocks.
    pub fn blocks_live(&self) -> usize {
        self.live.len()
    }

    /// The counters of the current invocation.
    pub fn invocation(&self) -> &Usage {
        &self.invocation
    }

    /// The counters over every invocation, this one included.
    pub fn totals(&self) -> Usage {
        let mut t = self.past;
        t.absorb(&self.invocation);
        t
    }

    /// The length of the live block at `offset`, if there is one.
    pub fn block_len(&self, offset: u32) -> Option<u32> {
        self.live.get(&offset).copied()
    }

    /// Allocates `size` bytes (at least one) aligned to `align` and returns
    /// the block's offset in the guest's memory.
    pub fn alloc(&mut self, size: u32, align: u32) -> Result<u32, SharedError> {
        if !align.is_power_of_two() {
            return Err(SharedError::BadAlignment { align });
        }
        let len = size.max(1);
        let oom = SharedError::OutOfMemory { size, align };
        let offset = match self.strategy {
            Strategy::Bump => {
                let start = align_up(self.top, align).ok_or(oom)?;
                let end = start.checked_add(len).ok_or(oom)?;
                if end > self.region.end {
                    return Err(oom);
                }
                self.waste += u64::from(start - self.top);
                self.top = end;
                start
            }
            _ => self.take_free(len, align).ok_or(oom)?,
        };
        self.live.insert(offset, len);
        self.last = Some(offset);
        self.bytes_live += u64::from(len);
        let u = &mut self.invocation;
        u.allocations += 1;
        u.bytes_allocated += u64::from(size);
        u.histogram[bucket(size as usize)] += 1;
        u.peak_bytes_live = u.peak_bytes_live.max(self.bytes_live);
        Ok(offset)
    }

    /// Allocates a block for `bytes` aligned to `align` and copies them into
    /// `memory` (the guest's memory, wherever it is now): the host's input
    /// for the function, written in place. Returns the block's offset.
    pub fn write(
        &mut self,
        memory: &mut [u8],
        bytes: &[u8],
        align: u32,
    ) -> Result<u32, SharedError> {
        let needed = self.region.end as usize;
        if memory.len() < needed {
            return Err(SharedError::MemoryTooSmall {
                needed,
                len: memory.len(),
            });
        }
        let size = u32::try_from(bytes.len()).map_err(|_| SharedError::OutOfMemory {
            size: u32::MAX,
            align,
        })?;
        let offset = self.alloc(size, align)?;
        let at = offset as usize;
        memory[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(offset)
    }

    /// Frees the live block at `offset`. An offset that is not a live
    /// block's start is refused with [`SharedError::NotLive`] and changes
    /// nothing.
    pub fn free(&mut self, offset: u32) -> Result<(), SharedError> {
        let len = self
            .live
            .remove(&offset)
            .ok_or(SharedError::NotLive { offset })?;
        self.bytes_live -= u64::from(len);
        self.invocation.deallocations += 1;
        if self.last == Some(offset) {
            self.last = None;
        } else {
            self.invocation.out_of_order_frees += 1;
            self.invocation.out_of_order_bytes += u64::from(len);
        }
        match self.strategy {
            Strategy::Bump => {
                if offset + len == self.top {
                    self.top = offset;
                } else {
                    self.invocation.failed_deallocations += 1;
                    self.invocation.failed_bytes += u64::from(len);
                    self.waste += u64::from(len);
                    if self
                        .policy
                        .bump_wastes_too_much(self.waste as usize, self.bytes_live as usize)
                    {
                        self.switch_to_free_list();
                    }
                }
            }
            _ => self.give_free(offset, len),
        }
        Ok(())
    }

    /// Ends an invocation: every block is dropped at once, the region is
    /// empty again, and the counters are folded into the totals. A
    /// function whose invocation wasted little under bump goes back to it.
    pub fn reset(&mut self) {
        let orderly = self.policy.orderly(&self.invocation);
        self.past.absorb(&self.invocation);
        self.invocation = Usage::ZERO;
        self.invocations += 1;
        self.live.clear();
        self.last = None;
        self.bytes_live = 0;
        self.top = self.region.start;
        self.waste = 0;
        self.free.clear();
        self.by_size.clear();
        if self.strategy != Strategy::Bump {
            if orderly {
                self.strategy = Strategy::Bump;
            } else {
                self.add_free(self.region.start, self.region.end - self.region.start);
            }
        }
    }

    /// Leaves bump: every byte of the region in no live block becomes free.
    fn switch_to_free_list(&mut self) {
        self.strategy = Strategy::FreeList;
        self.waste = 0;
        let mut at = self.region.start;
        let live: alloc::vec::Vec<(u32, u32)> = self.live.iter().map(|(&o, &l)| (o, l)).collect();
        for (offset, len) in live {
            self.add_free(at, offset - at);
            at = offset + len;
        }
        self.add_free(at, self.region.end - at);
    }

    fn add_free(&mut self, offset: u32, len: u32) {
        if len != 0 {
            self.free.insert(offset, len);
            self.by_size.insert((len, offset));
        }
    }

    fn remove_free(&mut self, offset: u32, len: u32) {
        self.free.remove(&offset);
        self.by_size.remove(&(len, offset));
    }

    /// Best fit: the smallest free range that holds `len` bytes at `align`.
    fn take_free(&mut self, len: u32, align: u32) -> Option<u32> {
        let (range_len, range_start, start) =
            self.by_size.range((len, 0)..).find_map(|&(l, o)| {
                let s = align_up(o, align)?;
                (u64::from(s) + u64::from(len) <= u64::from(o) + u64::from(l)).then_some((l, o, s))
            })?;
        self.remove_free(range_start, range_len);
        self.add_free(range_start, start - range_start);
        let end = start + len;
        self.add_free(end, range_start + range_len - end);
        Some(start)
    }

    /// Returns `[offset, offset + len)` to the free ranges, merged with its
    /// neighbours (invariant 3).
    fn give_free(&mut self, mut offset: u32, mut len: u32) {
        if let Some((&o, &l)) = self.free.range(..offset).next_back()
            && o + l == offset
        {
            self.remove_free(o, l);
            offset = o;
            len += l;
        }
        if let Some(&l) = self.free.get(&(offset + len)) {
            self.remove_free(offset + len, l);
            len += l;
        }
        self.add_free(offset, len);
    }

    /// Checks the invariants in the module docs; for tests.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut at = self.region.start;
        let mut bytes = 0u64;
        for (&o, &l) in &self.live {
            if o < at || o.checked_add(l).is_none_or(|e| e > self.region.end) {
                return Err("1: live blocks disjoint and inside the region");
            }
            at = o + l;
            bytes += u64::from(l);
        }
        if bytes != self.bytes_live {
            return Err("1: live bytes counted");
        }
        match self.strategy {
            Strategy::Bump => {
                if at > self.top {
                    return Err("2: live blocks below top");
                }
            }
            _ => {
                let mut covered = bytes;
                let mut prev_end = None;
                for (&o, &l) in &self.free {
                    if prev_end.is_some_and(|e| e >= o)
                        || self.live.range(o..o + l).next().is_some()
                    {
                        return Err("3: free ranges coalesced and apart from live blocks");
                    }
                    if !self.by_size.contains(&(l, o)) {
                        return Err("3: size index matches the free ranges");
                    }
                    prev_end = Some(o + l);
                    covered += u64::from(l);
                }
                if self.by_size.len() != self.free.len()
                    || covered != u64::from(self.region.end - self.region.start)
                {
                    return Err("3: every byte live or free");
                }
            }
        }
        Ok(())
    }
}

/// `x` rounded up to a multiple of `align` (a power of two), if it is still
/// an offset: the core's address helper, in the 32-bit offsets of a guest's
/// memory.
fn align_up(x: u32, align: u32) -> Option<u32> {
    polyalloc_core::layout::align_up(x as usize, align as usize).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    const REGION: Range<u32> = 4096..4096 + 4 * 1024 * 1024;

    #[test]
    fn writes_land_in_guest_memory_and_reset_starts_over() {
        let mut mem = vec![0u8; REGION.end as usize];
        let mut h = SharedHeap::new(REGION);
        let a = h.write(&mut mem, b"hello", 8).unwrap();
        let b = h.write(&mut mem, b"world!", 16).unwrap();
        assert_eq!(a, REGION.start);
        assert_eq!(b % 16, 0);
        assert_eq!(&mem[b as usize..b as usize + 6], b"world!");
        h.check().unwrap();
        h.reset();
        assert_eq!(h.blocks_live(), 0);
        assert_eq!(h.write(&mut mem, b"again", 8).unwrap(), a);
    }

    #[test]
    fn survives_the_memory_moving() {
        let mut mem = vec![0u8; REGION.end as usize];
        let mut h = SharedHeap::new(REGION);
        let mut blocks = Vec::new();
        for i in 0..100u32 {
            let bytes = i.to_le_bytes().repeat(1 + i as usize % 7);
            blocks.push((h.write(&mut mem, &bytes, 4).unwrap(), bytes));
        }
        // The runtime grows the memory by moving it: a new buffer, the
        // same contents, another address.
        let mut moved = vec![0u8; mem.len() + 65536];
        moved[..mem.len()].copy_from_slice(&mem);
        let old_base = mem.as_ptr();
        drop(mem);
        assert_ne!(moved.as_ptr(), old_base);
        for (offset, bytes) in &blocks {
            let at = *offset as usize;
            assert_eq!(&moved[at..at + bytes.len()], &bytes[..]);
        }
        for (offset, _) in blocks.drain(..50) {
            h.free(offset).unwrap();
        }
        let c = h.write(&mut moved, b"after the move", 8).unwrap();
        assert_eq!(&moved[c as usize..c as usize + 14], b"after the move");
        h.check().unwrap();
    }

    #[test]
    fn waste_switches_to_the_free_list_and_reclaims_it() {
        let mut h = SharedHeap::new(REGION);
        let mut kept = Vec::new();
        let size = 4096;
        while h.strategy() == Strategy::Bump {
            let a = h.alloc(size, 8).unwrap();
            kept.push(h.alloc(size, 8).unwrap());
            h.free(a).unwrap();
        }
        h.check().unwrap();
        // Bump's holes are free now: the next blocks fill them.
        let hole = h.alloc(size, 8).unwrap();
        assert!(hole < *kept.last().unwrap());
        for k in kept {
            h.free(k).unwrap();
            h.check().unwrap();
        }
        h.free(hole).unwrap();
        h.check().unwrap();
        assert_eq!(h.free.len(), 1, "everything merged back");
        // An invocation that wasted a lot stays on the free list.
        h.reset();
        assert_eq!(h.strategy(), Strategy::FreeList);
        h.check().unwrap();
        // One that frees in order goes back to bump.
        let a = h.alloc(100, 8).unwrap();
        h.free(a).unwrap();
        h.reset();
        assert_eq!(h.strategy(), Strategy::Bump);
    }

    #[test]
    fn bad_input_is_refused_and_changes_nothing() {
        let mut mem = vec![0u8; 1024];
        let mut h = SharedHeap::new(REGION);
        assert_eq!(h.alloc(10, 3), Err(SharedError::BadAlignment { align: 3 }));
        assert_eq!(
            h.alloc(u32::MAX, 8),
            Err(SharedError::OutOfMemory {
                size: u32::MAX,
                align: 8
            })
        );
        assert_eq!(h.free(12345), Err(SharedError::NotLive { offset: 12345 }));
        let a = h.alloc(10, 8).unwrap();
        h.free(a).unwrap();
        assert_eq!(
            h.free(a),
            Err(SharedError::NotLive { offset: a }),
            "double free"
        );
        assert!(matches!(
            h.write(&mut mem, b"x", 1),
            Err(SharedError::MemoryTooSmall { .. })
        ));
        assert_eq!(h.blocks_live(), 0);
        h.check().unwrap();
        assert!(std::format!("{}", SharedError::NotLive { offset: 16 }).contains("double free"));
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "20,000 steps with a full check each: too slow under Miri"
    )]
    fn random_operations_keep_the_invariants() {
        let mut h = SharedHeap::with_policy(
            4096..4096 + 256 * 1024,
            Policy {
                min_waste: 4096,
                ..Policy::DEFAULT
            },
        );
        let mut live: Vec<(u32, u32)> = Vec::new();
        let mut x = 0x1234_5678_9abc_def1u64;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 10 {
                0..=5 => {
                    let size = (x >> 8) as u32 % 2000;
                    let align = 1 << ((x >> 20) % 7);
                    if let Ok(o) = h.alloc(size, align) {
                        assert_eq!(o % align, 0);
                        for &(p, l) in &live {
                            assert!(o + size.max(1) <= p || p + l <= o, "overlap at step {step}");
                        }
                        live.push((o, size.max(1)));
                    }
                }
                6..=8 if !live.is_empty() => {
                    let (o, _) = live.swap_remove((x >> 8) as usize % live.len());
                    h.free(o).unwrap();
                }
                _ => {
                    h.reset();
                    live.clear();
                }
            }
            h.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
        }
    }
}
