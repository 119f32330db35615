//! Op sequences against the bump allocator, decoded from the fuzzer's bytes
//! by `Op::decode_all` and run by the conformance suite's shadow model, which
//! checks alignment, overlap, contents, counters, `owns` and the heap walk
//! after every step. The first byte picks the heap: over a 1 MiB region (runs
//! out of memory often) or over the default source.

#![no_main]

use libfuzzer_sys::fuzz_target;
use polyalloc_conformance::candidates::Bump;
use polyalloc_conformance::model::{Op, replay_default, replay_region};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let ops = Op::decode_all(rest);
    let outcome = if which & 1 == 0 {
        replay_region::<Bump>(&ops, 1 << 20)
    } else {
        replay_default::<Bump>(&ops)
    };
    if let Err(fault) = outcome {
        panic!("bump model failed: {fault}\nops: {ops:?}");
    }
});
