//! Op sequences against the slab allocator, decoded from the fuzzer's bytes
//! and run by the conformance suite's shadow model, which checks alignment,
//! overlap, contents, counters, `owns` and the heap walk (every slot free or
//! handed out exactly once, each slab on the list its state says, the pool,
//! the large blocks and the runs adding up to what is reserved) after every
//! step (see `polyalloc_conformance::model::fuzz_one`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use polyalloc_conformance::candidates::Slab;
use polyalloc_conformance::model::fuzz_one;

fuzz_target!(|data: &[u8]| fuzz_one::<Slab>(data));
