//! The shadow of the blocks a test holds: what the allocator must keep
//! intact, and the checks every block it hands out must pass.
//!
//! [`LiveSet`] records each live block with its layout and a pattern tag,
//! plus an ordered map of the non-empty blocks by address, so a block that
//! overlaps another is caught at the step that hands it out (in `O(log n)`),
//! as rlsf's shadow allocator does. Zero-size blocks are dangling pointers
//! from the adapter: they are checked for their address and left out of the
//! overlap map.

use core::alloc::Layout;
use core::ops::Range;
use core::ptr::NonNull;
use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;

use polyalloc_core::Stats;

use crate::pattern;

/// A test's verdict: `Err` carries a message naming the fault and its values.
pub type Outcome<T = ()> = Result<T, String>;

/// Checks that a failed request left the counts of blocks and bytes as they
/// were (`bytes_reserved` may change: a strategy may keep memory it got).
///
/// # Errors
///
/// Naming `what` and both sets of counters, if one changed.
pub fn counters_unchanged(what: &str, before: &Stats, after: &Stats) -> Outcome {
    let same = before.allocations == after.allocations
        && before.deallocations == after.deallocations
        && before.reallocations == after.reallocations
        && before.bytes_live == after.bytes_live;
    if same {
        Ok(())
    } else {
        Err(format!(
            "{what} changed the counters: before {before:?}, after {after:?}"
        ))
    }
}

/// A block the test holds.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// Where the allocator put it.
    pub ptr: NonNull<u8>,
    /// The layout it was allocated (or last resized) with.
    pub layout: Layout,
    /// The pattern tag its bytes were filled with.
    pub tag: usize,
}

impl Block {
    /// The block's address.
    #[must_use]
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr().addr()
    }
}

/// The blocks a test holds, with the checks they must pass.
#[derive(Debug, Default)]
pub struct LiveSet {
    /// Every live block, in no particular order (removal swaps in the last).
    blocks: Vec<Block>,
    /// Non-empty live blocks: start address to end address. Disjoint by
    /// construction: every insert is checked against its neighbours.
    by_addr: BTreeMap<usize, usize>,
    /// Sum of the live blocks' sizes.
    bytes: usize,
    /// The tag for the next block.
    next_tag: usize,
    /// Where blocks must lie, if the heap is over a known region.
    bounds: Option<Range<usize>>,
}

impl LiveSet {
    /// An empty set for a heap whose blocks may lie anywhere.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set for a heap over the region `bounds`: every non-empty
    /// block must lie inside it.
    #[must_use]
    pub fn within(bounds: Range<usize>) -> Self {
        Self {
            bounds: Some(bounds),
            ..Self::default()
        }
    }

    /// Number of live blocks, zero-size ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether no block is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Number of live blocks with a non-zero size: the ones the heap counts.
    #[must_use]
    pub fn sized_len(&self) -> usize {
        self.by_addr.len()
    }

    /// Sum of the live blocks' sizes.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The live block at `i` (`i < len()`).
    #[must_use]
    pub fn get(&self, i: usize) -> Block {
        self.blocks[i]
    }

    /// Checks a block the allocator just handed out for `layout`, fills it
    /// with a fresh pattern and records it. Returns its index.
    ///
    /// # Errors
    ///
    /// If the block is misaligned, shorter than asked, outside the region,
    /// overlaps a live block, or (zero-size) is not the dangling pointer
    /// whose address is the alignment.
    ///
    /// # Safety
    ///
    /// `block` must have been returned by the heap for `layout` and not
    /// freed, so that it is valid for writes of `layout.size()` bytes.
    pub unsafe fn admit(&mut self, block: NonNull<[u8]>, layout: Layout) -> Outcome<usize> {
        if block.len() < layout.size() {
            return Err(format!(
                "block for {layout:?} at {:#x} is only {} bytes long",
                block.cast::<u8>().as_ptr().addr(),
                block.len()
            ));
        }
        let ptr = block.cast::<u8>();
        self.place(ptr, layout)?;
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        // SAFETY: the caller guarantees the block is writable for its size;
        // `place` checked that it overlaps no other live block.
        unsafe { pattern::fill(ptr, tag, 0, layout.size()) };
        self.blocks.push(Block { ptr, layout, tag });
        self.bytes += layout.size();
        Ok(self.blocks.len() - 1)
    }

