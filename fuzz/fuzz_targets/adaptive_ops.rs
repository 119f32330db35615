//! Op sequences against the adaptive allocator with its strategy forced at
//! pseudo-random allocations (and its phase flipped now and then), decoded
//! from the fuzzer's bytes and run by the conformance suite's shadow model:
//! blocks of bump, free list, buddy, slab and the init heap live side by
//! side, and every free must reach the core that owns the block. The model
//! checks alignment, overlap, contents, counters and `owns`, and the heap
//! walk (every core's own walk, the span map, the pool, the live counts)
//! after every step (see `polyalloc_conformance::model::fuzz_one`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use polyalloc_conformance::candidates::AdaptiveSwitching;
use polyalloc_conformance::model::fuzz_one;

fuzz_target!(|data: &[u8]| fuzz_one::<AdaptiveSwitching>(data));
