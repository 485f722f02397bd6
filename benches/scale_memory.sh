#!/usr/bin/env bash
# Memory of wash-lessons over a large bulk index: N_FILES text-only documents (.txt / .md made by
# benches/gen_archive.py --text-only from corpus-src, fixed seed), indexed from scratch while the
# resident memory of the whole run (the indexer and its `wash-lessons worker` children, summed) is
# sampled every second into a CSV. Then a second run with nothing changed is timed.
#
#   benches/scale_memory.sh [N_FILES]             default 100000
#   SCALE=100000 benches/bulk_vs_peers.sh         the same
#
# Environment: BENCH_DIR (default /tmp/bulk-bench; its scale/ folder is replaced), SEED,
# OURS_CONFIG (configuration folder; default: the binary's built-in configuration, as the indexer is
# run from the work folder, where there is no ./index-config).
# Output: BENCH_DIR/scale/rss.csv (elapsed_s, rss_kb_total, rss_kb_indexer, processes) and the
# curve printed as RSS at 10%, 20%, ... 100% of the elapsed time, with the maximum.
set -euo pipefail
# Relative BENCH_DIR / OURS_CONFIG are taken from the caller's folder; then work from the repo root.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
export BENCH_DIR=$(abs "${BENCH_DIR:-/tmp/bulk-bench}")
[ -z "${OURS_CONFIG:-}" ] || export OURS_CONFIG=$(abs "$OURS_CONFIG")
cd "$(dirname "$0")/.."
REPO=$(pwd)
N=${1:-100000}
SEED=${SEED:-20261127}
BIN="$REPO/target/release/wash-lessons"
[ -x "$BIN" ] || cargo build --release
command -v /usr/bin/time >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

mkdir -p "$BENCH_DIR"
S="$(cd "$BENCH_DIR" && pwd)/scale"
rm -rf "$S"
mkdir -p "$S"
/usr/bin/time -f 'archive built in %e s' python3 benches/gen_archive.py "$S/archive" --files "$N" --text-only --seed "$SEED"
echo "archive: $(du -sh "$S/archive" | cut -f1), $(find "$S/archive" -type f | wc -l) files"

cfg=()
[ -n "${OURS_CONFIG:-}" ] && cfg=(--config "$OURS_CONFIG")
IDX="$S/index"
CSV="$S/rss.csv"
cd "$S"

/usr/bin/time -o "$S/full.time" -f '%e %U %S %M' \
  "$BIN" index --json "${cfg[@]}" --index "$IDX" "$S/archive" >"$S/full.json" 2>"$S/full.err" &
ROOT=$! # the `time` process; the indexer is its child, the workers are the indexer's children

# Sum of RSS over every descendant of ROOT (ROOT itself, GNU time, left out), the RSS of the
# indexer (ROOT's child) alone, and the number of processes.
sample() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$ROOT" '
    { parent[$1] = $2; rss[$1] = $3 }
    END {
      total = 0; main = 0; n = 0
      for (p in parent) {
        if (p == root) continue
        q = p; hops = 0
        while (q in parent && q != root && q > 1 && hops < 64) { q = parent[q]; hops++ }
        if (q == root) { total += rss[p]; n++; if (parent[p] == root) main += rss[p] }
      }
      printf "%d,%d,%d", total, main, n
    }'
}

echo "elapsed_s,rss_kb_total,rss_kb_indexer,processes" >"$CSV"
start=$(date +%s.%N)
while kill -0 "$ROOT" 2>/dev/null; do
  line=$(sample)
  now=$(date +%s.%N)
  case "$line" in 0,*) ;; *) echo "$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2f", b - a }'),$line" >>"$CSV" ;; esac
  sleep 1
done
rc=0
wait "$ROOT" || rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
  echo "indexer failed (exit $rc)" >&2
  tail -n 20 "$S/full.err" >&2
  exit 1
fi

rc=0
/usr/bin/time -o "$S/nochange.time" -f '%e %U %S %M' \
  "$BIN" index --json "${cfg[@]}" --index "$IDX" "$S/archive" >"$S/nochange.json" 2>"$S/nochange.err" || rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
  echo "no-change run failed (exit $rc)" >&2
  exit 1
fi

python3 - "$S" "$N" <<'EOF'
import csv, json, os, sys
s, n = sys.argv[1], sys.argv[2]
def last_line(name):
    with open(os.path.join(s, name)) as f:
        return [float(v) for v in f.read().strip().splitlines()[-1].split()]
full, noch = last_line("full.time"), last_line("nochange.time")
summary = json.load(open(os.path.join(s, "full.json")))
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(os.path.join(s, "rss.csv")))]
print(f"\n{n} text-only files: indexed {summary['indexed']}, failed {summary['failed']}, "
      f"took_ms {summary['took_ms']}; wall {full[0]:.1f} s, CPU {full[1] + full[2]:.1f} s, "
      f"largest single process {full[3] / 1024:.0f} MB (GNU time %M)")
print(f"no-change re-run: wall {noch[0]:.2f} s, CPU {noch[1] + noch[2]:.2f} s, largest process {noch[3] / 1024:.0f} MB")
if not rows:
    sys.exit("no RSS sample (the run ended within the first sample)")
print(f"\nRSS of the indexer and its workers, summed ({len(rows)} samples, every ~1 s: {os.path.join(s, 'rss.csv')})\n")
print("| time | elapsed s | total RSS MB | indexer RSS MB | processes |")
print("|---:|---:|---:|---:|---:|")
end = rows[-1]["elapsed_s"]
for pct in range(10, 101, 10):
    t = end * pct / 100
    r = min(rows, key=lambda r: abs(r["elapsed_s"] - t))
    print(f"| {pct}% | {r['elapsed_s']:.1f} | {r['rss_kb_total'] / 1024:.0f} | {r['rss_kb_indexer'] / 1024:.0f} | {r['processes']:.0f} |")
m = max(rows, key=lambda r: r["rss_kb_total"])
print(f"| max | {m['elapsed_s']:.1f} | {m['rss_kb_total'] / 1024:.0f} | {max(r['rss_kb_indexer'] for r in rows) / 1024:.0f} | {max(r['processes'] for r in rows):.0f} |")
print(f"\nindex: {sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(s, 'index')) for f in fs) / 1e6:.1f} MB")
EOF
