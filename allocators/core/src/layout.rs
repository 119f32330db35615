//! Address arithmetic shared by every strategy.
//!
//! Checked and unchecked helpers come in pairs: the checked one returns `None`
//! where the result would not fit in a `usize`; the unchecked one is for call
//! sites that can show the overflow cannot happen, and says so in a
//! `// SAFETY:` comment.

use core::alloc::Layout;
use core::ptr::NonNull;

/// Rounds `addr` up to the next multiple of `align`, or `None` if that
/// overflows `usize`.
///
/// `align` must be a power of two (every `Layout` alignment is); this is
/// checked in debug builds.
#[inline(always)]
#[must_use]
pub const fn align_up(addr: usize, align: usize) -> Option<usize> {
    debug_assert!(align.is_power_of_two());
    match addr.checked_add(align - 1) {
        Some(bumped) => Some(bumped & !(align - 1)),
        None => None,
    }
}

/// Rounds `addr` up to the next multiple of `align` without an overflow check.
///
/// # Safety
///
/// `align` must be a power of two and `addr + align - 1` must not exceed
/// `usize::MAX`.
#[inline(always)]
#[must_use]
pub const unsafe fn align_up_unchecked(addr: usize, align: usize) -> usize {
    debug_assert!(align.is_power_of_two());
    // SAFETY: the caller guarantees that the sum does not overflow.
    unsafe { addr.unchecked_add(align - 1) & !(align - 1) }
}

/// Rounds `addr` down to a multiple of `align` (a power of two). Never
/// overflows.
#[inline(always)]
#[must_use]
pub const fn align_down(addr: usize, align: usize) -> usize {
    debug_assert!(align.is_power_of_two());
    addr & !(align - 1)
}

/// Whether `addr` is a multiple of `align` (a power of two).
#[inline(always)]
#[must_use]
pub const fn is_aligned(addr: usize, align: usize) -> bool {
    debug_assert!(align.is_power_of_two());
    addr & (align - 1) == 0
}

/// The pointer handed out for a zero-size request: non-null, aligned to
/// `align`, with the alignment as its address and no provenance (it must never
/// be dereferenced), as `allocator-api2`'s `Global` does.
#[inline(always)]
#[must_use]
pub const fn dangling(align: usize) -> NonNull<u8> {
    debug_assert!(align.is_power_of_two());
    // SAFETY: a power of two is never zero.
    unsafe { NonNull::new_unchecked(core::ptr::without_provenance_mut(align)) }
}

/// The number of bytes needed to place a block of `layout` anywhere in a
/// region whose start is only known to be aligned to `base_align`: the size
/// plus the worst-case padding. `None` if that overflows.
#[inline]
#[must_use]
pub const fn worst_case_size(layout: Layout, base_align: usize) -> Option<usize> {
    let pad = if layout.align() > base_align {
        layout.align() - base_align
    } else {
        0
    };
    layout.size().checked_add(pad)
}

/// `a + b`, or `None` on overflow; a named pair for [`add_unchecked`].
#[inline(always)]
#[must_use]
pub const fn add(a: usize, b: usize) -> Option<usize> {
    a.checked_add(b)
}

/// `a + b` without an overflow check.
///
/// # Safety
///
/// `a + b` must not exceed `usize::MAX`.
#[inline(always)]
#[must_use]
pub const unsafe fn add_unchecked(a: usize, b: usize) -> usize {
    // SAFETY: the caller guarantees that the sum does not overflow.
    unsafe { a.unchecked_add(b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_and_reports_overflow() {
        assert_eq!(align_up(0, 8), Some(0));
        assert_eq!(align_up(1, 8), Some(8));
        assert_eq!(align_up(8, 8), Some(8));
        assert_eq!(align_up(9, 1), Some(9));
        assert_eq!(align_up(usize::MAX, 1), Some(usize::MAX));
        assert_eq!(align_up(usize::MAX - 2, 4), None);
        assert_eq!(align_up(usize::MAX - 3, 4), Some(usize::MAX - 3));
    }

    #[test]
    fn unchecked_matches_checked_where_defined() {
        for addr in [0usize, 1, 7, 8, 4095, 4096, 1 << 40] {
            for shift in 0..16 {
                let align = 1usize << shift;
                // SAFETY: the values are small, so the sum cannot overflow.
                let fast = unsafe { align_up_unchecked(addr, align) };
                assert_eq!(Some(fast), align_up(addr, align));
                assert!(is_aligned(fast, align));
                assert!(align_down(addr, align) <= addr);
                assert!(is_aligned(align_down(addr, align), align));
            }
        }
    }

    #[test]
    fn dangling_has_alignment_as_address() {
        for shift in 0..20 {
            let align = 1usize << shift;
            assert_eq!(dangling(align).as_ptr().addr(), align);
        }
    }

    #[test]
    fn worst_case_size_accounts_for_padding() {
        let l = Layout::from_size_align(10, 64).unwrap();
        assert_eq!(worst_case_size(l, 8), Some(66));
        assert_eq!(worst_case_size(l, 64), Some(10));
        let huge = Layout::from_size_align(isize::MAX as usize - 63, 64).unwrap();
        assert_eq!(worst_case_size(huge, 1), Some(isize::MAX as usize));
        assert_eq!(add(usize::MAX, 1), None);
        // SAFETY: 2 + 2 does not overflow.
        assert_eq!(unsafe { add_unchecked(2, 2) }, 4);
    }
}
