#!/usr/bin/env bash
# `make bench-stream`: studies/s through Kafka (Tansu, the three workers, one BLAS thread each) against
# the same steps in one process, measured in the same run; then two perception replicas against one.
# Studies are Samples/ (512 px PNGs, inline) x COPIES with no tasks: this measures the pipeline, not
# the language model (make bench has that).
set -euo pipefail
BIN=${BIN:-.build/release}
COPIES=${COPIES:-50}
TANSU=${TANSU:-.cache/tansu/tansu}
WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
n=$(( $(ls Samples/images/*.png | wc -l) * COPIES ))

inproc=$("$BIN/anatomix-bench" pipeline Weights/anatomix-tiny Samples/images "$COPIES" | python3 -c 'import json,sys; print(json.load(sys.stdin)["per_second"])')

export LC_ALL=C                                    # `time` and awk print decimal points
TIMEFORMAT='%U %S'                                 # `time`: user and system CPU seconds (of the submitter, the reader: their whole run)
TICK=$(getconf CLK_TCK)
# name:pid=CPU seconds (user + system so far) of each pid: the broker and the workers.
cpu_of() {
  for p in "$@"; do
    local comm; comm=$(cat "/proc/$p/comm") || { echo "bench stream: process $p ended before the measurement did" >&2; return 1; }
    awk -v t="$TICK" -v c="${comm%%-*}" -v p="$p" '{ sub(/^.*\) /, ""); split($0, f, " "); printf "%s:%s=%.2f ", c, p, (f[12] + f[13]) / t }' "/proc/$p/stat"
  done
}

# $1 = perception replicas; prints studies/s from the first submit to the last result; the CPU each
# process spent per study from the first submit to the last result goes to $WORK/cpu-$1.
stream() {
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export ANATOMIX_KAFKA_BOOTSTRAP=127.0.0.1:$port ANATOMIX_KAFKA_SESSION_TIMEOUT_MS=6000 ANATOMIX_THREADS=1
  "$TANSU" broker --listener-url tcp://127.0.0.1:$port --advertised-listener-url tcp://127.0.0.1:$port > "$WORK/broker-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  "$BIN/anatomix" topics create --partitions 4 > /dev/null
  for i in $(seq "$1"); do "$BIN/perception-worker" > "$WORK/p$i-$1.log" 2>&1 & pids+=($!); done
  "$BIN/retrieval-indexer" > "$WORK/r-$1.log" 2>&1 & pids+=($!)
  "$BIN/language-worker" > "$WORK/l-$1.log" 2>&1 & pids+=($!)
  for _ in $(seq 300); do grep -q started "$WORK/r-$1.log" 2>/dev/null && break; sleep 0.1; done
  ( time "$BIN/anatomix" results --count "$n" --idle 180 > "$WORK/results-$1.jsonl" ) 2> "$WORK/results-time-$1" &
  local reader=$!
  sleep 8                                          # every replica and the reader have joined their groups
  local start end before
  before=$(cpu_of "${pids[@]}") || exit 1
  start=$(date +%s.%N)
  { time "$BIN/anatomix" submit Samples/images --copies "$COPIES" > /dev/null; } 2> "$WORK/submit-time-$1"
  wait "$reader"
  end=$(date +%s.%N)
  local after; after=$(cpu_of "${pids[@]}") || exit 1
  python3 - "$n" "$before" "$after" "$(tail -n 1 "$WORK/submit-time-$1")" "$(tail -n 1 "$WORK/results-time-$1")" > "$WORK/cpu-$1" <<'PY'
import sys
n = int(sys.argv[1])
ms = lambda seconds: 1000 * seconds / n
before, after = (dict(e.split("=") for e in arg.split()) for arg in sys.argv[2:4])
assert before.keys() == after.keys(), (before, after)
per = {}
for key, t0 in before.items():                 # name:pid, summed per name (two replicas count as one stage)
    name = key.split(":")[0]
    per[name] = per.get(name, 0.0) + float(after[key]) - float(t0)
per["submit"], per["results"] = (sum(map(float, t.split())) for t in sys.argv[4:6])
print(" ".join(f"{k}={ms(v):.2f}" for k, v in per.items()))
PY
  local got; got=$(wc -l < "$WORK/results-$1.jsonl")
  [ "$got" -eq "$n" ] || { echo "bench stream: only $got of $n results" >&2; exit 1; }
  python3 -c "print($n / ($end - $start))"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=()
}
one=$(stream 1)
two=$(stream 2)
python3 - "$inproc" "$one" "$two" "$n" <<'PY'
import sys
inproc, one, two, n = map(float, sys.argv[1:])
print(f"bench pipeline ({int(n)} studies, 512 px, no tasks): in-process {inproc:.1f} studies/s; "
      f"through Kafka, 1 perception replica {one:.1f} studies/s = {one / inproc:.2f}x in-process (target >= 0.90); "
      f"2 replicas {two:.1f} studies/s = {two / one:.2f}x one (target >= 1.8)")
PY
python3 - "$(cat "$WORK/cpu-1")" "$one" "$(nproc)" <<'PY'
import sys
per = {k: float(v) for k, v in (p.split("=") for p in sys.argv[1].split())}
one, cores, total = float(sys.argv[2]), int(sys.argv[3]), sum(per.values())
print("bench pipeline CPU per study with 1 perception replica (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in per.items()) +
      f"; all {total:.1f} ms, so {cores} cores pass at most {1000 * cores / total:.1f} studies/s = {1000 * cores / total / one:.2f}x one replica")
PY
