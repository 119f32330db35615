//! The conformance suite for the bump allocator, as users get it by default
//! and with every counter kept.

polyalloc_conformance::conformance_tests!(mod uncounted: polyalloc_conformance::candidates::Bump);
polyalloc_conformance::conformance_tests!(mod counting: polyalloc_conformance::candidates::CountingBump);
