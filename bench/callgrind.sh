#!/usr/bin/env bash
# Instructions per operation under valgrind's callgrind: the figure that does
# not move with the machine's load.
#
#   bash bench/callgrind.sh                # every workload, every contestant
#   bash bench/callgrind.sh arena lifo     # only these workloads
#   bash bench/callgrind.sh general        # only one group (bump, general, buddy or adaptive)
#   ROUNDS=50 bash bench/callgrind.sh      # more rounds (default 20)
#   KEEP=dir bash bench/callgrind.sh       # keep the callgrind.out files in dir,
#                                          # for callgrind_annotate
#
# For each (workload, contestant) pair it runs `instr CONTESTANT WORKLOAD`
# (bench/src/bin/instr.rs): one warm-up round, then ROUNDS rounds inside the
# function `measured`, the only one collected (--toggle-collect), so process
# start-up, the warm-up and teardown are not counted. Instructions collected
# divided by the operations done (printed by instr) is the figure; one
# operation is what the comparison run's ns/op columns count (an allocation,
# an alloc+free pair, a push, an append, a tree node), so the two tables line
# up. One table per group (bump, general, buddy), each over its own
# contestants (the comparison run's `matrix` measurement is not here: it
# measures where blocks are placed, which instruction counts do not show). The
# bump table's last column is BumpAlloc again with an idle second thread
# alive, where its lock takes the compare-exchange path.
#
# Prints Markdown tables on stdout.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
    echo "callgrind.sh: valgrind is not installed" >&2
    exit 1
}

cargo build --release --quiet -p polyalloc-bench --bin instr
bin=target/release/instr
rounds=${ROUNDS:-20}
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

# Instructions per operation for one run: instr_per_op CONTESTANT WORKLOAD [--threaded]
instr_per_op() {
    local file="$out/callgrind.out.$1.$2${3:+.threaded}"
    local ops
    ops=$(valgrind --tool=callgrind --toggle-collect='*measured*' \
        --callgrind-out-file="$file" "$bin" "$1" "$2" --rounds "$rounds" ${3:+"$3"} \
        2>/dev/null | awk '$1 == "ops" { print $2 }')
    awk -v ops="$ops" '$1 == "summary:" { printf "%.1f", $2 / ops }' "$file"
}

# One table per group, over the workloads asked for (all by default).
first=1
for group in bump general buddy adaptive; do
    read -ra all <<<"$("$bin" --list-workloads "$group")"
    workloads=()
    for w in "${all[@]}"; do
        if [ $# -eq 0 ] || [[ " $* " == *" $w "* ]] || [[ " $* " == *" $group "* ]]; then
            workloads+=("$w")
        fi
    done
    [ ${#workloads[@]} -gt 0 ] || continue
    read -ra contestants <<<"$("$bin" --list-contestants "$group")"
    [ $first -eq 1 ] || echo
    first=0

    header="| $group: workload (instructions per op) |"
    rule="|---|"
    for c in "${contestants[@]}"; do
        header+=" $c |"
        rule+="---:|"
    done
    if [ "$group" = bump ]; then
        header+=" global, 2 threads |"
        rule+="---:|"
    fi
    echo "$header"
    echo "$rule"
    for w in "${workloads[@]}"; do
        row="| $w |"
        for c in "${contestants[@]}"; do
            row+=" $(instr_per_op "$c" "$w") |"
        done
        if [ "$group" = bump ]; then
            row+=" $(instr_per_op global "$w" --threaded) |"
        fi
        echo "$row"
    done
    echo
    case $group in
    bump) echo "Contestants: core = BumpHeap called directly, core-counting = the same keeping every counter, global = BumpAlloc through GlobalAlloc, bumpalo, system = glibc malloc; the last column is BumpAlloc again with an idle second thread alive." ;;
    general) echo "Contestants: freelist = FreeListHeap called directly (over a counting mmap source), freelist-global = FreeListAlloc through GlobalAlloc, talc, dlmalloc, rlsf, linked-list = linked_list_allocator, system = glibc malloc. Instructions only: page faults and system calls (mmap/munmap) are the kernel's and not counted." ;;
    adaptive) echo "Contestants: adaptive = AdaptiveHeap (Policy::DEFAULT, pure: end_invocation between invocations), bump = BumpHeap (reset between invocations), slab, freelist, buddy = the single-strategy cores (every block freed), talc, dlmalloc; each called directly, polyalloc's over a counting mmap source. One operation is an allocation (its free included); a round is 8 invocations. Instructions only: page faults and system calls are the kernel's and not counted." ;;
    buddy) echo "Contestants: buddy = BuddyHeap called directly (over a counting mmap source), buddy-global = BuddyAlloc through GlobalAlloc, buddy-system = buddy_system_allocator's Heap<33> (grow = move), talc, system = glibc malloc. Instructions only: page faults and system calls (mmap/munmap) are the kernel's and not counted." ;;
    esac
done
echo
echo "valgrind $(valgrind --version | sed 's/valgrind-//'), $rounds rounds after one warm-up round."