    /// Verifies block `i` and forgets it, before the test frees it.
    ///
    /// # Errors
    ///
    /// If its contents changed while it was live.
    pub fn release(&mut self, i: usize) -> Outcome<Block> {
        self.verify(i)?;
        let block = self.blocks.swap_remove(i);
        if block.layout.size() != 0 {
            self.by_addr.remove(&block.addr());
        }
        self.bytes -= block.layout.size();
        Ok(block)
    }

    /// Records that block `i` was resized to `new` and now lies at `moved`
    /// (the same address if resized in place): checks the new block like a
    /// fresh one, checks that its first `min(old, new)` bytes were kept, and
    /// extends the pattern over any new tail.
    ///
    /// # Errors
    ///
    /// As for [`admit`](Self::admit), and if the kept prefix differs.
    ///
    /// # Safety
    ///
    /// `moved` must have been returned by the heap for resizing block `i` to
    /// `new`, and not freed.
    pub unsafe fn resized(&mut self, i: usize, moved: NonNull<[u8]>, new: Layout) -> Outcome {
        let old = self.blocks[i];
        if moved.len() < new.size() {
            return Err(format!(
                "resize of {:#x} to {new:?} returned only {} bytes",
                old.addr(),
                moved.len()
            ));
        }
        if old.layout.size() != 0 {
            self.by_addr.remove(&old.addr());
        }
        let ptr = moved.cast::<u8>();
        self.place(ptr, new)?;
        let kept = old.layout.size().min(new.size());
        // SAFETY: the caller guarantees `moved` is a live block of at least
        // `new.size() >= kept` bytes, initialised there by the resize.
        if let Some(at) = unsafe { pattern::first_mismatch(ptr, old.tag, kept) } {
            return Err(format!(
                "resize of {:#x} ({:?}) to {:#x} ({new:?}) lost byte {at} of the kept {kept}: \
                 expected {:#04x}",
                old.addr(),
                old.layout,
                ptr.as_ptr().addr(),
                pattern::expected(old.tag, at)
            ));
        }
        // SAFETY: as above; the tail `kept..new.size()` is the block's own.
        unsafe { pattern::fill(ptr, old.tag, kept, new.size()) };
        self.blocks[i] = Block {
            ptr,
            layout: new,
            tag: old.tag,
        };
        self.bytes = self.bytes - old.layout.size() + new.size();
        Ok(())
    }

