#!/usr/bin/env bash
# `make soak`: STUDIES (1,000) studies at RATE (10) per second through the pipeline on this machine
# (Tansu, the three workers with their /metrics endpoints, one BLAS thread each; Samples/ inline, no
# tasks); anatomix-bench soak prints studies/s, end-to-end p50/p99, consumer lag per second and each
# worker's RSS at the start and the end (bound: +64 MB).
set -euo pipefail
BIN=${BIN:-.build/release}
STUDIES=${STUDIES:-1000}
RATE=${RATE:-10}
TANSU=${TANSU:-.cache/tansu/tansu}
WORK=$(mktemp -d)
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1; for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ "$status" -ne 0 ]; then for f in "$WORK"/*.log; do echo "== $f"; tail -20 "$f"; done >&2; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$BIN/anatomix-bench" ] && [ -x "$BIN/perception-worker" ] || { echo "soak: build first (make build)" >&2; exit 1; }
wait_for() { for _ in $(seq 600); do eval "$1" && return 0; sleep 0.1; done; echo "soak: gave up waiting for: $2" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
export ANATOMIX_KAFKA_BOOTSTRAP=127.0.0.1:$port ANATOMIX_KAFKA_SESSION_TIMEOUT_MS=6000 ANATOMIX_THREADS=1
"$TANSU" broker --listener-url tcp://127.0.0.1:$port --advertised-listener-url tcp://127.0.0.1:$port > "$WORK/broker.log" 2>&1 &
pids+=($!)
wait_for "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" "the broker on port $port"
"$BIN/anatomix" topics create --partitions 4 > /dev/null
spec=""
for worker in perception-worker retrieval-indexer language-worker; do
  ops=$(free_port)
  ANATOMIX_OPS_PORT=$ops "$BIN/$worker" > "$WORK/$worker.log" 2>&1 &
  pids+=($!)
  spec="$spec${spec:+,}${worker%%-*}=$!:$ops"
done
for worker in perception-worker retrieval-indexer language-worker; do
  wait_for "grep -q started '$WORK/$worker.log' 2>/dev/null" "$worker to start"
done
sleep 5                                             # every worker has joined its group
"$BIN/anatomix-bench" soak "$ANATOMIX_KAFKA_BOOTSTRAP" Samples/images "$STUDIES" "$RATE" "$spec"
