//! Fault injection: the strategy cores over a source that fails on purpose
//! (every k-th request, or past a cap on the bytes it has handed out), driven
//! through the shadow model. Every failure must be clean: a `None` or an
//! `Err`, no panic, every live block intact, the counters unchanged; and
//! nothing may leak: once the faults stop, a request that fits under the cap
//! succeeds again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use polyalloc_core::source::{DefaultSource, Source, Span};
use polyalloc_core::{Heap, LockedHeap};

use crate::Candidate;
use crate::checks::report;
use crate::model::{Op, run_on};

/// What a [`Faulty`] source does, shared with the test that drives it.
#[derive(Debug)]
pub struct Faults {
    /// Every this many requests fails (0: none).
    every: AtomicUsize,
    /// The most bytes the source may have handed out and not taken back.
    cap: usize,
    held: AtomicUsize,
    requests: AtomicUsize,
    failed: AtomicUsize,
}

impl Faults {
    /// Fails every `every`-th request (0: none) and any request past `cap`
    /// bytes held.
    #[must_use]
    pub fn new(every: usize, cap: usize) -> Arc<Self> {
        Arc::new(Self {
            every: AtomicUsize::new(every),
            cap,
            held: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        })
    }

    /// Stops the every-k-th failures (the cap stays).
    pub fn disarm(&self) {
        self.every.store(0, Relaxed);
    }

    /// Requests refused so far.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.failed.load(Relaxed)
    }
}

/// A source that forwards to `inner` but fails as its [`Faults`] say.
#[derive(Debug)]
pub struct Faulty<S> {
    inner: S,
    faults: Arc<Faults>,
}

impl<S> Faulty<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }
}

// SAFETY: every span comes from `inner` unchanged; refusing a request is
// always allowed.
unsafe impl<S: Source> Source for Faulty<S> {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let f = &self.faults;
        let n = f.requests.fetch_add(1, Relaxed) + 1;
        let every = f.every.load(Relaxed);
        let over_cap = f.held.load(Relaxed).saturating_add(size) > f.cap;
        if (every != 0 && n % every == 0) || over_cap {
            f.failed.fetch_add(1, Relaxed);
            return None;
        }
        let span = self.inner.acquire(size, align)?;
        if f.held.load(Relaxed).saturating_add(span.len()) > f.cap {
            // Rounded up past the cap: give it straight back (or keep it
            // unused where the source cannot take it) and refuse.
            // SAFETY: the span was just handed out and is used by no one.
            let _ = unsafe { self.inner.release(span) };
            f.failed.fetch_add(1, Relaxed);
            return None;
        }
        f.held.fetch_add(span.len(), Relaxed);
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        // SAFETY: forwarded from the caller.
        let released = unsafe { self.inner.release(span) };
        if released {
            self.faults.held.fetch_sub(span.len(), Relaxed);
        }
        released
    }

    fn can_release(&self) -> bool {
        self.inner.can_release()
    }
}

/// A deterministic op sequence of about `bytes / 5` operations.
fn ops(seed: u64, bytes: usize) -> Vec<Op> {
    let mut x = seed | 1;
    let data: Vec<u8> = (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    Op::decode_all(&data)
}

/// The candidate's core over a source that fails every 2nd, 3rd or 7th
/// request, or past a cap of 1 to 8 MiB, through about 1,000 model
/// operations each: failures are clean, blocks intact, counters unchanged;
/// afterwards, with the failures off, a 64 KiB request succeeds under the
/// cap (nothing leaked).
///
/// # Panics
///
/// On the first fault, naming the configuration.
pub fn injected_faults_fail_cleanly<C: Candidate>() {
    let configs = [(2, usize::MAX), (3, 8 << 20), (7, 2 << 20), (0, 1 << 20)];
    for (i, &(every, cap)) in configs.iter().enumerate() {
        let faults = Faults::new(every, cap);
        let heap =
            LockedHeap::with_heap(C::over(Faulty::new(DefaultSource::new(), faults.clone())));
        let what = format!("fault injection, every {every}, cap {cap}");
        let outcome = run_on(&heap, &ops(0x5eed + i as u64, 5_000), true).and_then(|()| {
            faults.disarm();
            if !C::FREES_REUSE_MEMORY {
                // SAFETY: the model freed every block it made.
                unsafe { heap.reset() };
            }
            let layout = std::alloc::Layout::from_size_align(64 * 1024, 8).expect("layout");
            let block = heap.with_heap(|h| h.allocate(layout)).ok_or_else(|| {
                format!(
                    "a 64 KiB request failed once the faults stopped ({} bytes held of {cap}): memory leaked",
                    faults.held.load(Relaxed)
                )
            })?;
            // SAFETY: the block was just allocated with `layout`.
            heap.with_heap(|h| unsafe { h.deallocate(block, layout) });
            heap.check().map_err(|e| format!("heap check after the faults: {e}"))
        });
        report::<C>(&what, outcome);
        if every != 0 {
            assert!(
                faults.failed() > 0,
                "{what}: no request failed, the test tested nothing"
            );
        }
    }
}

/// `LockedHeap::lock_heap` for the tests above, which never invalidate a
/// block through it.
trait WithHeap<H> {
    fn with_heap<R>(&self, f: impl FnOnce(&mut H) -> R) -> R;
}

impl<H: Heap> WithHeap<H> for LockedHeap<H> {
    fn with_heap<R>(&self, f: impl FnOnce(&mut H) -> R) -> R {
        // SAFETY: the closures above allocate and free one block of their
        // own; no block the program still uses is touched.
        unsafe { self.lock_heap(f) }
    }
}

/// Rounds the steady-state test runs (`POLYALLOC_STEADY_ROUNDS`, default
/// 2,000; the long run is 100,000).
fn steady_rounds() -> usize {
    std::env::var("POLYALLOC_STEADY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// The same round of about 60 operations (everything freed, or the heap
/// reset, at its end) over and over on one heap: the memory the heap holds
/// from its source must stop growing. After the first tenth of the rounds
/// (at most 100), it must never hold more than the most it held then (the
/// class of bug that sank wee_alloc: a free list that fragments a little
/// more each round).
///
/// # Panics
///
/// At the first round that ends holding more than that.
pub fn steady_state<C: Candidate>() {
    let rounds = steady_rounds().max(10);
    let window = (rounds / 10).min(100);
    let heap = LockedHeap::with_heap(C::over(DefaultSource::new()));
    let round = ops(0x0057_ead1, 300);
    let mut early_peak = 0;
    for r in 0..rounds {
        report::<C>("steady state", run_on(&heap, &round, false));
        if !C::FREES_REUSE_MEMORY {
            // SAFETY: the model freed every block it made.
            unsafe { heap.reset() };
        }
        let reserved = heap.stats().bytes_reserved;
        if r < window {
            early_peak = early_peak.max(reserved);
        } else {
            assert!(
                reserved <= early_peak,
                "{}: {reserved} bytes reserved after round {r}, at most {early_peak} over the first {window}: memory grows",
                C::NAME,
            );
        }
    }
}
