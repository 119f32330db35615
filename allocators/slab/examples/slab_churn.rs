//! A long-running program with `SlabAlloc` as its global allocator: many
//! small objects of a few sizes (map nodes, short strings) made and freed
//! in no particular order, with now and then a buffer larger than the
//! largest class. Freed slots are reused, so the memory reserved settles
//! instead of growing.
//!
//! Runs on a host (`cargo run --example slab_churn -p polyalloc-slab`) and
//! builds for wasm32 guests (`--target wasm32-unknown-unknown` or
//! `wasm32-wasip1`), which CI does.

use std::collections::BTreeMap;

use polyalloc_slab::{Counting, SlabAlloc};

/// Counting, to show live and reserved bytes; plain `SlabAlloc` counts only
/// the bytes it reserves.
#[global_allocator]
static ALLOC: SlabAlloc<Counting> = SlabAlloc::new();

/// One round: a map of short strings, half of them removed in an order
/// unrelated to the order they were made, and a large buffer built and
/// dropped.
fn round(seed: u64, map: &mut BTreeMap<u64, String>) -> usize {
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
        let len = (next() % 200) as usize;
        map.insert(key, "x".repeat(len));
    }
    for _ in 0..500 {
        let key = next() % 1000;
        map.remove(&key);
    }
    let big: Vec<u8> = vec![seed as u8; 20_000 + (next() % 50_000) as usize];
    big.len()
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
