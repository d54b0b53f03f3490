#!/usr/bin/env bash
# make fuzz SECONDS=600 [FUZZ_JOBS=2] [FUZZ_TARGETS="png parser"]: each libFuzzer binary for SECONDS on
# its working corpus (.cache/fuzz/<target>, seeded from Tests/Fuzz/Corpus/<target>), then one line per
# target: executions, new corpus entries, crashes. A crash leaves its input in .cache/fuzz/crashes/
# (commit it to Tests/Fuzz/Corpus/<target>/ once fixed: FuzzCorpusTests replays it in `make test`).
set -euo pipefail
seconds=${1:?seconds}; jobs=${2:-1}; shift 2; targets=("$@")
cache=${ANATOMIX_CACHE:-.cache}
bin=Fuzz/.build/release
rm -rf "$cache/fuzz/crashes"; mkdir -p "$cache/fuzz/crashes"     # each run reports its own findings
failed=0
run_one() {
    local t=$1 work="$cache/fuzz/$1" log="$cache/fuzz/$1.log"
    mkdir -p "$work"
    local before; before=$(ls "$work" | wc -l)
    # -rss_limit_mb / -malloc_limit_mb: an input that makes a target allocate >1 GB is a finding (unbounded memory).
    [ -x "$bin/fuzz-$t" ] || { echo "fuzz $t: $bin/fuzz-$t is missing (make fuzz builds it)"; return 1; }
    local status=0
    "$bin/fuzz-$t" "$work" "Tests/Fuzz/Corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 -artifact_prefix="$cache/fuzz/crashes/$t-" > "$log" 2>&1 || status=$?
    local runs crashes
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
    crashes=$(ls "$cache/fuzz/crashes" | grep -c "^$t-" || true)
    echo "fuzz $t: ${runs:-0} executions in ${seconds} s, corpus $before -> $(ls "$work" | wc -l), crashes $crashes, exit $status (log $log)"
    # a finding leaves an artifact; a fuzzer that exits otherwise or never ran is a failure too
    [ "$status" -eq 0 ] && [ "${runs:-0}" -gt 0 ]
}
pids=()
for t in "${targets[@]}"; do
    run_one "$t" & pids+=($!)
    if (( ${#pids[@]} >= jobs )); then wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if ls "$cache/fuzz/crashes" | grep -q .; then echo "crashes in $cache/fuzz/crashes"; exit 1; fi
exit $failed
