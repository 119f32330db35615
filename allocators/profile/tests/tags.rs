//! Tag points, as a wasm guest uses them, driven natively: each test has a
//! profiler of its own over a free-list heap, used through allocator-api2,
//! so the counts are exactly the test's own.

use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use polyalloc_freelist::FreeListAlloc;
use polyalloc_profile::{Config, Profiled, tag, tagged};
use serde_json::Value;

type Heap = Profiled<FreeListAlloc>;

const fn heap() -> Heap {
    Profiled::with_config(FreeListAlloc::new(), Config::tags().command("tags-test"))
}

fn parse(heap: &Heap) -> Value {
    serde_json::from_str(heap.profile().as_str()).unwrap()
}

/// The point whose only frame is named `name`.
fn point<'a>(v: &'a Value, name: &str) -> &'a Value {
    let ftbl = v["ftbl"].as_array().unwrap();
    let i = ftbl
        .iter()
        .position(|f| f == name)
        .unwrap_or_else(|| panic!("no frame {name}"));
    let pps = v["pps"].as_array().unwrap();
    let found: std::vec::Vec<_> = pps
        .iter()
        .filter(|pp| pp["fs"] == serde_json::json!([i]))
        .collect();
    assert_eq!(found.len(), 1, "points named {name}");
    found[0]
}

fn counts(pp: &Value) -> [u64; 8] {
    ["tb", "tbk", "mb", "mbk", "gb", "gbk", "eb", "ebk"].map(|f| pp[f].as_u64().unwrap())
}

#[test]
fn tags_charge_points_and_time_counts_allocations() {
    static HEAP: Heap = heap();
    let kept = tagged("parse", || {
        (0..3)
            .map(|i| Box::new_in([i as u8; 100], &HEAP))
            .collect::<std::vec::Vec<_>>()
    });
    {
        let _render = tag("render");
        let big = Box::new_in([0u8; 1000], &HEAP);
        drop(big);
    }
    let loose = Box::new_in(7u64, &HEAP);

    let v = parse(&HEAP);
    assert_eq!(v["dhatFileVersion"], 2);
    assert_eq!(v["tu"], "allocs");
    assert_eq!(v["Mtu"], "Mallocs");
    assert_eq!(v["bklt"], true);
    assert_eq!(v["tuth"], 10);
    // Five allocations: the clock reads 5 at the end; the peak (300 + 1000
    // bytes) came with the fourth.
    assert_eq!(v["te"], 5);
    assert_eq!(v["tg"], 4);
    assert_eq!(v["ftbl"][0], "[root]");
    assert_eq!(v["pps"].as_array().unwrap().len(), 3);

    // tb, tbk, mb, mbk, gb, gbk, eb, ebk
    assert_eq!(counts(point(&v, "parse")), [300, 3, 300, 3, 300, 3, 300, 3]);
    assert_eq!(
        counts(point(&v, "render")),
        [1000, 1, 1000, 1, 1000, 1, 0, 0]
    );
    assert_eq!(counts(point(&v, "[untagged]")), [8, 1, 8, 1, 0, 0, 8, 1]);
    // Lifetimes in allocations: `render`'s block lived from the 4th to the
    // 4th (freed before the 5th); `parse`'s from 1, 2, 3 to the end, 5.
    assert_eq!(point(&v, "render")["tl"], 0);
    assert_eq!(point(&v, "parse")["tl"], 4 + 3 + 2);
    assert_eq!(point(&v, "[untagged]")["tl"], 0);

    let s = HEAP.summary();
    assert_eq!((s.total_blocks, s.total_bytes), (5, 1308));
    assert_eq!((s.max_blocks, s.max_bytes), (4, 1300));
    assert_eq!((s.curr_blocks, s.curr_bytes, s.lost), (4, 308, 0));
    drop((kept, loose));
    assert_eq!(HEAP.summary().curr_bytes, 0);
}

#[test]
fn reallocations_count_as_dhat_rs_counts_them() {
    static HEAP: Heap = heap();
    let _t = tag("grow");
    let mut v: Vec<u8, _> = Vec::with_capacity_in(16, &HEAP);
    v.extend_from_slice(&[1; 16]);
    v.reserve_exact(48); // 16 -> 64 bytes
    v.extend_from_slice(&[2; 48]);
    v.truncate(8);
    v.shrink_to_fit(); // 64 -> 8

    let json = parse(&HEAP);
    // Each resize is one more block in the totals, of its new size; the
    // live block count stays one.
    assert_eq!(
        counts(point(&json, "grow")),
        [16 + 64 + 8, 3, 64, 1, 64, 1, 8, 1]
    );
    let s = HEAP.summary();
    assert_eq!(
        (s.total_blocks, s.curr_blocks, s.curr_bytes, s.max_bytes),
        (3, 1, 8, 64)
    );
}

