//! A wasm guest profiled by `polyalloc-profile`: the adaptive allocator as
//! its global allocator, wrapped by the profiler in tag mode (a guest has no
//! backtraces, clock or files), its exports tagged with their own names, and
//! the profile exported through the profiler's guest ABI.
//!
//! A host (`polyalloc-host`'s `profile_guest` example and its test
//! `tests/profile.rs`) instantiates it, calls `init` once and `handle` per
//! invocation, then `polyalloc_profile_write()` (the profile's length) and
//! `polyalloc_profile_ptr()` (its address in the guest's memory), copies
//! those bytes out and writes them to a file that `dh_view.html` opens.
//!
//! What it allocates is known, and the test checks the profile against it:
//! `init` builds a map of 64 entries, each with a 8-byte `String`; each
//! `handle` allocates one 400-byte `Vec<u32>` under the tag `parse`, then a
//! `Vec<String>` of 100 and 100 upper-cased strings of 8 bytes.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use polyalloc_adaptive::AdaptiveAlloc;
use polyalloc_profile::{Config, Profiled, tagged};

#[global_allocator]
static ALLOC: Profiled<AdaptiveAlloc> = Profiled::with_config(
    AdaptiveAlloc::new(),
    Config::tags().command("guest-profiled"),
);

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
