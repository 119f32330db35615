//! A long-running program with `FreeListAlloc` as its global allocator:
//! blocks of many sizes are freed in no particular order and their memory
//! is reused, so the memory reserved settles instead of growing.
//!
//! Runs on a host (`cargo run --example churn -p polyalloc-freelist`) and
//! builds for wasm32 guests (`--target wasm32-unknown-unknown` or
//! `wasm32-wasip1`), which CI does.

use std::collections::BTreeMap;

use polyalloc_freelist::{Counting, FreeListAlloc};

/// Counting, to show live and reserved bytes; plain `FreeListAlloc` counts
/// only the bytes it reserves.
#[global_allocator]
static ALLOC: FreeListAlloc<Counting> = FreeListAlloc::new();

/// One round: a map of strings of varied lengths, half of them removed in
/// an order unrelated to the order they were made, then rebuilt.
fn round(seed: u64, map: &mut BTreeMap<u64, String>) {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift64: cheap, deterministic, no dependency.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..500 {
        let key = next() % 1000;
        let len = (next() % 300) as usize;
        map.insert(key, "x".repeat(len));
    }
    for _ in 0..500 {
        let key = next() % 1000;
        map.remove(&key);
    }
}

fn main() {
    let mut map = BTreeMap::new();
    let mut settled = 0;
    for r in 0..200 {
        round(r, &mut map);
        let stats = ALLOC.stats();
        if r == 20 {
            settled = stats.bytes_reserved;
        }
        // The map's size wanders a little from round to round; what must not
        // happen is growth without bound (freed memory not being reused).
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
        "200 rounds: {} allocations, {} frees, {} bytes live, peak {}, {} bytes reserved",
        stats.allocations,
        stats.deallocations,
        stats.bytes_live,
        stats.peak_bytes_live,
        stats.bytes_reserved
    );
}
