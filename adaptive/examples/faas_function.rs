//! A FaaS function with `AdaptiveAlloc` as its global allocator and the
//! guest ABI exported, driven here by a loop that plays the host.
//!
//! The function keeps a lookup table made at initialisation (init phase),
//! and each invocation builds and sorts a list of records, dropping most of
//! them out of order as it goes: bump would waste megabytes of dropped
//! records, so the allocator moves the function to another strategy (slab:
//! the records are small) during its first invocation, and the record it
//! leaves makes the next instance start there.
//!
//! Runs on a host (`cargo run --example faas_function -p polyalloc-adaptive`)
//! and builds for wasm32 guests (`--target wasm32-unknown-unknown` or
//! `wasm32-wasip1`), where a host calls `handle` and the `polyalloc_*`
//! exports instead; CI builds it.

use std::collections::BTreeMap;

use polyalloc_adaptive::{AdaptiveAlloc, Control, Strategy};

#[global_allocator]
static ALLOC: AdaptiveAlloc = AdaptiveAlloc::new();

polyalloc_adaptive::guest_abi!(ALLOC);

/// Built once, in the init phase; lives across invocations.
static mut TABLE: Option<BTreeMap<u32, String>> = None;

/// Builds the lookup table (the guest's init function).
#[unsafe(no_mangle)]
pub extern "C" fn init() {
    ALLOC.begin_init();
    let table = (0..256u32).map(|i| (i, format!("entry-{i:03}"))).collect();
    // SAFETY: one thread runs the guest; nothing else touches TABLE now.
    unsafe { *core::ptr::addr_of_mut!(TABLE) = Some(table) };
    ALLOC.end_init();
}

/// One invocation: returns a checksum of its output.
#[unsafe(no_mangle)]
pub extern "C" fn handle(seed: u32) -> u32 {
    // SAFETY: one thread runs the guest; the table was built by `init`.
    let table = unsafe { (*core::ptr::addr_of!(TABLE)).as_ref() }.expect("init ran");
    let mut x = u64::from(seed) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut kept: Vec<String> = Vec::new();
    for _ in 0..20_000 {
        let key = (next() % 256) as u32;
        let record = format!(
            "{}:{:>width$}",
            table[&key],
            next() % 10_000,
            width = (next() % 64) as usize
        );
        // Most records are dropped right away, some only after others:
        // frees bump cannot take back.
        if next() % 4 == 0 {
            kept.push(record);
        }
        if kept.len() > 64 {
            kept.swap_remove((next() % 64) as usize);
        }
    }
    kept.sort();
    kept.iter().map(|s| s.len() as u32).sum()
}

fn main() {
    init();
    // The host's own state must not live in the guest's run heap, which
    // every reset empties: a fixed array here, host memory in a real host.
    let mut outputs = [0u32; 20];
    for (seed, out) in outputs.iter_mut().enumerate() {
        *out = handle(seed as u32);
        // The host ends the invocation. The function is stateful (the
        // default), so its run heap is kept: a native program's runtime
        // allocates before `main`, outside any init phase. A wasm reactor
        // guest whose host calls every export would declare itself pure
        // (`polyalloc_set_stateful(0)`) and have its run heap emptied here.
        polyalloc_reset();
    }
    assert_eq!(outputs[0], outputs[1], "seeds 0 and 1 are the same input");
    let decision = ALLOC.decision();
    assert_ne!(
        decision.strategy,
        Strategy::Bump,
        "the churn should have moved it off bump"
    );
    println!(
        "20 invocations: strategy {} ({:?}), {} allocations in all, outputs {:?}...",
        decision.strategy.name(),
        decision.reason,
        ALLOC.totals().allocations,
        &outputs[..3]
    );
    // What a host would store for the next instance.
    let record = ALLOC.record_bytes();
    println!("record: {} bytes", record.len());
}