    /// Forgets every block (after a reset, which ends their lives).
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.by_addr.clear();
        self.bytes = 0;
    }

    /// Checks that block `i` still holds its pattern.
    ///
    /// # Errors
    ///
    /// If any of its bytes changed.
    pub fn verify(&self, i: usize) -> Outcome {
        let b = self.blocks[i];
        // SAFETY: the block is live (the set only holds live blocks) and was
        // filled when admitted or resized; nothing else writes to it.
        match unsafe { pattern::first_mismatch(b.ptr, b.tag, b.layout.size()) } {
            None => Ok(()),
            Some(at) => Err(format!(
                "live block {:#x} ({:?}) was overwritten at byte {at}: expected {:#04x}",
                b.addr(),
                b.layout,
                pattern::expected(b.tag, at)
            )),
        }
    }

    /// Checks that every live block still holds its pattern.
    ///
    /// # Errors
    ///
    /// At the first block with a changed byte.
    pub fn verify_all(&self) -> Outcome {
        (0..self.blocks.len()).try_for_each(|i| self.verify(i))
    }

    /// Checks the heap's counters against the set: `bytes_live` is the sum
    /// of live sizes and `blocks_live() - blocks_baseline` the number of
    /// non-empty live blocks (zero-size blocks never reach the heap).
    ///
    /// For a heap that does not count (`stats.counting` false) the counters
    /// must all read zero instead.
    ///
    /// `blocks_baseline` is what `blocks_live()` read when the set started
    /// tracking the heap (blocks the set does not know of); it is 0 for a
    /// fresh heap and after a reset.
    ///
    /// # Errors
    ///
    /// If a counter disagrees.
    pub fn check_stats(&self, stats: &Stats, blocks_baseline: u64) -> Outcome {
        if !stats.counting {
            // An uncounted heap keeps no per-operation counters: they must
            // all read zero.
            let zeroed = Stats {
                bytes_reserved: stats.bytes_reserved,
                ..Stats::new()
            };
            if *stats != zeroed {
                return Err(format!("an uncounted heap reports counters ({stats:?})"));
            }
            return Ok(());
        }
        if stats.bytes_live != self.bytes {
            return Err(format!(
                "stats.bytes_live is {} but the live blocks hold {} bytes ({stats:?})",
                stats.bytes_live, self.bytes
            ));
        }
        let blocks = stats.blocks_live().wrapping_sub(blocks_baseline);
        if blocks != self.sized_len() as u64 {
            return Err(format!(
                "stats count {blocks} live blocks (blocks_live() - {blocks_baseline}) \
                 but {} non-empty blocks are live ({stats:?})",
                self.sized_len()
            ));
        }
        if stats.peak_bytes_live < stats.bytes_live {
            return Err(format!(
                "stats.peak_bytes_live below bytes_live ({stats:?})"
            ));
        }
        Ok(())
    }

    /// Checks that `owns` is true for the first and the last byte of every
    /// non-empty live block: the heap must recognise its blocks, and their
    /// interiors, to route frees.
    ///
    /// # Errors
    ///
    /// At the first byte `owns` denies.
    pub fn check_owned(&self, owns: impl Fn(NonNull<u8>) -> bool) -> Outcome {
        (0..self.blocks.len()).try_for_each(|i| self.check_owned_block(i, &owns))
    }

    /// [`check_owned`](Self::check_owned) for live block `i` alone.
    ///
    /// # Errors
    ///
    /// If `owns` denies its first or its last byte.
    pub fn check_owned_block(&self, i: usize, owns: impl Fn(NonNull<u8>) -> bool) -> Outcome {
        let b = self.blocks[i];
        if b.layout.size() == 0 {
            return Ok(());
        }
        // SAFETY: the last byte lies inside the live block.
        let last = unsafe { b.ptr.add(b.layout.size() - 1) };
        for p in [b.ptr, last] {
            if !owns(p) {
                return Err(format!(
                    "owns({:#x}) is false for a byte of live block {:#x} ({:?})",
                    p.as_ptr().addr(),
                    b.addr(),
                    b.layout
                ));
            }
        }
        Ok(())
    }

    /// The checks every block the heap hands out must pass, and its entry in
    /// the overlap map.
    fn place(&mut self, ptr: NonNull<u8>, layout: Layout) -> Outcome {
        let start = ptr.as_ptr().addr();
        if start % layout.align() != 0 {
            return Err(format!("block at {start:#x} is not aligned for {layout:?}"));
        }
        if layout.size() == 0 {
            return if start == layout.align() {
                Ok(())
            } else {
                Err(format!(
                    "zero-size block for {layout:?} is at {start:#x}, not the dangling \
                     address {:#x}",
                    layout.align()
                ))
            };
        }
        let Some(end) = start.checked_add(layout.size()) else {
            return Err(format!(
                "block at {start:#x} for {layout:?} wraps the address space"
            ));
        };
        if let Some(bounds) = &self.bounds {
            if start < bounds.start || end > bounds.end {
                return Err(format!(
                    "block {start:#x}..{end:#x} lies outside the region {:#x}..{:#x}",
                    bounds.start, bounds.end
                ));
            }
        }
        // The live block starting last before `end` is the only one that
        // can overlap, since the map's blocks are disjoint.
        if let Some((&s, &e)) = self.by_addr.range(..end).next_back() {
            if e > start {
                return Err(format!(
                    "block {start:#x}..{end:#x} ({layout:?}) overlaps live block {s:#x}..{e:#x}"
                ));
            }
        }
        self.by_addr.insert(start, end);
        Ok(())
    }
}
