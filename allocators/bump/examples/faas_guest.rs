//! A FaaS-style program with `BumpAlloc` as its global allocator: each
//! "invocation" allocates freely, drops everything, and resets the heap, so
//! every invocation reuses the same memory.
//!
//! Runs on a host (`cargo run --example faas_guest -p polyalloc-bump`) and
//! builds for wasm32 guests (`--target wasm32-unknown-unknown` or
//! `wasm32-wasip1`), which CI does.

use std::collections::BTreeMap;

use polyalloc_bump::{BumpAlloc, Counting};

/// Counting, to show what each invocation did; plain `BumpAlloc` counts only
/// the bytes it reserves and is faster.
#[global_allocator]
static ALLOC: BumpAlloc<Counting> = BumpAlloc::new();

/// One invocation: count the words of `input`.
fn invocation(input: &str) -> usize {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for word in input.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_default() += 1;
    }
    counts.len()
}

fn main() {
    let input = "the quick brown fox jumps over the lazy dog The End";
    let mut reserved_after_first = 0;
    for round in 0..100 {
        let distinct = invocation(input);
        assert_eq!(distinct, 9);
        // SAFETY: everything the invocation allocated has been dropped, and
        // nothing else in this program allocates between resets.
        unsafe { ALLOC.reset() };
        let stats = ALLOC.stats();
        if round == 0 {
            reserved_after_first = stats.bytes_reserved;
        }
        assert_eq!(stats.bytes_live, 0);
        assert_eq!(
            stats.bytes_reserved, reserved_after_first,
            "memory stays flat"
        );
    }
    let stats = ALLOC.stats();
    println!(
        "100 invocations: {} allocations, {} failed deallocations, {} bytes reserved",
        stats.allocations, stats.failed_deallocations, stats.bytes_reserved
    );
}
