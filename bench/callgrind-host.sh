#!/usr/bin/env bash
# Instructions per operation of the host workloads under valgrind's
# callgrind, each allocator the global allocator of the worker process: the
# figure of the comparison run's host part that does not move with the
# machine's load.
#
#   bash bench/callgrind-host.sh                      # the default allocators
#   bash bench/callgrind-host.sh system slab threads  # only these
#   WORKLOADS="malloc-free larson" bash bench/callgrind-host.sh
#
# Each (workload, allocator) pair runs the worker (`polyalloc-bench worker
# WORKLOAD 1 SCALE`, one thread) twice, at scale 1 and scale 3, and the
# figure is the difference in instructions over the difference in
# operations: the marginal cost of one operation, with process start-up,
# the allocator's set-up and teardown cancelled out. Under callgrind
# threads run one at a time, so only one-thread runs are measured (larson,
# xmalloc and cache-scratch still start their thread). Every instruction of
# the workload counts, its own work included (filling and checking blocks),
# which is the same for every allocator: compare rows, not absolute values.
#
# Prints a Markdown table on stdout (about two minutes with the defaults).
set -euo pipefail

cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
    echo "callgrind-host.sh: valgrind is not installed" >&2
    exit 1
}

cargo build --release --quiet -p polyalloc-bench
bin=target/release/polyalloc-bench
workloads=(${WORKLOADS:-malloc-free realloc-string larson xmalloc cache-scratch rss-over-time})
if [ $# -gt 0 ]; then
    allocs=("$@")
else
    allocs=(system mimalloc jemalloc dlmalloc talc slab freelist adaptive threads)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Instructions and operations of one run: run ALLOC WORKLOAD SCALE
run() {
    local file="$out/cg.$1.$2.$3"
    local ops
    ops=$(POLYALLOC_BENCH_ALLOC="$1" valgrind --tool=callgrind --callgrind-out-file="$file" \
        "$bin" worker "$2" 1 "$3" 2>/dev/null | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
    local ir
    ir=$(awk '$1 == "summary:" { print $2 }' "$file")
    echo "$ir $ops"
}

printf '| allocator |'
for w in "${workloads[@]}"; do printf ' %s |' "$w"; done
printf '\n|---|'
for _ in "${workloads[@]}"; do printf -- '---:|'; done
printf '\n'
for a in "${allocs[@]}"; do
    printf '| %s |' "$a"
    for w in "${workloads[@]}"; do
        read -r ir1 ops1 <<<"$(run "$a" "$w" 1)"
        read -r ir3 ops3 <<<"$(run "$a" "$w" 3)"
        if [ -n "$ops1" ] && [ -n "$ops3" ] && [ "$ops3" -gt "$ops1" ]; then
            awk -v a="$ir1" -v b="$ir3" -v x="$ops1" -v y="$ops3" \
                'BEGIN { printf " %.0f |", (b - a) / (y - x) }'
        else
            printf ' — |'
        fi
    done
    printf '\n'
done
