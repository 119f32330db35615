//! Zero-size requests: dangling pointers from the adapters, and whatever
//! the strategy core does with them itself.

use core::alloc::Layout;

use allocator_api2::alloc::Allocator;
use polyalloc_core::{Heap, LockedHeap};

use crate::candidate::Candidate;
use crate::checks::{consistent, free_all, layout, report, walk};
use crate::fixture::{RegionFixture, default_heap};
use crate::live::{LiveSet, Outcome, counters_unchanged};

/// Zero-size requests through `Allocator` get a dangling pointer whose
/// address is the alignment (for every alignment a `Layout` allows), freeing one
/// changes nothing, a zero-size block grows into a real one (also to a larger
/// alignment), and a block shrunk to zero size becomes dangling again.
///
/// # Panics
///
/// If any of that does not hold.
pub fn zero_size_is_dangling_and_aligned<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>("zero-size, region", zero_size_on(fixture.heap(), live));
    let heap = default_heap::<C>();
    report::<C>(
        "zero-size, default source",
        zero_size_on(&heap, LiveSet::new()),
    );
}

fn zero_size_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    let before = heap.stats();
    let baseline = before.blocks_live();
    // Every alignment a zero-size `Layout` can have.
    for shift in 0..usize::BITS {
        let align = 1usize << shift;
        let Ok(zst) = Layout::from_size_align(0, align) else {
            continue;
        };
        for zeroed in [false, true] {
            let result = if zeroed {
                heap.allocate_zeroed(zst)
            } else {
                heap.allocate(zst)
            };
            let block = result.map_err(|_| format!("zero-size {zst:?} failed"))?;
            let addr = block.cast::<u8>().as_ptr().addr();
            if addr != align || !block.is_empty() {
                return Err(format!(
                    "zero-size {zst:?} gave {addr:#x} with length {}, not the dangling {align:#x} \
                     with length 0",
                    block.len()
                ));
            }
            // SAFETY: a zero-size block just returned for `zst`.
            unsafe { heap.deallocate(block.cast(), zst) };
            counters_unchanged("a zero-size allocate and free", &before, &heap.stats())?;
            walk(heap)?;
        }
    }
    for shift in 0..=12 {
        let align = 1usize << shift;
        let zst = layout(0, align)?;
        let block = heap
            .allocate(zst)
            .map_err(|_| format!("zero-size {zst:?} failed"))?;
        // SAFETY: a block just returned for `zst`.
        let i = unsafe { live.admit(block, zst)? };
        for new in [
            layout(24 + 8 * shift as usize, align)?,
            layout(100, align * 2)?,
        ] {
            let old = live.get(i);
            // SAFETY: `old` is live with its layout; the size does not drop.
            let moved = unsafe { heap.grow(old.ptr, old.layout, new) }
                .map_err(|_| format!("grow of {:?} to {new:?} failed", old.layout))?;
            // SAFETY: the block the grow of block `i` returned.
            unsafe { live.resized(i, moved, new)? };
            consistent(heap, &live, baseline)?;
        }
        let old = live.get(i);
        // SAFETY: `old` is live with its layout; zero is not larger.
        let moved = unsafe { heap.shrink(old.ptr, old.layout, zst) }
            .map_err(|_| format!("shrink of {:?} to zero size failed", old.layout))?;
        // SAFETY: the block the shrink of block `i` returned; `resized`
        // checks that it is the dangling pointer again.
        unsafe { live.resized(i, moved, zst)? };
        consistent(heap, &live, baseline)?;
        let old = live.get(i);
        // SAFETY: a zero-size block is grown from zero with `grow_zeroed`.
        let grown = unsafe { heap.grow_zeroed(old.ptr, old.layout, layout(64, align)?) }
            .map_err(|_| "grow_zeroed from zero size failed".to_owned())?;
        // SAFETY: `grown` was just returned for 64 bytes.
        let bytes = unsafe { core::slice::from_raw_parts(grown.cast::<u8>().as_ptr(), 64) };
        if bytes.iter().any(|&b| b != 0) {
            return Err(format!(
                "grow_zeroed from zero size to 64/{align} left non-zero bytes"
            ));
        }
        // SAFETY: `grown` is live with this layout and not used again.
        unsafe { heap.deallocate(grown.cast(), layout(64, align)?) };
        live.release(i)?;
        consistent(heap, &live, baseline)?;
    }
    if heap.stats().bytes_live != before.bytes_live {
        return Err(format!(
            "bytes_live did not return to {}",
            before.bytes_live
        ));
    }
    Ok(())
}

/// The strategy core itself may be handed zero-size layouts (the `Heap`
/// contract allows them; the adapters answer those themselves, but a layer
/// above the core, or a user of it, may not): it serves them aligned or
/// refuses them, takes them back in any order, and keeps the blocks around
/// them intact and its counters right.
///
/// # Panics
///
/// If a zero-size block is misaligned, or the heap breaks or miscounts.
pub fn zero_size_in_the_core<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "zero-size in the core, region",
        zst_core_on(fixture.heap(), live),
    );
    let heap = default_heap::<C>();
    report::<C>(
        "zero-size in the core, default source",
        zst_core_on(&heap, LiveSet::new()),
    );
}

