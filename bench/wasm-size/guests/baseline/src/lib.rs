//! The wasm-size guest with no allocator of its own: its global allocator
//! forwards every call to two functions the host provides, so the module
//! holds the guest code and nothing of an allocator. Its size is subtracted
//! from the others' to give what each allocator adds.
//!
//! (A baseline whose allocator just returned null would not do: the compiler
//! would see every allocation fail and delete the guest code after it.)

#![no_std]

extern crate alloc;

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    fn host_alloc(size: usize, align: usize) -> *mut u8;
    fn host_free(ptr: *mut u8, size: usize, align: usize);
}

struct HostAlloc;

// SAFETY: the host returns null or a block of at least `size` bytes at
// `align`, in this module's memory, not handed out again until freed.
unsafe impl core::alloc::GlobalAlloc for HostAlloc {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        // SAFETY: a host function with no precondition.
        unsafe { host_alloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // SAFETY: `ptr` came from `host_alloc` with this layout.
        unsafe { host_free(ptr, layout.size(), layout.align()) }
    }
}

#[global_allocator]
static ALLOC: HostAlloc = HostAlloc;

include!("../../../guest.rs");
