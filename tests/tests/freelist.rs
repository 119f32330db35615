//! The conformance suite for the free-list allocator, as users get it by
//! default and with every counter kept.

polyalloc_conformance::conformance_tests!(mod uncounted: polyalloc_conformance::candidates::FreeList);
polyalloc_conformance::conformance_tests!(mod counting: polyalloc_conformance::candidates::CountingFreeList);
