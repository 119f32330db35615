//! Profiles a wasm guest's allocations: runs the profiled guest
//! (`adaptive/host/guests/profiled`: `AdaptiveAlloc` under
//! `polyalloc_profile::Profiled` in tag mode) in wasmtime, pulls its DHAT
//! profile out through the profiler's guest ABI, and writes the file that
//! DHAT's viewer (`dh_view.html`) opens.
//!
//! ```sh
//! cargo run -p polyalloc-host --example profile_guest -- dhat-guest.json
//! ```
//!
//! A host of another guest does the same: the guest puts
//! `polyalloc_profile::guest_abi!(ALLOC)` beside its `Profiled` global
//! allocator, and the host calls [`Guest::profile`] when it wants the file.

use polyalloc_host::guests::{self, GuestKind};
use polyalloc_host::{Guest, HostError};

fn main() -> Result<(), HostError> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "dhat-guest.json".into());
    let module = guests::module(GuestKind::Profiled)?;
    let mut guest = Guest::new(guests::engine(), &module)?;
    guest.call::<(), ()>("init", ())?;
    for seed in 0..10u32 {
        let sum: u32 = guest.call("handle", seed)?;
        assert_eq!(sum, 800, "the guest's answer");
    }
    let profile = guest.profile()?;
    std::fs::write(&path, &profile).expect("write the profile");
    println!("wrote {} bytes of profile to {path}", profile.len());
    Ok(())
}
