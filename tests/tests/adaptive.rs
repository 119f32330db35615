//! The conformance suite for the adaptive meta-allocator: as users get it
//! (bump first, switching when the suite's frees call for it), and with a
//! switch forced at random points so blocks of every strategy live side by
//! side.

polyalloc_conformance::conformance_tests!(mod natural: polyalloc_conformance::candidates::Adaptive);
polyalloc_conformance::conformance_tests!(mod switching: polyalloc_conformance::candidates::AdaptiveSwitching);
