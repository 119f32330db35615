#!/usr/bin/env bash
# The self-hosted test run: the workspace's unit and integration tests with
# one polyalloc allocator as the #[global_allocator] of every test binary
# (issue 9). The allocator's crate declares it under
# `--cfg polyalloc_selfhost_<name>`; test files that set a global allocator
# of their own compile to nothing under `--cfg polyalloc_selfhost`.
#
#   bash tests/selfhost.sh slab        # or freelist, buddy, adaptive, threads
#   bash tests/selfhost.sh slab -- --skip model   # extra arguments go to cargo test
#
# Left out, and why:
# - polyalloc-bench: its binary picks the global allocator at run time (its
#   host_worker test already runs every allocator as the global allocator);
# - doc tests and examples: examples set their own global allocators, and
#   doc tests are the documentation's code;
# - bump: it reuses only the newest block's memory, so a test suite that
#   frees at random grows without bound under it (docs/bump.md).
# The wasm guests that polyalloc-host's tests build do not see the flags
# (the harness clears RUSTFLAGS for that inner build).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-}
case "$name" in
    freelist | buddy | slab | adaptive | threads) shift ;;
    *)
        echo "usage: bash tests/selfhost.sh freelist|buddy|slab|adaptive|threads [cargo test args]" >&2
        exit 2
        ;;
esac
export RUSTFLAGS="${RUSTFLAGS:-} --cfg polyalloc_selfhost --cfg polyalloc_selfhost_$name"
# A directory of its own: the flags would otherwise rebuild the main cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/selfhost}"
exec cargo test --workspace --exclude polyalloc-bench --lib --tests "$@"
