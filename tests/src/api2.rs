//! The allocator-api2 collections a library author builds on a heap:
//! `allocator_api2::vec::Vec::new_in(&heap)` and
//! `hashbrown::HashMap::new_in(&heap)`, with their contents verified after
//! every phase and the heap walked and counted.

use allocator_api2::vec::Vec as ApiVec;
use hashbrown::{HashMap, HashSet};
use polyalloc_core::{Heap, LockedHeap};

use crate::candidate::Candidate;
use crate::checks::{report, walk};
use crate::fixture::{RegionFixture, default_heap};
use crate::live::Outcome;

/// Region size for the collection tests: room for a bump heap's copies.
const COLLECTION_REGION: usize = 8 * 1024 * 1024;

/// A value derived from `i`, so contents can be recomputed.
fn mix(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 7)
}

/// Checks that `got` equals the values `f(0..n)`.
fn expect_seq(what: &str, got: &[u64], n: usize, f: impl Fn(u64) -> u64) -> Outcome {
    if got.len() != n {
        return Err(format!("{what}: length {} instead of {n}", got.len()));
    }
    match (0..n as u64).position(|i| got[i as usize] != f(i)) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what}: element {i} is {:#x}, expected {:#x}",
            got[i],
            f(i as u64)
        )),
    }
}

/// Checks that the collections are gone: live bytes and blocks back to what
/// they were before.
fn back_to<H: Heap>(heap: &LockedHeap<H>, bytes: usize, blocks: u64) -> Outcome {
    walk(heap)?;
    let s = heap.stats();
    if s.bytes_live != bytes || s.blocks_live() != blocks {
        return Err(format!(
            "after dropping every collection: {} bytes in {} blocks live, expected {bytes} in \
             {blocks} ({s:?})",
            s.bytes_live,
            s.blocks_live()
        ));
    }
    Ok(())
}

/// `allocator_api2::vec::Vec` on the heap: pushes, extends, interleaved
/// growth of two vectors, truncation and `shrink_to_fit`, inserts and
/// removes, nested vectors and clones, each with its contents verified.
///
/// # Panics
///
/// If a vector's contents are wrong, or the heap breaks or miscounts.
pub fn vec_in_heap<C: Candidate>() {
    let heap = default_heap::<C>();
    report::<C>("Vec, default source", vec_on(&heap));
    let fixture = RegionFixture::<C>::new(COLLECTION_REGION);
    report::<C>("Vec, region", vec_on(fixture.heap()));
}

fn vec_on<H: Heap>(heap: &LockedHeap<H>) -> Outcome {
    let start = heap.stats();
    {
        let mut v = ApiVec::new_in(heap);
        for i in 0..20_000 {
            v.push(mix(i));
        }
        walk(heap)?;
        expect_seq("pushed", &v, 20_000, mix)?;
        v.extend((20_000..25_000).map(mix));
        expect_seq("extended", &v, 25_000, mix)?;

        // Two vectors growing in turn: neither is always the newest block.
        let mut w = ApiVec::with_capacity_in(4, heap);
        for i in 0..3_000 {
            v.push(mix(25_000 + i));
            w.push(!mix(i));
        }
        walk(heap)?;
        expect_seq("interleaved v", &v, 28_000, mix)?;
        expect_seq("interleaved w", &w, 3_000, |i| !mix(i))?;

        v.truncate(1_000);
        v.shrink_to_fit();
        walk(heap)?;
        expect_seq("shrunk", &v, 1_000, mix)?;
        if v.capacity() < 1_000 {
            return Err(format!(
                "capacity {} below length 1000 after shrink_to_fit",
                v.capacity()
            ));
        }

        v.insert(0, 7);
        let seven = v.remove(0);
        v.retain(|x| x % 3 != 0);
        let kept: std::vec::Vec<u64> = (0..1_000).map(mix).filter(|x| x % 3 != 0).collect();
        if seven != 7 || v[..] != kept[..] {
            return Err("insert / remove / retain changed the contents".to_owned());
        }

        let copy = v.clone();
        drop(w);
        if copy[..] != v[..] {
            return Err("a clone differs from its original".to_owned());
        }

        let mut nested = ApiVec::new_in(heap);
        for i in 0..500usize {
            let mut inner = ApiVec::with_capacity_in(i % 37, heap);
            inner.extend((0..i % 200).map(|j| (i ^ j) as u8));
            nested.push(inner);
        }
        walk(heap)?;
        for (i, inner) in nested.iter().enumerate() {
            if inner.len() != i % 200 || inner.iter().enumerate().any(|(j, &b)| b != (i ^ j) as u8)
            {
                return Err(format!("nested vector {i} has the wrong contents"));
            }
        }

        let mut bytes: ApiVec<u8, _> = ApiVec::new_in(heap);
        bytes
            .try_reserve_exact(1 << 20)
            .map_err(|e| format!("reserving 1 MiB failed: {e:?}"))?;
        bytes.resize(1 << 20, 0xA5);
        if bytes.iter().any(|&b| b != 0xA5) {
            return Err("a 1 MiB vector lost its contents".to_owned());
        }
        walk(heap)?;
    }
    back_to(heap, start.bytes_live, start.blocks_live())
}

