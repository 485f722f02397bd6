#!/usr/bin/env bash
# Relevance on the judged queries of corpus-sample/queries.toml: nDCG@10 and MRR of a plain BM25
# baseline (tantivy, default tokenizer, no synonyms), wash-lessons by keyword, meaning and both, Recoll
# (recollq over recollindex) and Xapian Omega (quest over omindex), overall and by kind of query.
# Installs the peers when missing (as root).
#
#   benches/relevance.sh            the table
#   benches/relevance.sh --misses   and the queries wash-lessons ranks worst
#   benches/relevance.sh --tune     coordinate search over the query-expansion weights
#   benches/relevance.sh --tune-fusion   coordinate search over the hybrid fusion weights (needs the model)
#   benches/relevance.sh --compare  per conceptual or cross-language query: keyword / semantic / hybrid
# Semantic and hybrid rows need the model (`wash-lessons model install`, or WASH_LESSONS_MODEL=FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=$(for p in recollcmd xapian-omega xapian-tools unzip poppler-utils; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
cargo build --release --quiet --example relevance
exec target/release/examples/relevance corpus-sample corpus-sample/queries.toml "$@"
