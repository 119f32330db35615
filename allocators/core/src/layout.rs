//! Address arithmetic shared by every strategy.
//!
//! Each helper says whether it can overflow: [`align_up`] is checked and
//! returns `None` where the result would not fit in a `usize`;
//! [`padding_for`] cannot overflow and is what fast paths use, with the
//! bounds test done on the padded size.

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

/// The bytes from `addr` up to the next multiple of `align` (a power of
/// two): always less than `align`, and never overflows, so it suits fast
/// paths (`addr + padding_for(addr, align)` is `align_up` when that fits).
#[inline(always)]
#[must_use]
pub const fn padding_for(addr: usize, align: usize) -> usize {
    debug_assert!(align.is_power_of_two());
    addr.wrapping_neg() & (align - 1)
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
    fn padding_matches_align_up_where_defined() {
        for addr in [
            0usize,
            1,
            7,
            8,
            4095,
            4096,
            1 << (usize::BITS - 8),
            usize::MAX - 4095,
        ] {
            for shift in 0..16 {
                let align = 1usize << shift;
                let pad = padding_for(addr, align);
                assert!(pad < align);
                assert!(is_aligned(addr.wrapping_add(pad), align));
                if let Some(up) = align_up(addr, align) {
                    assert_eq!(up, addr + pad);
                }
            }
        }
        assert_eq!(padding_for(usize::MAX, 8), 1);
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
    }
}
