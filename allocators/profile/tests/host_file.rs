//! Runs the host example's workload (`examples/host_profile.rs`, the
//! profiler as this binary's global allocator, with backtrace points), then
//! reads the DHAT file back and checks every field the viewer needs and the
//! allocations the workload is known to make.
// The self-hosted run (tests/selfhost.sh) sets the global allocator itself.
#![cfg(not(polyalloc_selfhost))]

#[path = "../examples/host_profile.rs"]
mod example;
mod common {
    pub mod format;
}

use serde_json::Value;

/// The points whose frames name the function `name`.
fn points_in<'a>(pps: &'a [Value], ftbl: &[Value], name: &str) -> Vec<&'a Value> {
    pps.iter()
        .filter(|pp| {
            pp["fs"].as_array().unwrap().iter().any(|f| {
                ftbl[f.as_u64().unwrap() as usize]
                    .as_str()
                    .unwrap()
                    .contains(name)
            })
        })
        .collect()
}

fn sum(points: &[&Value], field: &str) -> u64 {
    points.iter().map(|pp| pp[field].as_u64().unwrap()).sum()
}

#[test]
fn host_profile_file_has_the_known_allocations() {
    let path = std::env::temp_dir().join(format!("polyalloc-profile-{}.json", std::process::id()));
    example::run(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();

    // The header and the points, as dh_view.html checks them; then this
    // mode's units and names.
    let (ftbl, pps) = common::format::check(&v);
    assert_eq!(v["tu"], "µs");
    assert_eq!(v["Mtu"], "s");
    assert_eq!(v["tuth"], 10);
    assert!(v["cmd"].as_str().unwrap().contains("host_file"));
    assert_eq!(v["pid"], std::process::id());
    for pp in pps {
        let fs = pp["fs"].as_array().unwrap();
        // The allocator's and the profiler's own frames are trimmed.
        let top = ftbl[fs[0].as_u64().unwrap() as usize].as_str().unwrap();
        assert!(
            !top.contains("polyalloc_profile::") && !top.contains("__rust_alloc"),
            "untrimmed top frame {top}"
        );
    }

    // Exactly ten blocks of 1 KiB from `ten_blocks`, all live at the peak
    // and at the end.
    let ten = points_in(pps, ftbl, "ten_blocks");
    assert!(!ten.is_empty(), "no point names ten_blocks");
    assert_eq!(sum(&ten, "tbk"), example::BLOCKS as u64);
    assert_eq!(
        sum(&ten, "tb"),
        (example::BLOCKS * example::BLOCK_SIZE) as u64
    );
    assert_eq!(sum(&ten, "ebk"), example::BLOCKS as u64);
    assert_eq!(sum(&ten, "gbk"), example::BLOCKS as u64);

    // One block of 1 MiB from `peak`: live at the global peak, gone at the
    // end.
    let peak = points_in(pps, ftbl, "::peak (");
    assert_eq!(sum(&peak, "tbk"), 1);
    assert_eq!(sum(&peak, "tb"), example::PEAK_SIZE as u64);
    assert_eq!(sum(&peak, "mb"), example::PEAK_SIZE as u64);
    assert_eq!(sum(&peak, "gb"), example::PEAK_SIZE as u64);
    assert_eq!(sum(&peak, "eb"), 0);
    // The global peak is at least these blocks, and is what the points at
    // the peak add up to.
    let at_peak: u64 = pps.iter().map(|pp| pp["gb"].as_u64().unwrap()).sum();
    assert!(at_peak >= (example::PEAK_SIZE + example::BLOCKS * example::BLOCK_SIZE) as u64);
}
