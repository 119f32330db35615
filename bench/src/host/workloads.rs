//! The host workloads, modelled on mimalloc-bench's: each a fixed amount of
//! work, through the process's global allocator (`std::alloc::alloc`), on
//! one or more threads. Sizes come from seeded sequences, the same for every
//! allocator; every block is written (its first and last bytes), so none is
//! optimised away or left untouched.
//!
//! `scale` multiplies the work: 1 is a smoke test (a few milliseconds), the
//! comparison run's `--quick` and `--full` use more.

use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;
use std::alloc::{alloc, dealloc, handle_alloc_error, realloc};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::workloads::general::Rng;

/// A workload run by the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostWorkload {
    /// larson-style server churn: every thread replaces random blocks of
    /// random sizes (8..=1,000 B) in its own array of 1,000, and hands one
    /// replaced block in eight to the next thread, which frees it.
    Larson,
    /// xmalloc-style producer/consumer: threads in a ring, each allocating
    /// batches of 64 small blocks (8..=256 B) and sending them to the next
    /// thread, which frees them; with one thread, it frees its own.
    Xmalloc,
    /// cache-scratch (false sharing): the main thread allocates one 8-byte
    /// object per thread, side by side; each thread frees its object, then
    /// repeatedly allocates an 8-byte object, writes it many times and
    /// frees it. An allocator that hands a thread the block another thread
    /// freed next to its neighbours' makes the threads share cache lines.
    CacheScratch,
    /// A tight single-thread loop: allocate (8..=512 B), write, free.
    MallocFree,
    /// A realloc-heavy string builder: four strings built side by side, by
    /// appends of 1..=16 bytes each grown exactly (`reserve_exact`), each
    /// dropped at 256..=4,096 bytes and started again.
    ReallocString,
    /// Fragmentation over time: phases that each allocate blocks of a
    /// different size range, then free nine in ten of them at random (the
    /// tenth lives on), resident memory sampled after every phase; at the
    /// end half the survivors go, and resident memory is sampled once more.
    RssOverTime,
}

impl HostWorkload {
    /// Every workload, in report order.
    pub const ALL: [Self; 6] = [
        Self::Larson,
        Self::Xmalloc,
        Self::CacheScratch,
        Self::MallocFree,
        Self::ReallocString,
        Self::RssOverTime,
    ];

    /// Short name, for command lines.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::Larson => "larson",
            Self::Xmalloc => "xmalloc",
            Self::CacheScratch => "cache-scratch",
            Self::MallocFree => "malloc-free",
            Self::ReallocString => "realloc-string",
            Self::RssOverTime => "rss-over-time",
        }
    }

    /// The workload whose key is `key`.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.key() == key)
    }

    /// Whether it runs on more than one thread.
    #[must_use]
    pub const fn threaded(self) -> bool {
        matches!(self, Self::Larson | Self::Xmalloc | Self::CacheScratch)
    }

    /// Whether an allocator that never reuses freed memory (a bump
    /// allocator) can run it: only where every free is of the newest
    /// block, which a bump allocator takes back. Elsewhere its memory would
    /// grow with the work.
    #[must_use]
    pub const fn fits_bump(self) -> bool {
        matches!(self, Self::MallocFree | Self::CacheScratch)
    }

    /// Runs the workload on `threads` threads (1 for the single-threaded
    /// ones), `scale` times its unit of work; returns the operations done
    /// and, for [`RssOverTime`](Self::RssOverTime), the resident memory
    /// samples in KiB.
    #[must_use]
    pub fn run(self, threads: usize, scale: u64) -> (u64, Vec<u64>) {
        let threads = threads.max(1);
        match self {
            Self::Larson => (larson(threads, scale), Vec::new()),
            Self::Xmalloc => (xmalloc(threads, scale), Vec::new()),
            Self::CacheScratch => (cache_scratch(threads, scale), Vec::new()),
            Self::MallocFree => (malloc_free(scale), Vec::new()),
            Self::ReallocString => (realloc_string(scale), Vec::new()),
            Self::RssOverTime => rss_over_time(scale),
        }
    }
}

/// A block from the global allocator, written at both ends, freed on drop
/// by whichever thread drops it.
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a block is plain memory owned by this value alone; the global
// allocator takes frees from any thread.
unsafe impl Send for Block {}

