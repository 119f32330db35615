//! A wasm guest profiled by `polyalloc-profile`: the adaptive allocator as
//! its global allocator, wrapped by the profiler in tag mode (a guest has no
//! backtraces, clock or files), its exports tagged with their own names, and
//! the profile exported through the guest ABI.
//!
//! ```sh
//! cargo build --release --target wasm32-unknown-unknown -p polyalloc-profile --example wasm_guest
//! ```
//!
//! A host instantiates `wasm_guest.wasm`, calls `init` and `handle`, then
//! `polyalloc_profile_write()` (the profile's length) and
//! `polyalloc_profile_ptr()` (its address in the guest's memory), copies
//! those bytes out and writes them to a file that `dh_view.html` opens.
//!
//! Natively, `main` plays that host:
//! `cargo run -p polyalloc-profile --example wasm_guest -- guest.json`.

use std::collections::BTreeMap;

use polyalloc_adaptive::AdaptiveAlloc;
use polyalloc_profile::{Config, Profiled, tagged};

#[global_allocator]
static ALLOC: Profiled<AdaptiveAlloc> =
    Profiled::with_config(AdaptiveAlloc::new(), Config::tags().command("wasm_guest"));

polyalloc_profile::guest_abi!(ALLOC);

/// Built by `init`; lives across invocations.
static mut TABLE: Option<BTreeMap<u32, String>> = None;

polyalloc_profile::tagged_exports! {
    /// Builds the lookup table (charged to `init`).
    pub fn init() {
        let table = (0..64u32).map(|i| (i, format!("entry-{i:02}"))).collect();
        // SAFETY: one thread runs the guest; nothing else touches TABLE now.
        unsafe { *core::ptr::addr_of_mut!(TABLE) = Some(table) };
    }

    /// One invocation (charged to `handle`, with its parsing charged to
    /// `parse`): returns a checksum of its output.
    pub fn handle(seed: u32) -> u32 {
        // SAFETY: one thread runs the guest; `init` built the table.
        let table = unsafe { (*core::ptr::addr_of!(TABLE)).as_ref() }.expect("init ran");
        let words: Vec<u32> = tagged("parse", || {
            (0..100).map(|i| (seed.wrapping_mul(31) + i) % 64).collect()
        });
        let out: Vec<String> = words.iter().map(|w| table[w].to_uppercase()).collect();
        out.iter().map(|s| s.len() as u32).sum()
    }
}

fn main() {
    init();
    let sums: Vec<u32> = (0..10).map(|s| handle(s)).collect();
    assert!(sums.iter().all(|&s| s == 800), "{sums:?}");
    // What a host does through the exports.
    let len = polyalloc_profile_write();
    let ptr = polyalloc_profile_ptr() as *const u8;
    // SAFETY: the last write left `len` bytes at `ptr`.
    let json = unsafe { core::slice::from_raw_parts(ptr, len) };
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "dhat-guest.json".into());
    std::fs::write(&path, json).expect("write the profile");
    println!("wrote {len} bytes to {path}");
}
