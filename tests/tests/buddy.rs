//! The conformance suite for the buddy allocator, as users get it by
//! default and with every counter kept.

polyalloc_conformance::conformance_tests!(mod uncounted: polyalloc_conformance::candidates::Buddy);
polyalloc_conformance::conformance_tests!(mod counting: polyalloc_conformance::candidates::CountingBuddy);