impl Block {
    /// A block of `size` bytes (at least 8), aligned to 8.
    fn new(size: usize) -> Self {
        let layout = Layout::from_size_align(size.max(8), 8).expect("a small size");
        // SAFETY: the layout's size is not zero.
        let p = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(layout)
        };
        // SAFETY: the block has `layout.size() >= 8` bytes.
        unsafe {
            ptr.as_ptr().cast::<u64>().write(size as u64);
            ptr.as_ptr().add(layout.size() - 1).write(1);
        }
        Self {
            ptr: black_box(ptr),
            layout,
        }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated by the global allocator with `self.layout`, and
        // freed only here.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// A thread's generator, seeded by its index.
fn rng(thread: usize) -> Rng {
    Rng(0x2545_F491_4F6C_DD1D ^ (thread as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// larson's blocks per thread.
const LARSON_SLOTS: usize = 1_000;
/// larson's replacements per thread per unit of scale.
const LARSON_OPS: u64 = 8_000;
/// Replacements between two visits of a thread's mailbox.
const LARSON_BATCH: u64 = 256;

fn larson(threads: usize, scale: u64) -> u64 {
    // Blocks handed to thread `i` for freeing.
    let mailboxes: Vec<Mutex<Vec<Vec<Block>>>> =
        (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    let per_thread = LARSON_OPS * scale;
    std::thread::scope(|s| {
        for t in 0..threads {
            let mailboxes = &mailboxes;
            s.spawn(move || {
                let mut rng = rng(t);
                let mut slots: Vec<Block> = (0..LARSON_SLOTS)
                    .map(|_| Block::new(rng.range(8, 1_000)))
                    .collect();
                let mut outbox = Vec::new();
                for op in 0..per_thread {
                    let i = rng.range(0, LARSON_SLOTS - 1);
                    let old = std::mem::replace(&mut slots[i], Block::new(rng.range(8, 1_000)));
                    if rng.next() % 8 == 0 {
                        outbox.push(old);
                    } else {
                        drop(old);
                    }
                    if op % LARSON_BATCH == LARSON_BATCH - 1 {
                        let next = (t + 1) % threads;
                        let batch = std::mem::take(&mut outbox);
                        lock(&mailboxes[next]).push(batch);
                        let mine = std::mem::take(&mut *lock(&mailboxes[t]));
                        drop(mine);
                    }
                }
                drop(outbox);
                drop(slots);
            });
        }
    });
    drop(mailboxes);
    per_thread * threads as u64
}

/// Locks `m`, whatever a panicking thread left there.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Blocks per xmalloc batch.
const XMALLOC_BATCH: usize = 64;
/// Batches per thread per unit of scale.
const XMALLOC_BATCHES: u64 = 300;

/// Where an xmalloc thread sends its batches, and where it takes them.
type Outbox = SyncSender<Vec<Block>>;
/// See [`Outbox`].
type Inbox = Receiver<Vec<Block>>;

fn xmalloc(threads: usize, scale: u64) -> u64 {
    let (senders, receivers): (Vec<Outbox>, Vec<Inbox>) =
        (0..threads).map(|_| sync_channel(4)).unzip();
    let batches = XMALLOC_BATCHES * scale;
    std::thread::scope(|s| {
        for (t, inbox) in receivers.into_iter().enumerate() {
            let next = senders[(t + 1) % threads].clone();
            s.spawn(move || {
                let mut rng = rng(t);
                for _ in 0..batches {
                    let batch: Vec<Block> = (0..XMALLOC_BATCH)
                        .map(|_| Block::new(rng.range(8, 256)))
                        .collect();
                    next.send(batch).expect("the next thread is alive");
                    // Frees what the previous thread made.
                    drop(inbox.recv().expect("the previous thread is alive"));
                }
            });
        }
    });
    batches * (XMALLOC_BATCH as u64) * threads as u64
}

/// cache-scratch's objects per thread per unit of scale.
const SCRATCH_OBJECTS: u64 = 200;
/// Writes to each byte of an object.
const SCRATCH_WRITES: usize = 2_000;
const SCRATCH_SIZE: usize = 8;

fn cache_scratch(threads: usize, scale: u64) -> u64 {
    // Side by side, as one thread's consecutive small allocations lie.
    let first: Vec<Block> = (0..threads).map(|_| Block::new(SCRATCH_SIZE)).collect();
    let objects = SCRATCH_OBJECTS * scale;
    std::thread::scope(|s| {
        for given in first {
            s.spawn(move || {
                drop(given);
                for _ in 0..objects {
                    let b = Block::new(SCRATCH_SIZE);
                    let p = b.ptr.as_ptr();
                    for j in 0..SCRATCH_WRITES {
                        for k in 0..SCRATCH_SIZE {
                            // SAFETY: `k` is inside the block; volatile, so
                            // every write reaches the cache line.
                            unsafe { p.add(k).write_volatile((j + k) as u8) };
                        }
                    }
                    drop(b);
                }
            });
        }
    });
    objects * threads as u64
}

/// malloc-free's pairs per unit of scale.
const LOOP_OPS: u64 = 50_000;

fn malloc_free(scale: u64) -> u64 {
    let mut rng = rng(0);
    let sizes: Vec<usize> = (0..1_024).map(|_| rng.range(8, 512)).collect();
    let ops = LOOP_OPS * scale;
    for i in 0..ops {
        drop(Block::new(sizes[i as usize % sizes.len()]));
    }
    ops
}

/// Appends per unit of scale.
const STRING_APPENDS: u64 = 20_000;
/// Strings built side by side.
const STRINGS: usize = 4;

/// A growing byte string over the global allocator, grown exactly to each
/// append (`reserve_exact`, a `realloc` each time).
struct Text {
    ptr: NonNull<u8>,
    len: usize,
    target: usize,
}

impl Text {
    fn new(target: usize) -> Self {
        Self {
            ptr: NonNull::dangling(),
            len: 0,
            target,
        }
    }

    fn append(&mut self, piece: &[u8]) {
        let new_len = self.len + piece.len();
        let new = Layout::from_size_align(new_len, 1).expect("a small size");
        let p = if self.len == 0 {
            // SAFETY: `new_len > 0` (pieces are not empty).
            unsafe { alloc(new) }
        } else {
            let old = Layout::from_size_align(self.len, 1).expect("a small size");
            // SAFETY: `self.ptr` is live, allocated with `old`; the new
            // size is larger and valid for alignment 1.
            unsafe { realloc(self.ptr.as_ptr(), old, new_len) }
        };
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(new)
        };
        // SAFETY: the block holds `new_len` bytes; the piece goes after the
        // `self.len` kept.
        unsafe {
            ptr.as_ptr()
                .add(self.len)
                .copy_from_nonoverlapping(piece.as_ptr(), piece.len());
        }
        self.ptr = ptr;
        self.len = new_len;
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        if self.len > 0 {
            let layout = Layout::from_size_align(self.len, 1).expect("a small size");
            // SAFETY: live, allocated with `layout`, freed only here.
            unsafe { dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}

fn realloc_string(scale: u64) -> u64 {
    let mut rng = rng(0);
    let text = *b"polyalloc bench!";
    let mut strings: Vec<Text> = (0..STRINGS)
        .map(|_| Text::new(rng.range(256, 4_096)))
        .collect();
    let appends = STRING_APPENDS * scale;
    for i in 0..appends {
        let s = &mut strings[i as usize % STRINGS];
        s.append(&text[..rng.range(1, text.len())]);
        if s.len >= s.target {
            black_box(s.ptr);
            *s = Text::new(rng.range(256, 4_096));
        }
    }
    appends
}

/// Phases of rss-over-time.
const PHASES: usize = 12;
/// Blocks each phase allocates, per unit of scale.
const PHASE_BLOCKS: usize = 400;

fn rss_over_time(scale: u64) -> (u64, Vec<u64>) {
    let mut rng = rng(0);
    let per_phase = PHASE_BLOCKS * scale as usize;
    let mut survivors: Vec<Block> = Vec::new();
    let mut samples = vec![super::rss_kib()];
    let mut ops = 0u64;
    for phase in 0..PHASES {
        // Small, medium and large blocks by turns: freed small blocks then
        // have to serve larger requests, or sit unused.
        let (lo, hi) = match phase % 3 {
            0 => (4, 8),
            1 => (8, 11),
            _ => (11, 14),
        };
        let mut blocks: Vec<Block> = (0..per_phase)
            .map(|_| Block::new(rng.log_range(lo, hi)))
            .collect();
        ops += per_phase as u64;
        // Free nine in ten, in random order; keep the tenth.
        while !blocks.is_empty() {
            let i = rng.range(0, blocks.len() - 1);
            let b = blocks.swap_remove(i);
            if rng.next() % 10 == 0 {
                survivors.push(b);
            } else {
                drop(b);
            }
        }
        samples.push(super::rss_kib());
    }
    // Half the survivors go.
    let mut i = 0;
    survivors.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    samples.push(super::rss_kib());
    drop(survivors);
    (ops, samples)
}
