#!/usr/bin/env bash
# HTTP load benchmark: an index of DOCS documents generated from corpus-sample material, then wrk
# for DURATION at CONNECTIONS connections over a mix of searches with and without filters.
# Reports throughput, p50/p99 latency, errors and the server's peak memory (VmHWM).
#   benches/http_load.sh [DOCS=20000] [DURATION=60s] [CONNECTIONS=32]
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${1:-20000}
DURATION=${2:-60s}
CONNS=${3:-32}
PORT=${PORT:-18080}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
BIN=target/release/wash-lessons
WORK=${WORK:-target/bench-http}
mkdir -p "$WORK"
if [ ! -d "$WORK/corpus-$DOCS" ]; then
  python3 benches/gen_corpus.py "$BIN" corpus-sample "$WORK/corpus-$DOCS" "$DOCS"
fi
if [ ! -f "$WORK/index-$DOCS/meta.json" ]; then
  rm -rf "$WORK/index-$DOCS"
  /usr/bin/time -f "index: %e s wall, %M KB peak" "$BIN" index --index "$WORK/index-$DOCS" "$WORK/corpus-$DOCS" corpus-sample
fi
"$BIN" serve --index "$WORK/index-$DOCS" --addr "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.2; done
echo "documents: $(curl -s "http://127.0.0.1:$PORT/api/health")"
# Warm up, then measure.
wrk -t2 -c"$CONNS" -d5s -s benches/http_load.lua "http://127.0.0.1:$PORT" >/dev/null
wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s benches/http_load.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt" | grep -E "RESULT|Requests/sec|Latency"
echo "server peak memory: $(grep VmHWM /proc/$PID/status)"