#[test]
fn tags_nest_and_restore() {
    assert_eq!(polyalloc_profile::current_tag(), None);
    {
        let _a = tag("a");
        assert_eq!(polyalloc_profile::current_tag(), Some("a"));
        tagged("b", || {
            assert_eq!(polyalloc_profile::current_tag(), Some("b"))
        });
        assert_eq!(polyalloc_profile::current_tag(), Some("a"));
        assert_eq!(polyalloc_profile::set_tag(Some("c")), Some("a"));
    }
    assert_eq!(polyalloc_profile::current_tag(), None);
}

#[test]
fn strings_in_the_frame_table_are_escaped() {
    static HEAP: Heap = heap();
    let b = tagged(
        "quote \" backslash \\ newline \n tab \t bell \u{7} µ",
        || Box::new_in(1u8, &HEAP),
    );
    let v = parse(&HEAP);
    // It parsed, and the name came back whole.
    let _ = point(&v, "quote \" backslash \\ newline \n tab \t bell \u{7} µ");
    drop(b);
}

#[test]
fn zero_size_requests_are_not_blocks() {
    static HEAP: Heap = heap();
    let v: Vec<u8, _> = Vec::with_capacity_in(0, &HEAP);
    let unit = Box::new_in((), &HEAP);
    drop((v, unit));
    assert_eq!(HEAP.summary(), polyalloc_profile::Summary::default());
    let v = parse(&HEAP);
    assert_eq!(v["pps"].as_array().unwrap().len(), 0);
    assert_eq!(v["ftbl"], serde_json::json!(["[root]"]));
}

#[test]
fn frees_of_unseen_blocks_are_ignored() {
    use core::alloc::{GlobalAlloc, Layout};
    static HEAP: Heap = heap();
    let layout = Layout::from_size_align(64, 8).unwrap();
    // A block the profiler never saw (from the inner allocator directly),
    // freed through it: ignored, as dhat-rs ignores it.
    // SAFETY: a valid layout; the block goes back to the same inner heap.
    unsafe {
        let p = HEAP.inner().alloc(layout);
        assert!(!p.is_null());
        HEAP.dealloc(p, layout);
    }
    assert_eq!(HEAP.summary(), polyalloc_profile::Summary::default());
    // A reallocation of one counts as an allocation of the new size.
    // SAFETY: as above.
    unsafe {
        let p = HEAP.inner().alloc(layout);
        let q = HEAP.realloc(p, layout, 128);
        assert!(!q.is_null());
        let s = HEAP.summary();
        assert_eq!(
            (s.total_blocks, s.total_bytes, s.curr_blocks, s.curr_bytes),
            (1, 128, 1, 128)
        );
        HEAP.dealloc(q, Layout::from_size_align(128, 8).unwrap());
    }
    assert_eq!(HEAP.summary().curr_blocks, 0);
}

mod guest {
    use super::*;

    static GUEST: Heap = heap();
    polyalloc_profile::guest_abi!(GUEST);

    #[test]
    fn the_guest_abi_hands_out_the_profile_bytes() {
        let b = tagged("handler", || Box::new_in([0u8; 40], &GUEST));
        let len = polyalloc_profile_write();
        let ptr = polyalloc_profile_ptr() as *const u8;
        assert!(len > 0 && !ptr.is_null());
        // SAFETY: the last write left `len` bytes at `ptr`, unchanged until
        // the next write.
        let bytes = unsafe { core::slice::from_raw_parts(ptr, len) };
        let v: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(counts(point(&v, "handler")), [40, 1, 40, 1, 40, 1, 40, 1]);
        assert_eq!(v["cmd"].as_str().map(|c| !c.is_empty()), Some(true));
        drop(b);
        // A second write replaces the first.
        let len2 = polyalloc_profile_write();
        // SAFETY: as above.
        let bytes =
            unsafe { core::slice::from_raw_parts(polyalloc_profile_ptr() as *const u8, len2) };
        let v: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(point(&v, "handler")["eb"], 0);
    }
}
