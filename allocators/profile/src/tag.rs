//! Tags: program points named by the program itself, for targets without
//! backtraces (a wasm guest) or when a coarser picture is wanted.
//!
//! With the `std` feature the current tag is per thread; without it, one
//! tag is current for the whole program (a wasm guest has one thread).

/// The current tag.
#[cfg(feature = "std")]
mod current {
    use std::cell::Cell;

    std::thread_local! {
        static TAG: Cell<Option<&'static str>> = const { Cell::new(None) };
    }

    pub(crate) fn get() -> Option<&'static str> {
        TAG.try_with(Cell::get).ok().flatten()
    }

    pub(crate) fn replace(tag: Option<&'static str>) -> Option<&'static str> {
        TAG.try_with(|t| t.replace(tag)).ok().flatten()
    }
}

/// The current tag.
#[cfg(not(feature = "std"))]
mod current {
    use polyalloc_core::sync::Lock;

    static TAG: Lock<Option<&'static str>> = Lock::new(None);

    pub(crate) fn get() -> Option<&'static str> {
        TAG.with(|t| *t)
    }

    pub(crate) fn replace(tag: Option<&'static str>) -> Option<&'static str> {
        TAG.with(|t| core::mem::replace(t, tag))
    }
}

/// The tag allocations are charged to now, if any.
#[must_use]
pub fn current_tag() -> Option<&'static str> {
    current::get()
}

/// Makes `tag` the current tag (`None`: no tag) and returns the previous
/// one. Allocations made while no tag is set are charged to a point named
/// `[untagged]`.
pub fn set_tag(tag: Option<&'static str>) -> Option<&'static str> {
    current::replace(tag)
}

/// Makes `tag` current until the returned guard drops, which restores the
/// previous tag: tags nest.
///
/// ```
/// let _outer = polyalloc_profile::tag("request");
/// {
///     let _inner = polyalloc_profile::tag("parse");
///     assert_eq!(polyalloc_profile::current_tag(), Some("parse"));
/// }
/// assert_eq!(polyalloc_profile::current_tag(), Some("request"));
/// ```
#[must_use = "the tag is current only while the guard lives"]
pub fn tag(tag: &'static str) -> TagGuard {
    TagGuard {
        previous: set_tag(Some(tag)),
    }
}

/// Runs `f` with `name` as the current tag.
pub fn tagged<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    let _guard = tag(name);
    f()
}

/// Restores the previous tag when dropped (see [`tag`]).
#[derive(Debug)]
pub struct TagGuard {
    previous: Option<&'static str>,
}

impl Drop for TagGuard {
    fn drop(&mut self) {
        set_tag(self.previous);
    }
}
