//! A wasm guest's allocation profile, pulled out by the host through the
//! profiler's guest ABI (issue 10): the file the `profile_guest` example
//! writes, checked against DHAT's required fields and against what the
//! guest is known to allocate.

use polyalloc_host::Guest;
use polyalloc_host::guests::{self, GuestKind};
use serde_json::Value;

/// The checks every DHAT file passes, shared with the profiler's own test.
#[path = "../../../allocators/profile/tests/common/format.rs"]
mod format;

/// Runs the profiled guest as the example does (`init`, then `handle` for
/// `invocations` seeds) and returns its profile, written to
/// `<target>/profiles/wasm-guest.json` on the way (CI reads it with the
/// viewer's own checks where Valgrind is installed).
fn run(invocations: u32) -> Value {
    let module = guests::module(GuestKind::Profiled).unwrap();
    let mut guest = Guest::new(guests::engine(), &module).unwrap();
    guest.call::<(), ()>("init", ()).unwrap();
    for seed in 0..invocations {
        let sum: u32 = guest.call("handle", seed).unwrap();
        assert_eq!(sum, 800);
    }
    let bytes = guest.profile().unwrap();
    let dir = guests::build().unwrap().join("../../../profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wasm-guest.json"), &bytes).unwrap();
    serde_json::from_slice(&bytes).expect("the profile is JSON")
}

fn u(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a number in {v}"))
}

/// The program point whose innermost frame is `name`.
fn point<'a>(profile: &'a Value, name: &str) -> &'a Value {
    let ftbl = profile["ftbl"].as_array().unwrap();
    profile["pps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pp| {
            let fs = pp["fs"].as_array().unwrap();
            ftbl[fs[0].as_u64().unwrap() as usize].as_str() == Some(name)
        })
        .unwrap_or_else(|| panic!("no program point for {name}"))
}

#[test]
fn the_guest_profile_has_dhats_fields_and_the_known_allocations() {
    let invocations = 10;
    let p = run(invocations);

    // The header and the points DHAT's viewer requires; tag mode's units.
    let (_, pps) = format::check(&p);
    assert_eq!(p["tu"], "allocs");
    assert_eq!(p["cmd"], "guest-profiled");
    let te = u(&p, "te");

    // What the guest allocates. `parse` (inside `handle`): one Vec<u32> of
    // 100 per invocation, freed within it.
    let parse = point(&p, "parse");
    assert_eq!(u(parse, "tbk"), u64::from(invocations));
    assert_eq!(u(parse, "tb"), 400 * u64::from(invocations));
    assert_eq!((u(parse, "mbk"), u(parse, "mb")), (1, 400));
    assert_eq!((u(parse, "ebk"), u(parse, "eb")), (0, 0));
    // `handle`: per invocation, 100 upper-cased strings of 8 bytes and the
    // Vec<String> holding them (grown by collect), none left at the end.
    let handle = point(&p, "handle");
    assert!(u(handle, "tbk") >= 101 * u64::from(invocations));
    assert!(u(handle, "tb") >= 100 * 8 * u64::from(invocations));
    assert_eq!((u(handle, "ebk"), u(handle, "eb")), (0, 0));
    // `init`: the 64 strings of 8 bytes and the map's nodes, still live at
    // the end (building the map from an iterator also uses a temporary
    // buffer, freed at once).
    let init = point(&p, "init");
    assert!(u(init, "ebk") > 64, "the strings and at least one node");
    assert!(u(init, "eb") > 64 * 8);
    assert!(u(init, "tbk") >= u(init, "ebk"));
    // Time counts allocations: the end is the total of every point's blocks
    // (no realloc moves a block in this program's points but `collect`'s,
    // which are counted as blocks too).
    let total: u64 = pps.iter().map(|pp| u(pp, "tbk")).sum();
    assert_eq!(te, total);
}
