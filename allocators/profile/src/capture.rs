//! The host side of recording: the re-entrancy guard, the clock and
//! backtrace capture (`std` feature).
//!
//! Anything the profiler does that may allocate through the global
//! allocator (symbolising frames, formatting, writing the file) runs with
//! the calling thread marked as *inside the profiler*; the profiled
//! allocator then passes that thread's calls straight to the inner
//! allocator, unrecorded. Without `std` nothing the profiler does touches
//! the global allocator (its tables and output live in the private heap),
//! so no guard is needed.

use std::cell::Cell;

use crate::point::{MAX_FRAMES, PointKey};

std::thread_local! {
    /// Whether this thread is inside the profiler.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as inside the profiler until dropped.
pub(crate) struct Inside(());

impl Inside {
    /// Enters the profiler: `None` when the thread is already inside (or is
    /// being torn down), and the call must be passed through unrecorded.
    #[inline]
    pub(crate) fn enter() -> Option<Self> {
        match INSIDE.try_with(|b| b.replace(true)) {
            Ok(false) => Some(Inside(())),
            _ => None,
        }
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        let _ = INSIDE.try_with(|b| b.set(false));
    }
}

/// Frames captured beyond the configured depth, for the allocator's and the
/// profiler's own frames that the written profile trims off the top.
pub(crate) const OWN_FRAMES: usize = 16;

/// The return addresses on the stack, innermost first, at most `depth +
/// OWN_FRAMES` of them (and at most [`MAX_FRAMES`]). Does not allocate.
#[inline(never)]
pub(crate) fn backtrace(depth: usize) -> PointKey {
    let cap = (depth + OWN_FRAMES).min(MAX_FRAMES);
    let mut frames = [0usize; MAX_FRAMES];
    let mut len = 0;
    backtrace::trace(|frame| {
        frames[len] = frame.ip() as usize;
        len += 1;
        len < cap
    });
    PointKey::Frames {
        frames,
        len: len as u8,
    }
}