fn zst_core_on<H: Heap>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    let baseline = heap.stats().blocks_live();
    let real = layout(40, 8)?;
    let admit_real = |live: &mut LiveSet| -> Outcome {
        let block = heap
            .allocate(real)
            .map_err(|_| "40-byte request failed".to_owned())?;
        // SAFETY: a block just returned for `real`.
        unsafe { live.admit(block, real) }.map(drop)
    };
    for shift in 0..=12 {
        let zst = layout(0, 1usize << shift)?;
        // A real block, a zero-size one straight from the core, another.
        admit_real(&mut live)?;
        // SAFETY: allocating invalidates no live block.
        let zero = unsafe { heap.lock_heap(|h| h.allocate(zst)) };
        if let Some(z) = zero {
            if z.as_ptr().addr() % zst.align() != 0 {
                return Err(format!(
                    "the core's zero-size block for {zst:?} is at {:#x}",
                    z.as_ptr().addr()
                ));
            }
        }
        admit_real(&mut live)?;
        walk(heap)?;
        live.verify_all()?;
        let free_zero = || {
            if let Some(z) = zero {
                // SAFETY: `z` is the core's live zero-size block for `zst`,
                // freed once; freeing it invalidates no other block.
                unsafe { heap.lock_heap(|h| h.deallocate(z, zst)) };
            }
        };
        // Free the zero-size block before or after the newest real one.
        let newest = live.len() - 1;
        if shift % 2 == 0 {
            free_zero();
            let b = live.release(newest)?;
            // SAFETY: the block is live with this layout and forgotten.
            unsafe { heap.deallocate(b.ptr, b.layout) };
        } else {
            let b = live.release(newest)?;
            // SAFETY: the block is live with this layout and forgotten.
            unsafe { heap.deallocate(b.ptr, b.layout) };
            free_zero();
        }
        consistent(heap, &live, baseline)?;
    }
    free_all(heap, &mut live, baseline)
}

/// Zero sizes through `GlobalAlloc`, which its callers must not pass but
/// which must still do no harm: an allocation is aligned and non-null, it
/// can be freed and reallocated to a real size, and a dangling pointer the
/// `Allocator` adapter handed out for a zero-size request can be freed
/// through `GlobalAlloc` without touching the heap.
///
/// # Panics
///
/// If any of that does not hold.
pub fn zero_size_through_global_alloc<C: Candidate>() {
    let fixture = RegionFixture::<C>::new(C::SMALL_REGION);
    let live = LiveSet::within(fixture.range());
    report::<C>(
        "zero-size through GlobalAlloc, region",
        zst_global_on(fixture.heap(), live),
    );
    let heap = default_heap::<C>();
    report::<C>(
        "zero-size through GlobalAlloc, default source",
        zst_global_on(&heap, LiveSet::new()),
    );
}

fn zst_global_on<H: Heap + Send>(heap: &LockedHeap<H>, mut live: LiveSet) -> Outcome {
    use core::alloc::GlobalAlloc;
    use core::ptr::NonNull;

    let baseline = heap.stats().blocks_live();
    let real = layout(24, 8)?;
    let keep = heap
        .allocate(real)
        .map_err(|_| "24-byte request failed".to_owned())?;
    // SAFETY: a block just returned for `real`.
    unsafe { live.admit(keep, real) }?;
    for shift in 0..=12 {
        let zst = layout(0, 1usize << shift)?;
        // SAFETY: a zero-size request is the caller's mistake, not UB for
        // this allocator (see `Heap`'s docs), and returns a pointer or null.
        let p = unsafe { heap.alloc(zst) };
        if let Some(p) = NonNull::new(p) {
            if p.as_ptr().addr() % zst.align() != 0 {
                return Err(format!(
                    "GlobalAlloc's zero-size block for {zst:?} is at {p:p}"
                ));
            }
            // SAFETY: the block came from `alloc` with `zst`.
            unsafe { heap.dealloc(p.as_ptr(), zst) };
        }
        walk(heap)?;
        // A dangling pointer from `Allocator`, freed through `GlobalAlloc`.
        let dangling = heap
            .allocate(zst)
            .map_err(|_| format!("Allocator refused {zst:?}"))?;
        // SAFETY: a zero-size block of this allocator, freed once.
        unsafe { heap.dealloc(dangling.cast::<u8>().as_ptr(), zst) };
        walk(heap)?;
        live.verify_all()?;
    }
    // Zero to real size through `realloc`.
    let zst = layout(0, 8)?;
    // SAFETY: as above.
    let p = unsafe { heap.alloc(zst) };
    if !p.is_null() {
        // SAFETY: `p` came from `alloc` with `zst`; 64 fits in an `isize`.
        let grown = unsafe { heap.realloc(p, zst, 64) };
        let grown = NonNull::new(grown).ok_or("realloc from zero to 64 bytes failed")?;
        let block = NonNull::slice_from_raw_parts(grown, 64);
        // SAFETY: a live 64-byte block, admitted once.
        unsafe { live.admit(block, layout(64, 8)?) }?;
    }
    consistent(heap, &live, baseline)?;
    free_all(heap, &mut live, baseline)
}
