//! A strategy as the program's `#[global_allocator]`: std collections on
//! several threads, with their contents verified and the allocator's own
//! counters showing it served them.
//!
//! Used through [`global_allocator_tests!`](crate::global_allocator_tests)
//! in an integration test of its own, since a test binary has one global
//! allocator.

use std::boxed::Box;
use std::collections::{BTreeMap, HashMap};
use std::string::String;
use std::vec::Vec;

use core::fmt::Write;
use core::ptr::NonNull;

use polyalloc_core::{CheckError, Heap, LockedHeap, Stats};
use polyalloc_threads::{ThreadCached, ThreadCore};

/// What the global-allocator tests ask of the allocator under test, beyond
/// being the `#[global_allocator]`: its counters, whether a pointer is in
/// its memory, and its heap walk. Every locked strategy and the
/// thread-caching front end implement it.
pub trait GlobalUnderTest: Sync + 'static {
    /// The allocator's counters (as far as the calling thread can see them).
    fn stats(&self) -> Stats;
    /// Whether `ptr` lies in the allocator's memory.
    fn owns(&self, ptr: NonNull<u8>) -> bool;
    /// The heap walk (a no-op in release builds).
    ///
    /// # Errors
    ///
    /// The first broken invariant found.
    fn check(&self) -> Result<(), CheckError>;
}

impl<H: Heap + Send + 'static> GlobalUnderTest for LockedHeap<H> {
    fn stats(&self) -> Stats {
        LockedHeap::stats(self)
    }
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        LockedHeap::owns(self, ptr)
    }
    fn check(&self) -> Result<(), CheckError> {
        LockedHeap::check(self)
    }
}

impl<H: ThreadCore + 'static, L: Heap + Send + 'static> GlobalUnderTest for ThreadCached<H, L> {
    fn stats(&self) -> Stats {
        ThreadCached::stats(self)
    }
    fn owns(&self, ptr: NonNull<u8>) -> bool {
        ThreadCached::owns(self, ptr)
    }
    fn check(&self) -> Result<(), CheckError> {
        ThreadCached::check(self)
    }
}

/// A xorshift step, for reproducible choices without another dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Checks that `alloc` is the global allocator: a fresh `Box` lies in one
/// of its blocks and its allocation count went up.
///
/// # Panics
///
/// If the box did not come from `alloc`.
pub fn is_the_global_allocator<A: GlobalUnderTest>(alloc: &'static A) {
    let before = alloc.stats().allocations;
    let boxed = Box::new([0x5Au8; 48]);
    let ptr = NonNull::from(&*boxed).cast::<u8>();
    assert!(
        alloc.owns(ptr),
        "a Box at {:#x} is not in the allocator under test: is it the #[global_allocator]?",
        ptr.as_ptr().addr()
    );
    assert!(
        !alloc.stats().counting || alloc.stats().allocations > before,
        "allocating a Box did not count an allocation"
    );
    assert!(boxed.iter().all(|&b| b == 0x5A));
    drop(boxed);
    alloc.check().expect("heap walk after a Box");
}

/// What one run of [`exercise`] allocated, at least.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exercised {
    /// Boxes made: each is one allocation.
    pub boxes: u64,
}

/// `ops` random operations on a `Vec`, a `String`, a `HashMap`, a `BTreeMap`
/// and boxed slices, all verified every 500 operations and at the end.
///
/// # Panics
///
/// If a collection's contents are wrong.
pub fn exercise(seed: u64, ops: usize) -> Exercised {
    let mut rng = seed | 1;
    let mut done = Exercised::default();
    let mut v: Vec<u64> = Vec::new();
    let mut s = String::new();
    let mut pushes = 0u64;
    let mut map: HashMap<u64, String> = HashMap::new();
    let mut tree: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut boxes: Vec<Box<[u64]>> = Vec::new();
    // One block larger than any chunk a strategy would carve by default.
    let big: Vec<u8> = (0..3 << 20)
        .map(|i: usize| (i as u64 ^ seed) as u8)
        .collect();
    for i in 0..ops {
        let r = next(&mut rng);
        let key = r % 512;
        match r % 5 {
            0 => v.push(seed ^ v.len() as u64),
            1 => {
                write!(s, "{pushes},").expect("writing to a String");
                pushes += 1;
            }
            2 if r % 3 == 0 => {
                map.remove(&key);
            }
            2 => {
                map.insert(key, format!("{seed}:{key}"));
            }
            3 if r % 3 == 0 => {
                tree.remove(&key);
            }
            3 => {
                tree.insert(key, vec![key as u8; (key % 64) as usize]);
            }
            _ if r % 4 == 0 => {
                boxes.pop();
            }
            _ => {
                let len = (key % 100 + 1) as usize;
                boxes.push(vec![boxes.len() as u64; len].into_boxed_slice());
                done.boxes += 1;
            }
        }
        if i % 500 == 499 || i + 1 == ops {
            verify(seed, &v, &s, pushes, &map, &tree, &boxes);
        }
    }
    let big_ok = big
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i as u64 ^ seed) as u8);
    assert!(big_ok, "a 3 MiB vector lost its contents");
    done
}

