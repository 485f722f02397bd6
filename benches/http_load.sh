#!/usr/bin/env bash
# HTTP load benchmark: an index of DOCS documents generated from corpus-sample material, then wrk
# for DURATION at CONNECTIONS connections over a mix of searches with and without filters.
# Reports throughput, p50/p99 latency, errors and the server's peak memory (VmHWM).
#   benches/http_load.sh [DOCS=20000] [DURATION=60s] [CONNECTIONS=32]
# WRITES=1: uploads (and a deletion after every fourth) go on through the API during the measured
# run, one after another; afterwards every acknowledged upload that was not deleted must be found
# (GET /api/documents/{id} and a search for its own word). WRITE_EVERY=SECONDS paces them: one
# upload starts every SECONDS (or at once, when the one before took longer); without it they run
# back to back, as fast as the server takes them. MODE=keyword|hybrid|semantic adds &mode= to
# every search.
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
TOKEN=bench-token-$$
"$BIN" serve --index "$WORK/index-$DOCS" --addr "127.0.0.1:$PORT" --api-token "$TOKEN" > "$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.2; done
echo "documents: $(curl -s "http://127.0.0.1:$PORT/api/health")"
# Warm up, then measure.
wrk -t2 -c"$CONNS" -d5s -s benches/http_load.lua "http://127.0.0.1:$PORT" >/dev/null
export MODE=${MODE:-}
if [ "${WRITES:-0}" = 1 ]; then
  rm -rf "$WORK/uploads" && mkdir -p "$WORK/uploads"
  (
    i=0
    every_ms=$(awk -v s="${WRITE_EVERY:-0}" 'BEGIN {print int(s * 1000)}')
    next_ms=$(($(date +%s%N) / 1000000))
    while [ ! -f "$WORK/uploads/stop" ]; do
      if [ "$every_ms" -gt 0 ]; then
        now_ms=$(($(date +%s%N) / 1000000))
        [ "$now_ms" -lt "$next_ms" ] && sleep "$(awk -v d=$((next_ms - now_ms)) 'BEGIN {print d / 1000}')"
        next_ms=$((next_ms + every_ms))
        [ -f "$WORK/uploads/stop" ] && break
      fi
      i=$((i + 1))
      f="$WORK/uploads/note-$i.md"
      printf '# Kiosk note %s\n\nThe kiosk %s closed when its operator left; uploadword%sx was its name.\n' "$i" "$i" "$i" > "$f"
      t0=$(date +%s%N)
      code=$(curl -s -o "$WORK/uploads/resp" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -F "file=@$f" "http://127.0.0.1:$PORT/api/documents")
      echo "$(( ($(date +%s%N) - t0) / 1000000 ))" >> "$WORK/uploads/ms"
      if [ "$code" = 201 ]; then
        # The id without starting a Python per upload: the uploader shares the server's cores.
        id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$WORK/uploads/resp")
        if [ $((i % 4)) = 0 ]; then
          dcode=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/documents/$id")
          echo "$id $dcode" >> "$WORK/uploads/deleted"
        else
          echo "$id uploadword${i}x" >> "$WORK/uploads/acked"
        fi
      else
        echo "$i $code" >> "$WORK/uploads/failed"
      fi
    done
  ) &
  WRITER=$!
fi
wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s benches/http_load.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt" | grep -E "RESULT|Requests/sec|Latency"
if [ "${WRITES:-0}" = 1 ]; then
  touch "$WORK/uploads/stop"; wait "$WRITER" || true
  missing=0
  while read -r id word; do
    c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/documents/$id")
    n=$(curl -s "http://127.0.0.1:$PORT/api/search?q=$word&mode=keyword" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
    { [ "$c" = 200 ] && [ "$n" = 1 ]; } || missing=$((missing + 1))
  done < "$WORK/uploads/acked"
  ms=$(sort -n "$WORK/uploads/ms" | awk '{a[NR]=$1} END {print "p50 " a[int(NR*0.5)+1] " ms, p99 " a[int(NR*0.99)+1] " ms"}')
  echo "uploads (${WRITE_EVERY:-back to back}${WRITE_EVERY:+ s apart}): $(wc -l < "$WORK/uploads/acked") kept + $(cat "$WORK/uploads/deleted" 2>/dev/null | wc -l) deleted acknowledged, $(cat "$WORK/uploads/failed" 2>/dev/null | wc -l) refused; upload latency $ms; acknowledged but not found afterwards: $missing"
fi
echo "server peak memory: $(grep VmHWM /proc/$PID/status)"
echo "segments in the index: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["segments"]))' "$WORK/index-$DOCS/meta.json")"
if [ "${WRITES:-0}" = 1 ] && [ "$missing" != 0 ]; then
  echo "FAILED: $missing acknowledged uploads were not found afterwards" >&2
  exit 1
fi
# A non-2xx answer is a failure of the run, not a footnote.
if ! grep -q "errors_status=0 errors_socket=0" "$WORK/wrk.txt"; then
  echo "FAILED: the server answered some requests with an error status (see $WORK/serve.log)" >&2
  exit 1
fi
