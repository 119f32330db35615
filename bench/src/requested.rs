//! The bytes a workload asks for, as opposed to what an allocator reserves:
//! [`Requested`] wraps a contestant and keeps a [`Meter`] of the bytes live
//! in requests (the layouts' sizes), through direct calls and through its
//! collections' `Allocator` handle alike.
//!
//! The peak pass runs each contestant wrapped, so a row's peak reserved
//! bytes can be set against the most the workload had live at once: their
//! quotient is the allocator's fragmentation, internal (rounding each block
//! up) and external (holes between blocks, memory kept for reuse) together.
//! The wrapper is never timed.

use core::alloc::Layout;
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use crate::backing::Meter;
use crate::contestants::Contestant;

/// A contestant whose requests are counted.
pub struct Requested<C> {
    inner: C,
    meter: Meter,
}

impl<C> Requested<C> {
    /// The live and peak bytes requested so far.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The wrapped contestant.
    pub fn inner(&mut self) -> &mut C {
        &mut self.inner
    }
}

impl<C: Contestant> Contestant for Requested<C> {
    const KEY: &'static str = C::KEY;
    const NAME: &'static str = C::NAME;
    const RESETS: bool = C::RESETS;
    type Api<'a>
        = RequestedApi<'a, C::Api<'a>>
    where
        C: 'a;

    fn new() -> Self {
        Self {
            inner: C::new(),
            meter: Meter::new(),
        }
    }

    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        self.meter.add(layout.size());
        self.inner.alloc(layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.meter.sub(layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new_size: usize) -> NonNull<u8> {
        self.meter.add(new_size - old.size());
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.grow(ptr, old, new_size) }
    }

    fn api(&mut self) -> Self::Api<'_> {
        RequestedApi {
            inner: self.inner.api(),
            meter: &self.meter,
        }
    }

    unsafe fn reset(&mut self) {
        // An arena's reset frees every block.
        if C::RESETS {
            self.meter.sub(self.meter.current());
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.reset() }
    }

    fn peak_reserved(&mut self) -> Option<usize> {
        self.inner.peak_reserved()
    }
}

/// A contestant's collection handle, counting requested bytes into the
/// wrapper's meter.
pub struct RequestedApi<'a, A> {
    inner: A,
    meter: &'a Meter,
}

impl<A: Copy> Clone for RequestedApi<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Copy> Copy for RequestedApi<'_, A> {}

// SAFETY: every call goes to `inner` unchanged, so its blocks are `inner`'s,
// with its guarantees; counting touches no memory.
unsafe impl<A: Allocator> Allocator for RequestedApi<'_, A> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = self.inner.allocate(layout)?;
        self.meter.add(layout.size());
        Ok(block)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        self.meter.sub(layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.inner.grow(ptr, old, new) }?;
        self.meter.add(new.size() - old.size());
        Ok(block)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.inner.shrink(ptr, old, new) }?;
        self.meter.sub(old.size() - new.size());
        Ok(block)
    }
}