fn verify(
    seed: u64,
    v: &[u64],
    s: &str,
    pushes: u64,
    map: &HashMap<u64, String>,
    tree: &BTreeMap<u64, Vec<u8>>,
    boxes: &[Box<[u64]>],
) {
    for (i, &x) in v.iter().enumerate() {
        assert_eq!(x, seed ^ i as u64, "Vec element {i}");
    }
    let mut n = 0u64;
    for part in s.split_terminator(',') {
        assert_eq!(part.parse::<u64>().ok(), Some(n), "String part {n}");
        n += 1;
    }
    assert_eq!(n, pushes, "String parts");
    for (k, value) in map {
        assert_eq!(*value, format!("{seed}:{k}"), "HashMap value for {k}");
    }
    for (k, bytes) in tree {
        assert!(
            bytes.len() == (k % 64) as usize && bytes.iter().all(|&b| b == *k as u8),
            "BTreeMap value for {k}"
        );
    }
    for (i, b) in boxes.iter().enumerate() {
        assert!(b.iter().all(|&x| x == i as u64), "boxed slice {i}");
    }
}

/// [`exercise`] on one thread, then the heap walk.
///
/// # Panics
///
/// If a collection is wrong or the heap walk fails.
pub fn std_collections<A: GlobalUnderTest>(alloc: &'static A) {
    let before = alloc.stats().allocations;
    let done = exercise(0x1234_5678, 5_000);
    let after = alloc.stats().allocations;
    assert!(
        !alloc.stats().counting || after - before >= done.boxes,
        "{} boxes made but the allocator counted {} allocations",
        done.boxes,
        after - before
    );
    alloc.check().expect("heap walk after std collections");
}

/// [`exercise`] on `threads` threads at once, `ops` operations each; then
/// the allocator's counters must show at least the boxes they made, and the
/// heap walk must pass.
///
/// # Panics
///
/// If a thread's collections are wrong, or the counters or walk disagree.
pub fn std_collections_on_threads<A: GlobalUnderTest>(alloc: &'static A, threads: u64, ops: usize) {
    let before = alloc.stats().allocations;
    let boxes: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || exercise(0xA5A5_0000 + t, ops)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a thread failed").boxes)
            .sum()
    });
    let after = alloc.stats().allocations;
    assert!(
        !alloc.stats().counting || after - before >= boxes,
        "{threads} threads made {boxes} boxes but the allocator counted {} allocations",
        after - before
    );
    alloc.check().expect("heap walk after threads");
}

