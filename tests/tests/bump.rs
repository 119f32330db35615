//! The conformance suite for the bump allocator.

polyalloc_conformance::conformance_tests!(polyalloc_conformance::candidates::Bump);
