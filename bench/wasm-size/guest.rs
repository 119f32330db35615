// The guest that every crate in this workspace compiles, included verbatim by
// each `guests/*/src/lib.rs` after its `#[global_allocator]`: one copy, so
// the modules differ only by their allocator.
//
// The exports make the allocator do all of its operations with sizes the host
// chooses, so that none of its paths can be dead-code-eliminated or folded at
// compile time: allocate (plain and zeroed), grow in place or by moving,
// shrink, and free in an order that is not the reverse of allocation. No
// `core::fmt` (no `format!`, no panic messages): it would add the same large
// block to every module and hide the allocators' differences.

use alloc::alloc::{Layout, alloc, dealloc, realloc};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Allocates, grows, shrinks and frees (out of order) with `n` elements, and
/// returns a checksum of what it built; the same `n` gives the same checksum
/// on every allocator.
#[unsafe(no_mangle)]
pub extern "C" fn churn(n: u32) -> u32 {
    let len = n as usize;
    // alloc_zeroed
    let zeros = alloc::vec![0u32; len];
    // alloc, then realloc each time the pushes pass the capacity
    let mut v: Vec<u32> = Vec::with_capacity(len / 4 + 1);
    for i in 0..n {
        v.push(i.wrapping_mul(0x9E37_79B9) ^ zeros[i as usize]);
    }
    // A string built one character at a time: small reallocs.
    let mut s = String::new();
    for &x in &v {
        s.push(char::from(b'a' + (x % 26) as u8));
    }
    let a = Box::new([n; 3]);
    let b = Box::new(u64::from(n) << 7);
    let c: Box<[u8]> = s.as_bytes().into();
    // Free out of order: oldest first, then from the middle.
    drop(zeros);
    let mut sum = a[1] ^ (*b as u32);
    drop(a);
    // realloc that shrinks
    v.truncate(len / 3);
    v.shrink_to_fit();
    for &x in &v {
        sum = sum.rotate_left(5) ^ x;
    }
    drop(s);
    for &byte in c.iter() {
        sum = sum.wrapping_mul(31).wrapping_add(u32::from(byte));
    }
    drop(v);
    drop(b);
    drop(c);
    sum
}

/// What a host calls to hand the guest a buffer (wasm-bindgen's
/// `__wbindgen_malloc`): `size` bytes at alignment `align`, null on failure
/// or on a bad layout.
#[unsafe(no_mangle)]
pub extern "C" fn guest_alloc(size: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) if size != 0 => unsafe { alloc(layout) },
        _ => core::ptr::null_mut(),
    }
}

/// Resizes a block from [`guest_alloc`].
///
/// # Safety
/// `ptr` came from `guest_alloc(size, align)` (or this function with that
/// `size` as `new_size`) and is not used after; `new_size` is not zero.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn guest_realloc(
    ptr: *mut u8,
    size: usize,
    align: usize,
    new_size: usize,
) -> *mut u8 {
    // SAFETY: the caller's contract is `realloc`'s.
    unsafe {
        realloc(
            ptr,
            Layout::from_size_align_unchecked(size, align),
            new_size,
        )
    }
}

/// Frees a block from [`guest_alloc`] or [`guest_realloc`].
///
/// # Safety
/// `ptr` is a live block of `size` bytes at alignment `align` from this guest.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn guest_free(ptr: *mut u8, size: usize, align: usize) {
    // SAFETY: the caller's contract is `dealloc`'s.
    unsafe { dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
}