/// The life of a typical program: it starts with one thread (where the lock
/// may be skipped, see `polyalloc_core::sync::lock_is_elided`), builds
/// collections, then starts threads that allocate, free and hand boxes to
/// each other to free, then goes on alone. Every collection is verified, and
/// the heap walked, at each stage.
///
/// Run from `main` of a test without the harness (the harness starts threads
/// before any test runs): see
/// [`global_allocator_main!`](crate::global_allocator_main).
///
/// # Panics
///
/// If a collection or a handed-over box is wrong, the heap walk fails, or on
/// glibc the lock is not skipped while the process has one thread.
pub fn from_one_thread_to_many<A: GlobalUnderTest>(alloc: &'static A) {
    use polyalloc_core::sync::lock_is_elided;
    use std::sync::mpsc;

    // Force the platform probe to run, then check it while single-threaded.
    drop(Box::new(0u64));
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            lock_is_elided(),
            "a single-threaded glibc process should skip the lock's atomic"
        );
    }
    is_the_global_allocator(alloc);
    let alone = exercise(0x0BAD_CAFE, 3_000);

    // Threads, each allocating on its own and passing boxes to the next one,
    // which frees them.
    let threads = 4u64;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| mpsc::channel::<Box<[u64; 8]>>())
        .unzip();
    let boxes: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(t, rx)| {
                let tx = senders[(t + 1) % threads as usize].clone();
                scope.spawn(move || {
                    let t = t as u64;
                    let done = exercise(0x7777_0000 + t, 2_000);
                    for i in 0..500u64 {
                        tx.send(Box::new([t * 1_000_000 + i; 8]))
                            .expect("next thread is gone");
                    }
                    drop(tx);
                    let from = (t + threads - 1) % threads;
                    let mut got = 0u64;
                    for b in rx {
                        assert!(
                            b.iter().all(|&v| v == from * 1_000_000 + got),
                            "a box from thread {from} was changed in flight"
                        );
                        got += 1;
                    }
                    assert_eq!(got, 500, "boxes lost between threads");
                    done.boxes + 500
                })
            })
            .collect();
        drop(senders);
        handles
            .into_iter()
            .map(|h| h.join().expect("a thread failed"))
            .sum()
    });
    assert!(
        !lock_is_elided(),
        "threads were started: the lock must be taken"
    );
    alloc.check().expect("heap walk after the threads");

    // Alone again.
    let after = exercise(0xFEED_F00D, 3_000);
    alloc.check().expect("heap walk at the end");
    assert!(alone.boxes > 0 && boxes > 0 && after.boxes > 0);
}

/// Rounds per thread of [`stress`] (`POLYALLOC_STRESS_ROUNDS`, default
/// 20,000; a long run uses millions).
fn stress_rounds() -> usize {
    std::env::var("POLYALLOC_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// The cookie an object of `words` words at `addr` carries in its first and
/// last word.
fn cookie(addr: usize, words: usize) -> u64 {
    (addr as u64 ^ (words as u64).rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A threaded stress test in the style of mimalloc's `test-stress`:
/// `threads` threads share 1,024 slots; each round a thread makes an object
/// of a random size (mostly small, now and then up to 32 KiB), stamps a
/// cookie derived from its address and size into its first and last words,
/// swaps it into a random slot, and checks and frees whatever object was
/// there — usually one another thread made. So objects cross threads, and a
/// block handed out twice, or overwritten by another block, breaks a cookie.
/// Then the heap walk must pass.
///
/// # Panics
///
/// If a cookie is wrong or the heap walk fails.
pub fn stress<A: GlobalUnderTest>(alloc: &'static A, threads: u64) {
    use std::sync::Mutex;

    let rounds = stress_rounds();
    let slots: Vec<Mutex<Option<Box<[u64]>>>> = (0..1024).map(|_| Mutex::new(None)).collect();
    let check = |object: Box<[u64]>| {
        let words = object.len();
        let expected = cookie(object.as_ptr().addr(), words);
        assert_eq!(object[0], expected, "first cookie of a {words}-word object");
        assert_eq!(
            object[words - 1],
            expected,
            "last cookie of a {words}-word object"
        );
    };
    std::thread::scope(|scope| {
        for t in 0..threads {
            let slots = &slots;
            scope.spawn(move || {
                let mut x = 0x5157_2e55 ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let mut next = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                for _ in 0..rounds {
                    let r = next();
                    let words = match r % 100 {
                        0 => 2 + (r >> 8) as usize % 4096,
                        1..=10 => 2 + (r >> 8) as usize % 512,
                        _ => 2 + (r >> 8) as usize % 16,
                    };
                    let mut object = vec![0u64; words].into_boxed_slice();
                    let c = cookie(object.as_ptr().addr(), words);
                    object[0] = c;
                    object[words - 1] = c;
                    let slot = (r >> 32) as usize % slots.len();
                    let old = slots[slot].lock().expect("slot lock").replace(object);
                    if let Some(old) = old {
                        check(old);
                    }
                }
            });
        }
    });
    for slot in slots {
        if let Some(object) = slot.into_inner().expect("slot lock") {
            check(object);
        }
    }
    alloc.check().expect("heap walk after the stress test");
}
