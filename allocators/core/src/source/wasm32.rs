//! wasm32: pages of linear memory from `memory.grow`.

use core::ptr::NonNull;

use super::{ConstDefault, Source, Span};
use crate::layout::align_up;

/// The size of a WebAssembly page.
pub const WASM_PAGE: usize = 65536;

/// Memory from `memory.grow` on memory 0.
///
/// Successive spans are contiguous unless something else in the module grows
/// memory in between, so a strategy can merge adjacent spans. Linear memory
/// never shrinks, so [`release`](Source::release) always declines and the
/// strategies keep and reuse what they got.
#[derive(Debug)]
pub struct MemoryGrowSource {
    _private: (),
}

impl MemoryGrowSource {
    /// A source that has grown nothing yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl Default for MemoryGrowSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ConstDefault for MemoryGrowSource {
    const DEFAULT: Self = Self::new();
}

// SAFETY: `memory.grow` hands out fresh, zeroed pages past the old end of
// linear memory, which nothing else uses; they are never given back.
unsafe impl Source for MemoryGrowSource {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        // Pages are 64 KiB aligned; a larger alignment needs slack.
        let extra = if align > WASM_PAGE { align } else { 0 };
        let bytes = align_up(size.max(1).checked_add(extra)?, WASM_PAGE)?;
        let pages = bytes / WASM_PAGE;
        let old = core::arch::wasm32::memory_grow(0, pages);
        if old == usize::MAX {
            return None;
        }
        let base = old.checked_mul(WASM_PAGE)?;
        let start = align_up(base, align)?;
        let len = bytes - (start - base);
        // Linear memory has no provenance of its own: expose the address.
        let ptr = NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(start))?;
        Some(Span::new(ptr, len))
    }

    unsafe fn release(&mut self, _span: Span) -> bool {
        false
    }
}

/// Ends the guest on a checking-mode report ([`crate::checking::report`]):
/// a trap, which the host sees. A wasm32 module has no standard error of
/// its own to write `_message` to.
pub(crate) fn abort_with(_message: &[u8]) -> ! {
    core::arch::wasm32::unreachable()
}
