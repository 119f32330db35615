//! The one lock polyalloc uses, picked per target.
//!
//! - Threads possible (host, wasm32 with the `atomics` feature): a spin lock
//!   from the `spin` crate. It works in `no_std`, never allocates and, when
//!   uncontended, costs one atomic compare-exchange and one store.
//! - wasm32 without `atomics`: the module is single-threaded, so the "lock" is
//!   a plain cell and costs nothing.

use core::cell::UnsafeCell;

/// A mutual-exclusion cell around `T` with a closure interface, so callers
/// never hold a guard across code that could re-enter the allocator.
pub(crate) struct Lock<T> {
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    inner: spin::mutex::SpinMutex<T>,
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    inner: UnsafeCell<T>,
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
// SAFETY: without the `atomics` target feature a wasm32 module cannot run more
// than one thread, so no two references to the cell can be live at once from
// different threads.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            inner: spin::mutex::SpinMutex::new(value),
            #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
            inner: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access to the value.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        {
            let mut guard = self.inner.lock();
            f(&mut guard)
        }
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        {
            // SAFETY: single-threaded target (see the `Sync` impl), and `f`
            // is given the only reference for its duration; the allocator
            // does not re-enter itself.
            f(unsafe { &mut *self.inner.get() })
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        {
            self.inner.get_mut()
        }
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        {
            self.inner.get_mut()
        }
    }
}

// Silence the unused import on targets that do not use the cell.
#[allow(dead_code)]
type _Cell<T> = UnsafeCell<T>;
