//! The conformance suite every polyalloc allocator plugs into.
