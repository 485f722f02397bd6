#!/usr/bin/env bash
# Facet tagging on real text: the development set (../shared/realdev), both halves, per family,
# level and language; by terms alone and with meaning; and corpus-sample's category figures.
#
#   benches/tagging.sh             measure the shipped weights (index-config/tagger.json)
#   benches/tagging.sh --train     first train them again: `tagger train --half odd` (the odd half
#                                  and benches/realdev-extra.tsv; the even half stays unseen)
#   benches/tagging.sh --curators  the curators' experiment: weights trained without the
#                                  development set, the odd half corrected through the API,
#                                  `tagger learn`, the even half before and after
#
# Needs the texts on this machine (target/realdev: ../shared/realdev/README.md; target/realdev-extra:
# benches/realdev_extra.py) and the sentence encoder (`wash-lessons model install`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
B=target/release/wash-lessons
[ -d target/realdev/docs ] || { echo "no texts in target/realdev/docs: see ../shared/realdev/README.md" >&2; exit 1; }
W=target/tagbench
mkdir -p "$W"

if [ "${1:-}" = "--train" ]; then
  $B tagger train --half odd --out index-config/tagger.json
  cargo build --release --quiet
fi

if [ "${1:-}" = "--curators" ]; then
  rm -rf "$W/config" "$W/after" "$W/index"
  cp -r index-config "$W/config"
  $B tagger train --tsv benches/realdev-extra.tsv --docs target/realdev-extra/docs --out "$W/config/tagger.json"
  python3 benches/tagging_table.py $B --config "$W/config" --label "before (no dev texts)" | grep -E '^before'
  $B --config "$W/config" index --index "$W/index" target/realdev/mixed
  PORT=18931; TOKEN=bench-$$
  $B --config "$W/config" serve --index "$W/index" --addr 127.0.0.1:$PORT --api-token $TOKEN >"$W/serve.log" 2>&1 &
  PID=$!; trap 'kill $PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/api/health >/dev/null && break; sleep 0.2; done
  python3 benches/tagging_curators.py http://127.0.0.1:$PORT $TOKEN
  kill $PID; wait $PID 2>/dev/null || true; trap - EXIT
  $B --config "$W/config" tagger learn --index "$W/index"
  cp -r "$W/config" "$W/after" && cp "$W/index/tagger.json" "$W/after/tagger.json"
  python3 benches/tagging_table.py $B --config "$W/after" --label "after (learnt from corrections)" | grep -E '^after'
  exit 0
fi

echo "== tags by terms alone (no sentence encoder)"
WASH_LESSONS_MODEL=/nonexistent python3 benches/tagging_table.py $B --label "terms"
echo "== tags with meaning (shipped weights)"
python3 benches/tagging_table.py $B --label "meaning"
echo "== corpus-sample (written here; category level)"
python3 - "$B" <<'PY'
import json, os, subprocess, sys, tomllib
sys.path.insert(0, "../shared/realdev")
import tagging as T
labels = tomllib.load(open("corpus-sample/labels.toml", "rb"))["documents"]
for env_model, name in ((None, "meaning"), ("/nonexistent", "terms")):
    env = dict(os.environ)
    if env_model:
        env["WASH_LESSONS_MODEL"] = env_model
    s = {f: [0, 0, 0] for f in T.FAMS + ("all",)}
    for path, lab in labels.items():
        p = subprocess.run([sys.argv[1], "inspect", "--json", "corpus-sample/" + path], capture_output=True, text=True, env=env)
        pred = T.paths_in(json.loads(p.stdout).get("facets", {}), set())
        gold = set(lab.get("context", []) + lab.get("technology", []) + lab.get("failure_cause", []))
        for f in T.FAMS:
            d = T.LEVELS["category"][f]
            g = {x for x in T.cut(gold, d) if x.startswith(f"/{f}/")}
            q = {x for x in T.cut(pred, d) if x.startswith(f"/{f}/")}
            for k in (f, "all"):
                s[k][0] += len(g & q); s[k][1] += len(q - g); s[k][2] += len(g - q)
    p_, r_, f1 = T.prf(s["all"]); _, fr, ff = T.prf(s["failure_cause"])
    print(f"corpus-sample {name}: category F1={f1:.3f} (P={p_:.2f} R={r_:.2f}) failure_cause F1={ff:.3f} (R={fr:.2f})")
PY