/// `hashbrown::HashMap` (with allocator-api2 vectors as values, in the same
/// heap) and `HashSet`: thousands of inserts and removes, every entry
/// verified after each phase.
///
/// # Panics
///
/// If an entry is wrong or missing, or the heap breaks or miscounts.
pub fn hashbrown_map_in_heap<C: Candidate>() {
    let heap = default_heap::<C>();
    report::<C>("HashMap, default source", map_on(&heap));
    let fixture = RegionFixture::<C>::new(COLLECTION_REGION);
    report::<C>("HashMap, region", map_on(fixture.heap()));
}

/// The value stored under key `k`: `k % 40` bytes derived from `k`.
fn value_bytes(k: u64) -> impl Iterator<Item = u8> {
    (0..k % 40).map(move |j| (k as u8).wrapping_mul(31) ^ j as u8)
}

fn map_on<H: Heap>(heap: &LockedHeap<H>) -> Outcome {
    let start = heap.stats();
    {
        let mut map = HashMap::new_in(heap);
        let check = |map: &HashMap<u64, ApiVec<u8, &LockedHeap<H>>, _, _>,
                     present: &dyn Fn(u64) -> bool,
                     upto: u64|
         -> Outcome {
            let expected = (0..upto).filter(|&k| present(k)).count();
            if map.len() != expected {
                return Err(format!(
                    "map holds {} entries, expected {expected}",
                    map.len()
                ));
            }
            for k in 0..upto {
                match (map.get(&k), present(k)) {
                    (Some(v), true) if v.iter().copied().eq(value_bytes(k)) => {}
                    (None, false) => {}
                    (got, _) => return Err(format!("key {k}: found {got:?}")),
                }
            }
            Ok(())
        };
        for k in 0..5_000u64 {
            let mut v = ApiVec::new_in(heap);
            v.extend(value_bytes(k));
            if map.insert(k, v).is_some() {
                return Err(format!("key {k} was already present"));
            }
        }
        walk(heap)?;
        check(&map, &|_| true, 5_000)?;
        for k in (1..5_000u64).step_by(2) {
            if map.remove(&k).is_none() {
                return Err(format!("key {k} was missing on removal"));
            }
        }
        walk(heap)?;
        check(&map, &|k| k % 2 == 0, 5_000)?;
        for k in 5_000..10_000u64 {
            let mut v = ApiVec::new_in(heap);
            v.extend(value_bytes(k));
            map.insert(k, v);
        }
        map.shrink_to_fit();
        walk(heap)?;
        check(&map, &|k| k % 2 == 0 || k >= 5_000, 10_000)?;

        let mut set = HashSet::new_in(heap);
        for k in 0..8_000u64 {
            set.insert(mix(k));
        }
        set.retain(|x| x % 4 != 0);
        walk(heap)?;
        let expected: std::collections::HashSet<u64> =
            (0..8_000).map(mix).filter(|x| x % 4 != 0).collect();
        if set.len() != expected.len() || !expected.iter().all(|x| set.contains(x)) {
            return Err("the HashSet's members are wrong".to_owned());
        }
    }
    back_to(heap, start.bytes_live, start.blocks_live())
}

/// `Allocator::grow_zeroed` and `allocate_zeroed`: the old bytes are kept,
/// the new ones are zero, on the region and the default source, whether the
/// strategy grows in place or moves.
///
/// # Panics
///
/// If a byte is wrong, a grow fails, or the heap breaks.
pub fn zeroed_requests_are_zero<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    report::<C>("grow_zeroed on a region", zeroed_on(fixture.heap()));
    let heap = default_heap::<C>();
    report::<C>("grow_zeroed on the default source", zeroed_on(&heap));
}

fn zeroed_on<H: Heap>(heap: &LockedHeap<H>) -> Outcome {
    use allocator_api2::alloc::Allocator;
    use core::alloc::Layout;

    let mut size = 24usize;
    let first = Layout::from_size_align(size, 8).map_err(|e| e.to_string())?;
    let block = heap
        .allocate_zeroed(first)
        .map_err(|_| "allocate_zeroed of 24 bytes failed".to_string())?;
    // SAFETY: the block is valid for `size` bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(block.cast::<u8>().as_ptr(), size) };
    if bytes.iter().any(|&b| b != 0) {
        return Err("allocate_zeroed returned non-zero bytes".into());
    }
    bytes.fill(0xA5);
    let mut ptr = block.cast::<u8>();
    let mut layout = first;
    for new_size in [40usize, 100, 1000, 5000] {
        let new = Layout::from_size_align(new_size, 8).map_err(|e| e.to_string())?;
        // SAFETY: `ptr` is live with `layout`, and `new` is not smaller.
        let grown = unsafe { heap.grow_zeroed(ptr, layout, new) }
            .map_err(|_| format!("grow_zeroed {size} -> {new_size} failed"))?;
        // SAFETY: the grown block is valid for `new_size` bytes.
        let bytes =
            unsafe { core::slice::from_raw_parts_mut(grown.cast::<u8>().as_ptr(), new_size) };
        if let Some(i) = bytes[..size].iter().position(|&b| b != 0xA5) {
            return Err(format!(
                "grow_zeroed {size} -> {new_size}: old byte {i} lost"
            ));
        }
        if let Some(i) = bytes[size..].iter().position(|&b| b != 0) {
            return Err(format!(
                "grow_zeroed {size} -> {new_size}: new byte {} not zero",
                size + i
            ));
        }
        bytes.fill(0xA5);
        walk(heap)?;
        ptr = grown.cast::<u8>();
        layout = new;
        size = new_size;
    }
    // SAFETY: `ptr` is live with `layout`.
    unsafe { heap.deallocate(ptr, layout) };
    walk(heap)
}
