//! The source of a thread heap: the platform's, in whole granules, with
//! every span entered in the owner map under the heap that holds it.

use polyalloc_core::ConstDefault;
use polyalloc_core::layout::align_up;
use polyalloc_core::source::{DefaultSource, Source, Span};

use crate::map::{GRANULE, MAP};

/// A thread heap's source: [`DefaultSource`] spans rounded out to whole
/// [`GRANULE`]s and registered in the owner map under the heap's address,
/// so that a block freed on any thread finds its heap (`map.rs`,
/// invariant 1).
#[derive(Debug)]
pub struct Registered {
    source: DefaultSource,
    owner: *mut (),
}

// SAFETY: `owner` is only an identity written into the map, never followed
// through this type; the default source is `Send`.
unsafe impl Send for Registered {}

impl Registered {
    /// A source registering under `owner`.
    pub(crate) const fn new(owner: *mut ()) -> Self {
        Self {
            source: DefaultSource::DEFAULT,
            owner,
        }
    }
}

// SAFETY: spans come from the default source, which upholds the contract,
// asked for at least the size and alignment requested; they are handed out
// only once registered and unregistered only when given back.
unsafe impl Source for Registered {
    fn acquire(&mut self, size: usize, align: usize) -> Option<Span> {
        let size = align_up(size.max(1), GRANULE)?;
        let span = self.source.acquire(size, align.max(GRANULE))?;
        if !MAP.register(span, self.owner) {
            // Not on granule boundaries (a source that rounds lengths to
            // something else) or above the map's addresses: not usable.
            // SAFETY: just acquired, exactly as handed out, unused.
            unsafe { self.source.release(span) };
            return None;
        }
        Some(span)
    }

    unsafe fn release(&mut self, span: Span) -> bool {
        if !self.source.can_release() {
            return false;
        }
        // Cleared first: once released, the pages may be mapped again for
        // anyone (map invariant 3: no block in it is live).
        MAP.register(span, core::ptr::null_mut());
        // SAFETY: forwarded from the caller.
        let released = unsafe { self.source.release(span) };
        if !released {
            MAP.register(span, self.owner);
        }
        released
    }

    fn can_release(&self) -> bool {
        self.source.can_release()
    }
}
