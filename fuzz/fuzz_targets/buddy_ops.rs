//! Op sequences against the buddy allocator, decoded from the fuzzer's
//! bytes and run by the conformance suite's shadow model, which checks
//! alignment, overlap, contents, counters, `owns` and the heap walk (the
//! arena table, every free block on the list of its order, no free block
//! whose buddy is free, the pair bits matching the lists) after every step
//! (see `polyalloc_conformance::model::fuzz_one`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use polyalloc_conformance::candidates::Buddy;
use polyalloc_conformance::model::fuzz_one;

fuzz_target!(|data: &[u8]| fuzz_one::<Buddy>(data));
