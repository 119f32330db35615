//! The conformance suite for the slab allocator, as users get it by
//! default and with every counter kept.

polyalloc_conformance::conformance_tests!(mod uncounted: polyalloc_conformance::candidates::Slab);
polyalloc_conformance::conformance_tests!(mod counting: polyalloc_conformance::candidates::CountingSlab);
