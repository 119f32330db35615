//! Tests that hold in every build, whichever strategy cores its cargo
//! features leave out (run them with `cargo test -p polyalloc-adaptive
//! --no-default-features --lib`, with or without `--features bump`): a
//! strategy left out is served by the free list, and no block is lost or
//! misrouted across switches.

extern crate std;

use std::vec::Vec;

use super::*;

use polyalloc_core::source::MmapSource;

type Test = AdaptiveHeap<MmapSource>;

fn heap() -> Test {
    AdaptiveHeap::with_source(MmapSource::new())
}

#[test]
fn a_new_heap_starts_on_bump_or_else_on_the_free_list() {
    let h = heap();
    let first = served(Strategy::Bump);
    assert_eq!(h.strategy(), first);
    assert_eq!(h.decision().strategy, first);
    assert_eq!(h.decision().reason, Reason::Start);
    assert_eq!(h.record().decision.strategy, first);
    h.check().unwrap();
}

#[test]
fn a_strategy_left_out_is_served_by_the_free_list() {
    let mut h = heap();
    let layout = Layout::from_size_align(48, 8).unwrap();
    for strategy in Strategy::ALL {
        h.force(strategy);
        let by = served(strategy);
        assert_eq!(h.strategy(), by, "forced {strategy:?}");
        let p = h.allocate(layout).expect("allocation");
        h.check().unwrap();
        assert_eq!(h.live_blocks(by), 1, "forced {strategy:?}");
        if by != strategy {
            assert_eq!(h.live_blocks(strategy), 0, "{strategy:?} is not built");
        }
        // SAFETY: `p` is a live block of `layout`.
        unsafe { h.deallocate(p, layout) };
        h.check().unwrap();
    }
    assert_eq!(h.stats().bytes_live, 0);
}

#[test]
fn a_record_naming_a_strategy_left_out_starts_on_the_free_list() {
    let record = Record {
        decision: Decision {
            strategy: Strategy::Slab,
            reason: Reason::Review,
            at_allocation: 0,
        },
        stateful: true,
        invocations: 3,
        switches: 1,
        usage: Usage::ZERO,
    };
    let mut h = heap();
    h.load_record(&record.to_bytes()).unwrap();
    assert_eq!(h.strategy(), served(Strategy::Slab));
    assert_eq!(h.decision().reason, Reason::Record);
    let layout = Layout::from_size_align(24, 8).unwrap();
    let p = h.allocate(layout).expect("allocation");
    assert_eq!(h.live_blocks(served(Strategy::Slab)), 1);
    // SAFETY: `p` is a live block of `layout`.
    unsafe { h.deallocate(p, layout) };
    h.check().unwrap();
}

#[test]
fn blocks_of_every_strategy_survive_switches_and_go_back_to_their_core() {
    let mut h = heap();
    // xorshift64, so the sequence is the same in every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut below = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let ops = if cfg!(miri) { 150 } else { 3000 };
    let mut live: Vec<(NonNull<u8>, Layout, u8)> = Vec::new();
    for i in 0..ops {
        match below(16) {
            0 => h.force(Strategy::ALL[below(4) as usize]),
            1 => h.end_invocation(),
            2..=8 => {
                let size = match below(8) {
                    0 => 1 << (10 + below(7)),
                    1 => 0,
                    _ => 1 + below(300) as usize,
                };
                let align = 1 << below(5);
                let layout = Layout::from_size_align(size, align).unwrap();
                let p = h.allocate(layout).expect("allocation");
                assert_eq!(p.as_ptr().addr() % align, 0, "misaligned");
                let tag = (i % 251) as u8;
                // SAFETY: a fresh block of `size` bytes.
                unsafe { p.as_ptr().write_bytes(tag, size) };
                live.push((p, layout, tag));
            }
            _ if !live.is_empty() => {
                let (p, layout, tag) = live.swap_remove(below(live.len() as u64) as usize);
                // SAFETY: `p` is a live block of `layout`, filled with `tag`.
                let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), layout.size()) };
                assert!(bytes.iter().all(|&b| b == tag), "block corrupted");
                // SAFETY: as above.
                unsafe { h.deallocate(p, layout) };
            }
            _ => {}
        }
        h.check().unwrap();
    }
    for (p, layout, tag) in live {
        // SAFETY: `p` is a live block of `layout`, filled with `tag`.
        let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), layout.size()) };
        assert!(bytes.iter().all(|&b| b == tag), "block corrupted");
        // SAFETY: as above.
        unsafe { h.deallocate(p, layout) };
        h.check().unwrap();
    }
    assert_eq!(h.stats().bytes_live, 0);
}
