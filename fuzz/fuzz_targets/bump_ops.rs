//! Op sequences against the bump allocator, decoded from the fuzzer's bytes
//! and run by the conformance suite's shadow model, which checks alignment,
//! overlap, contents, counters, `owns` and the heap walk after every step
//! (see `polyalloc_conformance::model::fuzz_one`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use polyalloc_conformance::candidates::Bump;
use polyalloc_conformance::model::fuzz_one;

fuzz_target!(|data: &[u8]| fuzz_one::<Bump>(data));
