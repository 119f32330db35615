//! The debug-only walk behind [`Heap::check`]: every core's own walk, then
//! the adaptive heap's invariants (module docs of [`heap`](super)).

use polyalloc_core::heap::ensure;
use polyalloc_core::{CheckError, Heap, Source};

use super::{AdaptiveHeap, BUMP, INIT, Phase, SLOTS, slot_of};

impl<S: Source> AdaptiveHeap<S> {
    pub(super) fn check_invariants(&self) -> Result<(), CheckError> {
        for slot in super::present_slots() {
            with_core_ref!(self, slot, |h| h.check())?;
        }

        // Invariant 1: the span map is sorted, disjoint, and tags real slots.
        let mut prev_end = 0;
        for (start, end, slot) in self.provider.map.iter() {
            ensure(
                start >= prev_end,
                "1: span map sorted and disjoint",
                start,
                prev_end,
            )?;
            ensure(end > start, "1: span map entries non-empty", start, end)?;
            ensure(
                super::present(slot),
                "1: span map slot of a core in this build",
                start,
                slot as usize,
            )?;
            prev_end = end;
        }

        // Invariant 4 of `lease`: pooled spans are sorted, disjoint, apart
        // (coalesced), and no core's span overlaps one.
        let mut prev_end = None;
        for (start, end) in self.provider.pool.iter() {
            ensure(end > start, "pool entries non-empty", start, end)?;
            ensure(
                prev_end.is_none_or(|p| start > p),
                "pool sorted, disjoint and coalesced",
                start,
                prev_end.unwrap_or(0),
            )?;
            prev_end = Some(end);
            let overlap = self
                .provider
                .map
                .iter()
                .find(|&(s, e, _)| s < end && start < e);
            ensure(
                overlap.is_none(),
                "pooled span held by a core",
                start,
                overlap.map_or(0, |o| o.0),
            )?;
        }

        // Invariant 2: the mask has a bit for each slot with live blocks.
        let mask = self
            .blocks
            .iter()
            .enumerate()
            .fold(0u8, |m, (slot, &n)| if n != 0 { m | 1 << slot } else { m });
        ensure(
            self.live_mask == mask,
            "2: live slot mask",
            self.live_mask as usize,
            mask as usize,
        )?;
        let owner_bit = if mask.is_power_of_two() { mask } else { 0 };
        ensure(
            self.owner_bit == owner_bit,
            "2: owner bit follows the live mask",
            self.owner_bit as usize,
            owner_bit as usize,
        )?;
        ensure(
            self.init_bytes <= self.bytes_total,
            "2: init heap's live bytes within the total",
            self.init_bytes,
            self.bytes_total,
        )?;
        ensure(
            self.blocks[INIT as usize] != 0 || self.init_bytes == 0,
            "2: init heap's bytes live without blocks",
            self.blocks[INIT as usize],
            self.init_bytes,
        )?;
        ensure(
            self.live_mask != 0 || self.bytes_total == 0,
            "2: bytes live without blocks",
            self.live_mask as usize,
            self.bytes_total,
        )?;
        ensure(
            self.live_mask & !(1 << INIT) != 0 || self.bytes_total == self.init_bytes,
            "2: run bytes live without run blocks",
            self.bytes_total,
            self.init_bytes,
        )?;

        // Invariant 3: the target follows the phase and the decision.
        let target = match self.phase {
            Phase::Init => INIT,
            Phase::Run => slot_of(self.decision.strategy),
        };
        ensure(
            self.target == target,
            "3: target slot",
            self.target as usize,
            target as usize,
        )?;
        let bit = if self.target == BUMP {
            0
        } else {
            1 << self.target
        };
        ensure(
            u32::from(self.target_bit) == bit || (self.target == 0 && self.target_bit == 0),
            "3: target bit",
            self.target_bit as usize,
            self.target as usize,
        )?;

        // Invariant 6: an idle core is not the target and holds no block.
        for slot in 0..SLOTS as u8 {
            if (self.idle | self.bare) & (1 << slot) != 0 {
                ensure(
                    slot != self.target && self.blocks[slot as usize] == 0,
                    "6: an idle or bare core is neither the target nor holding blocks",
                    slot as usize,
                    self.blocks[slot as usize],
                )?;
            }
        }

        // Invariant 4: no waste without live bump blocks.
        ensure(
            self.blocks[BUMP as usize] != 0 || self.bump_waste == 0,
            "4: bump waste without live bump blocks",
            0,
            self.bump_waste,
        )?;
        Ok(())
    }
}
