//! A program with `BuddyAlloc` as its global allocator: vectors that grow
//! by doubling (each step a power of two, the buddy allocator's own size,
//! often grown in place by absorbing the free buddy) and blocks of many
//! sizes freed in no particular order, whose buddies merge again so the
//! memory reserved settles instead of growing.
//!
//! Runs on a host (`cargo run --example buddy_churn -p polyalloc-buddy`) and
//! builds for wasm32 guests (`--target wasm32-unknown-unknown` or
//! `wasm32-wasip1`).

use std::collections::BTreeMap;

use polyalloc_buddy::{BuddyAlloc, Counting};

/// Counting, to show live and reserved bytes; plain `BuddyAlloc` counts only
/// the bytes it reserves.
#[global_allocator]
static ALLOC: BuddyAlloc<Counting> = BuddyAlloc::new();

/// One round: vectors grown element by element, and a map of strings of
/// varied lengths, half of them removed in an order unrelated to the order
/// they were made.
fn round(seed: u64, map: &mut BTreeMap<u64, String>) -> usize {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift64: cheap, deterministic, no dependency.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut total = 0;
    for _ in 0..4 {
        let mut v = Vec::new();
        for i in 0..next() % 5000 {
            v.push(i);
        }
        total += v.len();
    }
    for _ in 0..500 {
        let key = next() % 1000;
        let len = (next() % 300) as usize;
        map.insert(key, "x".repeat(len));
    }
    for _ in 0..500 {
        map.remove(&(next() % 1000));
    }
    total
}

fn main() {
    let mut map = BTreeMap::new();
    let mut settled = 0;
    let mut elements = 0;
    for r in 0..200 {
        elements += round(r, &mut map);
        let stats = ALLOC.stats();
        if r == 20 {
            settled = stats.bytes_reserved;
        }
        // What must not happen is growth without bound (freed memory not
        // being reused).
        if r > 20 {
            assert!(
                stats.bytes_reserved <= 2 * settled,
                "round {r}: {} bytes reserved, {settled} after round 20",
                stats.bytes_reserved
            );
        }
    }
    let stats = ALLOC.stats();
    println!(
        "200 rounds, {elements} elements pushed: {} allocations, {} frees, {} in place, \
         {} bytes live, peak {}, {} bytes reserved",
        stats.allocations,
        stats.deallocations,
        stats.reallocations,
        stats.bytes_live,
        stats.peak_bytes_live,
        stats.bytes_reserved
    );
}
