#!/usr/bin/env bash
# Ranking on real text: the development set's 48 judged queries (../shared/realdev/queries.tsv)
# over its mixed/ folder (159 texts as txt, pdf, docx and html), nDCG@10 per kind of query, for
# the odd half (tune) and the even half (check): wash-lessons keyword / semantic / hybrid, Xapian
# Omega and Recoll, all scored by ../shared/realdev/relevance.py.
#
#   benches/realdev_relevance.sh                the table
#   benches/realdev_relevance.sh --tune-fusion  coordinate search of the fusion weights on the odd half
#                                               (in-process: examples/relevance.rs)
#
# Needs the texts (target/realdev/mixed: ../shared/realdev/README.md) and, for semantic and
# hybrid, the sentence encoder (`wash-lessons model install`). Installs the peers when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d target/realdev/mixed ] || { echo "no texts in target/realdev/mixed: see ../shared/realdev/README.md" >&2; exit 1; }
missing=$(for p in recollcmd xapian-omega xapian-tools; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ "${1:-}" = "--tune-fusion" ]; then
  cargo build --release --quiet --example relevance
  exec target/release/examples/relevance target/realdev/mixed ../shared/realdev/queries.tsv --subset odd --tune-fusion
fi
cargo build --release --quiet
B=target/release/wash-lessons
W=target/realdev-bench
rm -rf "$W"; mkdir -p "$W"
$B index --index "$W/ours" target/realdev/mixed >/dev/null
omindex --db "$W/omega" --url / target/realdev/mixed >/dev/null 2>&1
mkdir -p "$W/recoll"
printf 'topdirs = %s\ndbdir = %s\nnoaspell = 1\n' "$PWD/target/realdev/mixed" "$PWD/$W/recoll/xapiandb" > "$W/recoll/recoll.conf"
recollindex -c "$W/recoll" >/dev/null 2>&1
R=../shared/realdev/relevance.py
for half in odd even; do
  echo "== $half half"
  for mode in keyword semantic hybrid; do
    python3 $R --half $half ours $B "$W/ours" --mode $mode 2>/dev/null | sed "s/^ours/ours-$mode/"
  done
  python3 $R --half $half omega "$W/omega" 2>/dev/null
  python3 $R --half $half recoll "$W/recoll" 2>/dev/null
done
