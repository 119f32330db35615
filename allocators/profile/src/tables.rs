//! The recording: what DHAT keeps per program point and for the whole run,
//! updated on every allocation, reallocation and free.
//!
//! The counting follows dhat-rs, so the two tools give the same figures for
//! the same run:
//! - an allocation adds one block and its size to its point's totals
//!   (`tbk`, `tb`) and to the live counts;
//! - a reallocation of a recorded block also adds one block and the *new*
//!   size to the totals, moves the live bytes by the difference, keeps the
//!   block's point, and restarts its lifetime at the reallocation; a
//!   reallocation of a block the profiler never saw counts as an allocation;
//! - a free removes the block from the live counts and adds its lifetime to
//!   its point's `tl`; a free of a block never seen is ignored;
//! - the global peak is the latest moment live bytes reached their maximum.
//!   Each point's share of it (`gb`, `gbk`) is copied when live bytes are
//!   about to fall from the peak and when the profile is written, not on
//!   every allocation.
//!
//! # Invariants
//!
//! - `live` holds exactly the recorded blocks not yet freed; their sizes
//!   add up to `run.curr_bytes`, and per point to each point's
//!   `counts.curr_bytes` (likewise for blocks).
//! - `points` maps each key to its index in `infos`; indices never change.
//! - No method allocates except through the private heap, and none panics
//!   when it is full: a record that cannot be stored is counted in `lost`.

use hashbrown::HashMap;

use crate::point::{FxBuild, PointKey};
use crate::private::{Private, PrivateVec};

/// Blocks and bytes: allocated over the run, live now, and live when live
/// bytes were highest. Kept for each point and for the whole run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    /// Blocks and bytes allocated (`tbk`, `tb`).
    pub(crate) total_blocks: u64,
    pub(crate) total_bytes: u64,
    /// Blocks and bytes live now (at the end: `ebk`, `eb`).
    pub(crate) curr_blocks: u64,
    pub(crate) curr_bytes: u64,
    /// Live blocks and bytes when live bytes peaked (`mbk`, `mb`).
    pub(crate) max_blocks: u64,
    pub(crate) max_bytes: u64,
}

impl Counts {
    /// Counts a new block of `size` bytes, or a block resized to `size` from
    /// `realloc_from` bytes; true when live bytes are at their highest
    /// (`>=`: of equal peaks, the latest counts, as in dhat-rs).
    fn add(&mut self, size: u64, realloc_from: Option<u64>) -> bool {
        self.total_blocks += 1;
        self.total_bytes += size;
        match realloc_from {
            Some(old) => self.curr_bytes = self.curr_bytes - old + size,
            None => {
                self.curr_blocks += 1;
                self.curr_bytes += size;
            }
        }
        let peak = self.curr_bytes >= self.max_bytes;
        if peak {
            self.max_blocks = self.curr_blocks;
            self.max_bytes = self.curr_bytes;
        }
        peak
    }

    /// Counts the free of a block of `size` bytes.
    fn remove(&mut self, size: u64) {
        self.curr_blocks -= 1;
        self.curr_bytes -= size;
    }
}

/// What is kept for one program point.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PointInfo {
    pub(crate) counts: Counts,
    /// Live blocks and bytes at the global peak (`gbk`, `gb`).
    pub(crate) at_peak_blocks: u64,
    pub(crate) at_peak_bytes: u64,
    /// Lifetimes of the blocks freed so far, in time units (`tl`, less the
    /// blocks still live).
    pub(crate) lifetimes: u64,
}

/// A recorded live block.
#[derive(Clone, Copy, Debug)]
struct Live {
    /// Its point's index in `infos`.
    point: u32,
    /// Its size in bytes.
    size: u64,
    /// When it was allocated (or last reallocated).
    at: u64,
}

/// Run-wide counts: the figures dhat-rs's `HeapStats` gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Blocks allocated over the run (reallocations included).
    pub total_blocks: u64,
    /// Bytes allocated over the run.
    pub total_bytes: u64,
    /// Blocks live now.
    pub curr_blocks: u64,
    /// Bytes live now.
    pub curr_bytes: u64,
    /// Blocks live at the global peak.
    pub max_blocks: u64,
    /// Bytes live at the global peak.
    pub max_bytes: u64,
    /// Events the profiler could not record because its private heap was
    /// full (0 in any run that fits in memory).
    pub lost: u64,
}

/// Every table of one profiler.
pub(crate) struct Tables {
    pub(crate) points: HashMap<PointKey, u32, FxBuild, Private>,
    pub(crate) infos: PrivateVec<PointInfo>,
    live: HashMap<usize, Live, FxBuild, Private>,
    pub(crate) run: Counts,
    /// Events not recorded because the private heap was full.
    pub(crate) lost: u64,
    /// Time of the global peak.
    pub(crate) peak_at: u64,
}

