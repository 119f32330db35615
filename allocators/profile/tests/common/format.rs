//! The checks every DHAT file must pass, whichever mode wrote it: the header
//! dh_view.html reads, the frame table starting at the root, each program
//! point's counts, and frame lists that are unique and name real entries.
//! Shared by this crate's host test and `polyalloc-host`'s guest test
//! (included with `#[path]`).

use std::collections::HashSet;

use serde_json::Value;

/// Checks `v` against the format's required fields and returns its frame
/// table and program points.
pub fn check(v: &Value) -> (&[Value], &[Value]) {
    assert_eq!(v["dhatFileVersion"], 2);
    assert_eq!(v["mode"], "rust-heap");
    assert_eq!(v["verb"], "Allocated");
    assert_eq!(v["bklt"], true);
    assert_eq!(v["bkacc"], false);
    assert!(v["tu"].is_string() && v["Mtu"].is_string());
    assert!(v["cmd"].is_string() && v["pid"].is_u64());
    let (tg, te) = (v["tg"].as_u64().unwrap(), v["te"].as_u64().unwrap());
    assert!(tg <= te, "tg {tg} after te {te}");

    let ftbl = v["ftbl"].as_array().unwrap();
    assert_eq!(ftbl[0], "[root]");
    let pps = v["pps"].as_array().unwrap();
    assert!(!pps.is_empty());
    let mut seen = HashSet::new();
    for pp in pps {
        for field in ["tb", "tbk", "tl", "mb", "mbk", "gb", "gbk", "eb", "ebk"] {
            assert!(pp[field].is_u64(), "{field} missing in {pp}");
        }
        assert!(pp["eb"].as_u64() <= pp["mb"].as_u64() && pp["gb"].as_u64() <= pp["mb"].as_u64());
        let fs: Vec<u64> = pp["fs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_u64().unwrap())
            .collect();
        assert!(!fs.is_empty());
        assert!(fs.iter().all(|&f| f > 0 && (f as usize) < ftbl.len()));
        assert!(seen.insert(fs.clone()), "repeated location {fs:?}");
    }
    (ftbl, pps)
}
