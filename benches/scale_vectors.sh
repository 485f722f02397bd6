#!/usr/bin/env bash
# Semantic search at scale, search side: N passages made from the real passage vectors of an
# existing index by perturbation (see examples/scale_vectors.rs), their nearest-neighbour graphs
# built, then queries through the graphs and by the exact scan: build time, disk, resident
# memory, p50/p99 latency, recall@TOP of the graphs against the exact scan. One JSON object per N.
#
#   benches/scale_vectors.sh SOURCE_INDEX [N...]      default N: 1000000
#
# SOURCE_INDEX must hold passage vectors (an index built with the sentence encoder installed,
# e.g. the archive of benches/bulk_vs_peers.sh). Environment: WORK (default target/scale-vectors),
# QUERIES (200), TOP (100; hybrid search asks for 2000), NOISE (0.02).
set -euo pipefail
abs() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
SRC=$(abs "${1:?usage: benches/scale_vectors.sh SOURCE_INDEX [N...]}")
shift
cd "$(dirname "$0")/.."
WORK=${WORK:-target/scale-vectors}
mkdir -p "$WORK"
# Graphs for every segment of 20,000 passages or more (the default keeps them for segments of 1M+).
export WASH_LESSONS_GRAPH_MIN=${GRAPH_MIN:-20000}
cargo build --release --quiet --example scale_vectors
for N in "${@:-1000000}"; do
  /usr/bin/time -f '{"wall_s": %e, "peak_rss_mb": %M}' -o "$WORK/time-$N.json" \
    target/release/examples/scale_vectors --from "$SRC" --work "$WORK" --passages "$N" \
      --queries "${QUERIES:-200}" --top "${TOP:-100}" --noise "${NOISE:-0.02}" | tee "$WORK/result-$N.json"
  echo "process (peak RSS in KB): $(cat "$WORK/time-$N.json")"
done