impl Tables {
    /// Empty tables; allocates nothing until the first record.
    pub(crate) const fn new() -> Self {
        Self {
            points: HashMap::with_hasher_in(FxBuild, Private),
            infos: PrivateVec::new_in(Private),
            live: HashMap::with_hasher_in(FxBuild, Private),
            run: Counts {
                total_blocks: 0,
                total_bytes: 0,
                curr_blocks: 0,
                curr_bytes: 0,
                max_blocks: 0,
                max_bytes: 0,
            },
            lost: 0,
            peak_at: 0,
        }
    }

    /// The index of `key`'s point, created if new; `None` when the private
    /// heap is full.
    fn point(&mut self, key: &PointKey) -> Option<u32> {
        if let Some(&i) = self.points.get(key) {
            return Some(i);
        }
        let i = u32::try_from(self.infos.len()).ok()?;
        self.infos.try_reserve(1).ok()?;
        self.points.try_reserve(1).ok()?;
        self.infos.push(PointInfo::default());
        self.points.insert(*key, i);
        Some(i)
    }

    /// If live bytes are at the global peak now, copies every point's live
    /// counts as its share of the peak.
    pub(crate) fn check_for_peak(&mut self) {
        if self.run.curr_bytes == self.run.max_bytes {
            for info in self.infos.iter_mut() {
                info.at_peak_blocks = info.counts.curr_blocks;
                info.at_peak_bytes = info.counts.curr_bytes;
            }
        }
    }

    /// Counts a new block, or a resize from `realloc_from` bytes, at `now`.
    fn count(&mut self, point: u32, size: u64, realloc_from: Option<u64>, now: u64) {
        if self.run.add(size, realloc_from) {
            self.peak_at = now;
        }
        self.infos[point as usize].counts.add(size, realloc_from);
    }

    /// Records a new block at `addr` of `size` bytes, charged to `key`'s
    /// point.
    pub(crate) fn alloc(&mut self, addr: usize, size: usize, now: u64, key: &PointKey) {
        if self.live.try_reserve(1).is_err() {
            self.lost += 1;
            return;
        }
        let Some(point) = self.point(key) else {
            self.lost += 1;
            return;
        };
        let block = Live {
            point,
            size: size as u64,
            at: now,
        };
        if let Some(old) = self.live.insert(addr, block) {
            // A block at this address was never freed through us (freed
            // while recording was passed through): it is gone now.
            self.forget(old, now);
        }
        self.count(point, size as u64, None, now);
    }

    /// Removes a freed block's share of the live counts.
    fn forget(&mut self, block: Live, now: u64) {
        let info = &mut self.infos[block.point as usize];
        info.counts.remove(block.size);
        info.lifetimes += now.saturating_sub(block.at);
        self.run.remove(block.size);
    }

    /// Records the free of the block at `addr`.
    pub(crate) fn free(&mut self, addr: usize, now: u64) {
        if let Some(block) = self.live.remove(&addr) {
            // Live bytes may be coming down from the peak.
            self.check_for_peak();
            self.forget(block, now);
        }
    }

    /// Records that the block at `old` now lives at `new` with `new_size`
    /// bytes; a block never seen counts as new, charged to the point `key()`
    /// names (called only then).
    pub(crate) fn realloc(
        &mut self,
        old: usize,
        new: usize,
        new_size: usize,
        now: u64,
        key: impl FnOnce() -> PointKey,
    ) {
        let Some(&block) = self.live.get(&old) else {
            return self.alloc(new, new_size, now, &key());
        };
        if self.live.try_reserve(1).is_err() {
            self.lost += 1;
            return;
        }
        if (new_size as u64) < block.size {
            // Live bytes may be coming down from the peak.
            self.check_for_peak();
        }
        self.live.remove(&old);
        let moved = Live {
            point: block.point,
            size: new_size as u64,
            at: now,
        };
        if let Some(stale) = self.live.insert(new, moved) {
            self.forget(stale, now);
        }
        self.count(block.point, new_size as u64, Some(block.size), now);
    }

    /// The run-wide counts.
    pub(crate) fn summary(&self) -> Summary {
        let r = &self.run;
        Summary {
            total_blocks: r.total_blocks,
            total_bytes: r.total_bytes,
            curr_blocks: r.curr_blocks,
            curr_bytes: r.curr_bytes,
            max_blocks: r.max_blocks,
            max_bytes: r.max_bytes,
            lost: self.lost,
        }
    }

    /// Each point's lifetimes with the blocks still live counted up to
    /// `now`, in the order of `infos`.
    pub(crate) fn lifetimes_at(&self, now: u64) -> PrivateVec<u64> {
        let mut out = PrivateVec::new_in(Private);
        if out.try_reserve_exact(self.infos.len()).is_err() {
            return out;
        }
        out.extend(self.infos.iter().map(|i| i.lifetimes));
        for block in self.live.values() {
            out[block.point as usize] += now.saturating_sub(block.at);
        }
        out
    }
}
