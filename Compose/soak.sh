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
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
export ANATOMIX_KAFKA_BOOTSTRAP=127.0.0.1:$port ANATOMIX_KAFKA_SESSION_TIMEOUT_MS=6000 ANATOMIX_THREADS=1
"$TANSU" broker --listener-url tcp://127.0.0.1:$port --advertised-listener-url tcp://127.0.0.1:$port > "$WORK/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"$BIN/anatomix" topics create --partitions 4 > /dev/null
spec=""
for worker in perception-worker retrieval-indexer language-worker; do
  ops=$(free_port)
  ANATOMIX_OPS_PORT=$ops "$BIN/$worker" > "$WORK/$worker.log" 2>&1 &
  pids+=($!)
  spec="$spec${spec:+,}${worker%%-*}=$!:$ops"
done
for worker in perception-worker retrieval-indexer language-worker; do
  for _ in $(seq 600); do grep -q started "$WORK/$worker.log" 2>/dev/null && break; sleep 0.1; done
done
sleep 5                                             # every worker has joined its group
"$BIN/anatomix-bench" soak "$ANATOMIX_KAFKA_BOOTSTRAP" Samples/images "$STUDIES" "$RATE" "$spec"
