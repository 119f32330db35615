//! The macros that turn the suite into `#[test]` functions for one
//! allocator.

/// Expands to one `#[test]` function per conformance test, for a
/// [`Candidate`](crate::Candidate).
///
/// ```
/// # use polyalloc_bump::BumpHeap;
/// # use polyalloc_core::source::RegionSource;
/// # struct Bump;
/// # impl polyalloc_conformance::Candidate for Bump {
/// #     const NAME: &'static str = "bump";
/// #     const FREES_REUSE_MEMORY: bool = false;
/// #     type RegionHeap = BumpHeap<RegionSource>;
/// #     type DefaultHeap = BumpHeap;
/// #     fn over_region(source: RegionSource) -> Self::RegionHeap { BumpHeap::with_source(source) }
/// #     fn over_default() -> Self::DefaultHeap { BumpHeap::new() }
/// #     type Over<S: polyalloc_core::Source + Send + 'static> = BumpHeap<S>;
/// #     fn over<S: polyalloc_core::Source + Send + 'static>(s: S) -> Self::Over<S> { BumpHeap::with_source(s) }
/// # }
/// # type BumpAgain = Bump;
/// polyalloc_conformance::conformance_tests!(Bump);
/// // Several configurations in one file: one module each.
/// polyalloc_conformance::conformance_tests!(mod again: BumpAgain);
/// # fn main() {}
/// ```
///
/// The tests: `model_default_source`, `model_small_region`,
/// `zero_size_is_dangling_and_aligned`, `zero_size_in_the_core`,
/// `zero_size_through_global_alloc`,
/// `alignment_above_a_page`,
/// `huge_sizes_fail_cleanly`, `realloc_overflow_returns_null`,
/// `out_of_memory_on_a_small_region`, `failed_grow_keeps_the_block`,
/// `reset_reclaims_memory`, `alloc_free_cycles_do_not_leak`,
/// `freed_memory_is_reused`, `vec_in_heap`, `hashbrown_map_in_heap`,
/// `zeroed_requests_are_zero`, `injected_faults_fail_cleanly` and
/// `steady_state`.
#[macro_export]
macro_rules! conformance_tests {
    (mod $name:ident : $candidate:ty) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!($candidate);
        }
    };
    ($candidate:ty) => {
        $crate::__conformance_test_fns!(
            $candidate;
            model::model_default_source,
            model::model_small_region,
            bad_input::zero_size_is_dangling_and_aligned,
            bad_input::zero_size_in_the_core,
            bad_input::zero_size_through_global_alloc,
            bad_input::alignment_above_a_page,
            bad_input::huge_sizes_fail_cleanly,
            bad_input::realloc_overflow_returns_null,
            bad_input::out_of_memory_on_a_small_region,
            bad_input::failed_grow_keeps_the_block,
            bad_input::reset_reclaims_memory,
            bad_input::alloc_free_cycles_do_not_leak,
            bad_input::freed_memory_is_reused,
            api2::vec_in_heap,
            api2::hashbrown_map_in_heap,
            api2::zeroed_requests_are_zero,
            faults::injected_faults_fail_cleanly,
            faults::steady_state,
        );
    };
}

/// Implementation detail of [`conformance_tests!`]: one `#[test]` per path.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ($candidate:ty; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $crate::$module::$test::<$candidate>();
            }
        )*
    };
}

/// Expands to `#[test]` functions that run std collections on several
/// threads through the program's global allocator, a `static` of type
/// `LockedHeap<H>` (every strategy's `XxxAlloc`) declared with
/// `#[global_allocator]` in the same test file:
///
/// ```
/// #[global_allocator]
/// static ALLOC: polyalloc_bump::BumpAlloc = polyalloc_bump::BumpAlloc::new();
///
/// polyalloc_conformance::global_allocator_tests!(ALLOC);
/// # fn main() {}
/// ```
///
/// The tests: `global_allocator_is_in_use`, `global_std_collections`,
/// `global_std_collections_on_threads` (4 threads × 3000 operations) and
/// `global_stress` (4 threads handing cookie-stamped objects to each other,
/// see [`global::stress`](crate::global::stress)).
#[macro_export]
macro_rules! global_allocator_tests {
    ($alloc:path) => {
        #[test]
        fn global_allocator_is_in_use() {
            $crate::global::is_the_global_allocator(&$alloc);
        }

        #[test]
        fn global_std_collections() {
            $crate::global::std_collections(&$alloc);
        }

        #[test]
        fn global_std_collections_on_threads() {
            $crate::global::std_collections_on_threads(&$alloc, 4, 3_000);
        }

        #[test]
        fn global_stress() {
            $crate::global::stress(&$alloc, 4);
        }
    };
}

/// Expands to the `main` of an integration test declared with
/// `harness = false`, which runs
/// [`global::from_one_thread_to_many`](crate::global::from_one_thread_to_many)
/// on the program's global allocator and prints the result the way test
/// runners read it.
///
/// ```toml
/// [[test]]
/// name = "global_bump_main"
/// harness = false
/// ```
///
/// ```
/// #[global_allocator]
/// static ALLOC: polyalloc_bump::BumpAlloc = polyalloc_bump::BumpAlloc::new();
///
/// polyalloc_conformance::global_allocator_main!(ALLOC);
/// ```
#[macro_export]
macro_rules! global_allocator_main {
    ($alloc:path) => {
        fn main() {
            $crate::global::from_one_thread_to_many(&$alloc);
            println!("from_one_thread_to_many: 1 passed, 0 failed");
        }
    };
}
