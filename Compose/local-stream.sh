#!/usr/bin/env bash
# `make demo-stream`: the pipeline on this machine without Docker. A Tansu broker (memory storage) on
# a free loopback port, the topics, the three workers, Samples/ submitted with a report task each;
# prints one result line per study and writes JSON + overlays to $OUT; stops everything on exit.
set -euo pipefail
BIN=${BIN:-.build/release}
OUT=${OUT:-out/demo-stream}
TANSU=${TANSU:-.cache/tansu/tansu}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ANATOMIX_KAFKA_BOOTSTRAP=127.0.0.1:$PORT ANATOMIX_KAFKA_SESSION_TIMEOUT_MS=6000 ANATOMIX_MODEL=${ANATOMIX_MODEL:-Weights/anatomix-tiny}
mkdir -p "$OUT/logs"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$TANSU" broker --listener-url tcp://127.0.0.1:$PORT --advertised-listener-url tcp://127.0.0.1:$PORT > "$OUT/logs/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
"$BIN/anatomix" topics create --partitions 4
for w in perception-worker retrieval-indexer language-worker; do
  "$BIN/$w" > "$OUT/logs/$w.log" 2>&1 &
  pids+=($!)
done
n=$(ls Samples/images/*.png | wc -l)
"$BIN/anatomix" submit Samples/images --task report > "$OUT/logs/submitted.jsonl"
echo "submitted $n studies to cxr.studies.v1; waiting for cxr.results.v1 ..."
"$BIN/anatomix" results --count "$n" --idle 120 --out "$OUT" --images Samples/images \
  | python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line); t = r["tasks"][0]["text"].replace("\n", " ") if r["tasks"] else ""
    print(json.dumps({"study_id": r["study_id"], "abnormal_regions": sum(1 for a in r["anatomies"] if a["kinds"]), "report": t[:120]}))'
echo "results and overlays in $OUT (worker logs in $OUT/logs)"
