#!/usr/bin/env bash
# Builds every wasm-size guest in release for wasm32-unknown-unknown and
# prints a Markdown table of the raw `.wasm` sizes cargo produced (no
# wasm-opt, even where it is installed). Works from any directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

target=wasm32-unknown-unknown
if command -v rustup >/dev/null; then
    rustup target add "$target" >/dev/null 2>&1 || true
fi

out="target/$target/release"

# allocator name, guest crate (as its .wasm file is named)
rows=(
    "polyalloc-freelist guest_polyalloc_freelist"
    "polyalloc-bump guest_polyalloc_bump"
    "polyalloc-buddy guest_polyalloc_buddy"
    "polyalloc-slab guest_polyalloc_slab"
    "polyalloc-adaptive guest_polyalloc_adaptive"
    "polyalloc-adaptive (bump + free list) guest_polyalloc_adaptive_bump_freelist"
    "polyalloc-adaptive (free list only) guest_polyalloc_adaptive_freelist"
    "talc guest_talc"
    "dlmalloc guest_dlmalloc"
    "lol_alloc guest_lol_alloc"
    "lol_alloc leaking bump guest_lol_alloc_leaking"
    "none (host imports: baseline) guest_baseline"
)

# One guest at a time: built together, cargo would unify the features of
# their shared dependencies, and the adaptive guests that turn strategy
# cores off would get every core.
for dir in guests/*/; do
    cargo build --release --locked --target "$target" --manifest-path "$dir/Cargo.toml" --quiet
done

size_of() { wc -c <"$out/$1.wasm" | tr -d ' '; }
talc=$(size_of guest_talc)
base=$(size_of guest_baseline)

echo "$(rustc --version), target $target, opt-level = \"${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}\", lto, codegen-units = 1, panic = abort, strip"
echo
echo "| allocator | .wasm bytes | vs talc | bytes over baseline |"
echo "| --- | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
    file=${row##* }
    name=${row% *}
    bytes=$(size_of "$file")
    ratio=$(awk -v a="$bytes" -v b="$talc" 'BEGIN { printf "%.2f", a / b }')
    echo "| $name | $bytes | $ratio | $((bytes - base)) |"
done
echo

# Every module must also work: same checksum from every allocator.
if command -v node >/dev/null; then
    files=()
    for row in "${rows[@]}"; do files+=("$out/${row##* }.wasm"); done
    if ! results=$(node check.mjs "${files[@]}"); then
        echo "$results"
        echo "smoke run (node): FAILED" >&2
        exit 1
    fi
    sums=$(awk '{ print $2 }' <<<"$results" | sort -u)
    if [ "$(wc -l <<<"$sums")" -ne 1 ]; then
        echo "$results"
        echo "smoke run (node): checksums differ" >&2
        exit 1
    fi
    echo "Smoke run (node $(node --version)): all ${#files[@]} guests ran and returned checksum $sums."
else
    echo "Smoke run skipped: node is not installed."
fi
