#!/usr/bin/env bash
# Bulk indexing: wash-lessons against Recoll (recollindex) and Xapian Omega (omindex), on the same
# generated archive (benches/gen_archive.py: every PDF under /usr/share plus DOCX/ODT/HTML/Markdown/
# text documents made from corpus-src, N_FILES files in all, fixed seed).
#
#   benches/bulk_vs_peers.sh [N_FILES]          default 10000
#   SCALE=100000 benches/bulk_vs_peers.sh       = benches/scale_memory.sh 100000 (ours only, RSS curve)
#
# Environment: BENCH_DIR (work folder, default /tmp/bulk-bench; its archive/, runs/ and results/
# are replaced), MAX_PDFS (copy only that many of the PDFs, evenly spaced: for quick tests, e.g.
# MAX_PDFS=20 benches/bulk_vs_peers.sh 300; without it an N below the ~750 PDFs gives PDFs only),
# SEED (archive seed), OURS_CONFIG (a configuration folder for wash-lessons; default: the built-in
# one, see below).
#
# For each tool, on its own fresh copy of the archive (cp -a, so the files are in the page cache
# for every tool alike), measured with /usr/bin/time -f '%e %U %S %M':
#   (a) full index from scratch (empty index folder; recollindex -z; omindex --overwrite),
#   (b) the same command again with nothing changed,
#   (c) after gen_archive.py --mutate --percent 1 on that copy: 1% of the files modified (a
#       paragraph added) and another 1% deleted. The mutation is seeded, so each tool's copy goes
#       through exactly the same changes; copies keep tools from seeing each other's state.
# CPU s = user + system, children included (PDF helpers, worker processes). Peak RSS is GNU time's
# %M, the highest of the three runs: the largest single process of a run (not the sum over
# processes: for the sum over our indexer and its workers see scale_memory.sh). Index MB = du -sk
# of the index folder only, after the no-change run. Docs and failures are those of the full run.
#
# Fairness notes (what the peers need, found on Debian 12, recoll 1.34.3, omega 1.4.22):
# - Recoll reads DOCX and ODT with its built-in libxslt handler (mimeconf: "internal xsltproc"),
#   so no helper is needed for them; python3-lxml is only used by rclxslt.py-based filters, which
#   none of these formats uses. PDFs go through rclpdf.py (python3) and pdftotext (poppler-utils).
#   Missing helpers would be listed in CONF/missing (printed below when not empty). .md files are
#   text/plain in recoll's mimemap. Recoll also stores one document per folder (inode/directory)
#   and one per file that failed: both are subtracted from its document count. Its aspell
#   spelling dictionary, which the others do not build, is turned off (noaspell = 1).
# - omindex reads DOCX / ODT by running `unzip -p` (package unzip) and PDFs with pdftotext. It
#   refuses an ODT without styles.xml (gen_archive.py writes one, as office suites do). It has no
#   mapping for .md and libmagic calls some of them text/markdown, for which it has no filter
#   ("Skipping"), so it is run with -Mmd:text/plain, as recoll does by default. Files it skips are
#   printed as "...: Skipping - reason": those are its failures.
# - wash-lessons is run from the work folder, so it uses its built-in configuration (the copy of
#   index-config/ compiled into the binary, always in step with it) unless OURS_CONFIG is set.
#   Exit code 2 (some files failed) is not an error of this script.
set -euo pipefail
# Relative BENCH_DIR / OURS_CONFIG are taken from the caller's folder; then work from the repo root.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
export BENCH_DIR=$(abs "${BENCH_DIR:-/tmp/bulk-bench}")
[ -z "${OURS_CONFIG:-}" ] || export OURS_CONFIG=$(abs "$OURS_CONFIG")
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ -n "${SCALE:-}" ]; then
  exec bash "$REPO/benches/scale_memory.sh" "$SCALE"
fi

N=${1:-10000}
SEED=${SEED:-20261127}
BIN="$REPO/target/release/wash-lessons"

PKGS="recollcmd xapian-omega xapian-tools unzip poppler-utils time texlive-base texlive-plain-generic texlive-extra-utils texlive-luatex texlive-pictures texlive-font-utils r-doc-pdf asymptote-doc"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "installing: $missing" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
DELVE=$(command -v xapian-delve || command -v delve || true)
[ -n "$DELVE" ] || { echo "xapian-delve not found (package xapian-tools)" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --release

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
# TOOLS="ours" re-runs only some tools, keeping the archive and the other tools' results.
TOOLS=${TOOLS:-ours ours_ocr recoll omega}
want() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
RES="$BENCH_DIR/results"
ARCHIVE="$BENCH_DIR/archive"
if [ "$TOOLS" = "ours ours_ocr recoll omega" ] || [ ! -d "$ARCHIVE" ]; then
  rm -rf "$BENCH_DIR/archive" "$BENCH_DIR/runs" "$BENCH_DIR/results"
  gen_args=("$ARCHIVE" --files "$N" --seed "$SEED")
  [ -n "${MAX_PDFS:-}" ] && gen_args+=(--max-pdfs "$MAX_PDFS")
  /usr/bin/time -f 'archive built in %e s' python3 benches/gen_archive.py "${gen_args[@]}"
fi
mkdir -p "$BENCH_DIR/runs" "$RES"
echo "archive: $(du -sh "$ARCHIVE" | cut -f1), $(find "$ARCHIVE" -type f | wc -l) files"

# measure LABEL OK_CODES CMD...: runs CMD in the current folder, times it into $RES/LABEL.time,
# its output into $RES/LABEL.out / .err; an exit code outside OK_CODES (e.g. "0 2") stops the script.
measure() {
  local label=$1 ok=$2 rc=0
  shift 2
  /usr/bin/time -o "$RES/$label.time" -f '%e %U %S %M' "$@" >"$RES/$label.out" 2>"$RES/$label.err" || rc=$?
  case " $ok " in
    *" $rc "*) ;;
    *) echo "$label failed (exit $rc): $*" >&2; tail -n 20 "$RES/$label.err" >&2; exit 1 ;;
  esac
  # GNU time puts "Command exited with non-zero status N" before the numbers: keep the last line.
  tail -n 1 "$RES/$label.time" >"$RES/$label.time.tmp" && mv "$RES/$label.time.tmp" "$RES/$label.time"
  echo "  $label: $(cut -d' ' -f1 "$RES/$label.time") s" >&2
}

fresh_copy() { # TOOL -> prints the path of a fresh copy of the archive for TOOL
  rm -rf "$BENCH_DIR/runs/$1"
  mkdir -p "$BENCH_DIR/runs/$1"
  cp -a "$ARCHIVE" "$BENCH_DIR/runs/$1/archive"
  echo "$BENCH_DIR/runs/$1/archive"
}

mutate() { python3 "$REPO/benches/gen_archive.py" --mutate "$1" --percent 1 --seed "$SEED" >"$RES/$2.mutate"; cat "$RES/$2.mutate" >&2; }

# Every tool records: docs after the full run, failures of the full run, docs after the 1% run.
record() { echo "$2" >"$RES/$1.$3"; }

# --- wash-lessons ---
# Twice: with OCR off, like the peers, which index the text layer only (the comparison), and with
# OCR on as shipped (scanned pages rendered and read by tesseract when installed).
OCR_OFF_CFG="$BENCH_DIR/runs/ocr-off-config"
rm -rf "$OCR_OFF_CFG" && mkdir -p "$OCR_OFF_CFG"
cp "${OURS_CONFIG:-$REPO/index-config}"/*.toml "$OCR_OFF_CFG/"
python3 - "$OCR_OFF_CFG/settings.toml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index("[ocr]")
j = s.index("enabled = true", i)
open(p, "w").write(s[:j] + "enabled = false" + s[j + len("enabled = true"):])
PY
run_ours() { # KEY CONFIG_DIR_OR_EMPTY
  local key=$1 A IDX
  echo "wash-lessons ($key)" >&2
  A=$(fresh_copy "$key")
  IDX="$BENCH_DIR/runs/$key/index"
  local cfg=()
  [ -n "$2" ] && cfg=(--config "$2")
  ours_docs() { (cd "$BENCH_DIR/runs" && "$BIN" stats --json --index "$IDX") | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"])'; }
  (
    cd "$BENCH_DIR/runs"
    measure "$key.full" "0 2" "$BIN" "${cfg[@]}" index --json --index "$IDX" "$A"
    measure "$key.nochange" "0 2" "$BIN" "${cfg[@]}" index --json --index "$IDX" "$A"
  )
  record "$key" "$(ours_docs)" docs
  record "$key" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$RES/$key.full.out")" failures
  record "$key" "$(du -sk "$IDX" | cut -f1)" size
  mutate "$A" "$key"
  (cd "$BENCH_DIR/runs" && measure "$key.change" "0 2" "$BIN" "${cfg[@]}" index --json --index "$IDX" "$A")
  record "$key" "$(ours_docs)" docs_after
}
want ours && run_ours ours "$OCR_OFF_CFG"
want ours_ocr && run_ours ours_ocr "${OURS_CONFIG:-}"

# --- Recoll ---
if want recoll; then
echo "recoll" >&2
A=$(fresh_copy recoll)
CONF="$BENCH_DIR/runs/recoll/conf"
mkdir -p "$CONF"
printf 'topdirs = %s\ndbdir = %s\nnoaspell = 1\n' "$A" "$CONF/xapiandb" >"$CONF/recoll.conf"
recoll_docs() { # documents in the db, less folder entries and failed-file placeholders ($1)
  local total dirs
  total=$("$DELVE" "$CONF/xapiandb" | sed -n 's/^number of documents = //p')
  dirs=$("$DELVE" -t Tinode/directory "$CONF/xapiandb" 2>/dev/null | sed -n 's/.*(termfreq \([0-9]*\).*/\1/p' || true)
  echo $((total - ${dirs:-0} - $1))
}
recoll_errors() { sed -n 's/^fileerrors = //p' "$CONF/idxstatus.txt"; }
measure recoll.full "0" recollindex -c "$CONF" -z
rfail=$(recoll_errors)
record recoll "$rfail" failures
record recoll "$(recoll_docs "$rfail")" docs
measure recoll.nochange "0" recollindex -c "$CONF"
record recoll "$(du -sk "$CONF/xapiandb" | cut -f1)" size
if [ -s "$CONF/missing" ]; then echo "recoll reports missing helpers:" >&2; cat "$CONF/missing" >&2; fi
mutate "$A" recoll
measure recoll.change "0" recollindex -c "$CONF"
record recoll "$(recoll_docs "$rfail")" docs_after
fi

# --- Xapian Omega ---
if want omega; then
echo "omindex" >&2
A=$(fresh_copy omega)
DB="$BENCH_DIR/runs/omega/db"
omega_docs() { "$DELVE" "$DB" | sed -n 's/^number of documents = //p'; }
measure omega.full "0" omindex --overwrite --db "$DB" --url / -Mmd:text/plain "$A"
record omega "$(omega_docs)" docs
record omega "$(cat "$RES/omega.full.out" "$RES/omega.full.err" | grep -c 'Skipping' || true)" failures
measure omega.nochange "0" omindex --db "$DB" --url / -Mmd:text/plain "$A"
record omega "$(du -sk "$DB" | cut -f1)" size
mutate "$A" omega
measure omega.change "0" omindex --db "$DB" --url / -Mmd:text/plain "$A"
record omega "$(omega_docs)" docs_after
fi

FILES_AFTER=$(find "$BENCH_DIR/runs/recoll/archive" -type f | wc -l)
python3 - "$RES" "$N" "$FILES_AFTER" <<'EOF'
import os, sys
res, n, files_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rd(name):
    with open(os.path.join(res, name)) as f:
        return f.read().split()
tools = [("wash-lessons (OCR off)", "ours"), ("wash-lessons (OCR on)", "ours_ocr"), ("recoll", "recoll"),
         ("omindex", "omega")]
rows = {}
for label, key in tools:
    t = {s: [float(v) for v in rd(f"{key}.{s}.time")] for s in ("full", "nochange", "change")}
    rows[key] = dict(
        full=t["full"][0], cpu=t["full"][1] + t["full"][2], nochange=t["nochange"][0], change=t["change"][0],
        rss=max(v[3] for v in t.values()) / 1024, size=int(rd(f"{key}.size")[0]) / 1024,
        docs=int(rd(f"{key}.docs")[0]), failures=int(rd(f"{key}.failures")[0]),
        docs_after=int(rd(f"{key}.docs_after")[0]))
print(f"\n{n} files\n")
print("| tool | full wall s | full CPU s | no-change wall s | 1%-change wall s | peak RSS MB | index MB | docs | failures |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, key in tools:
    r = rows[key]
    print(f"| {label} | {r['full']:.2f} | {r['cpu']:.2f} | {r['nochange']:.2f} | {r['change']:.2f} | {r['rss']:.0f} | {r['size']:.1f} | {r['docs']} | {r['failures']} |")
print()
for what, col in (("full", "full"), ("no-change", "nochange"), ("1%-change", "change")):
    peer = min(("recoll", "omega"), key=lambda k: rows[k][col])
    name = dict((k, l) for l, k in tools)[peer]
    ours, theirs = rows["ours"][col], rows[peer][col]
    ratio = f"{ours / theirs:.2f}" if theirs >= 0.05 else "n/a (peer under 0.05 s; GNU time counts in 0.01 s)"
    print(f"{what}: wash-lessons {ours:.2f} s vs {name} {theirs:.2f} s (faster peer): ratio ours/peer {ratio}")
print(f"\ndocuments after the 1%-change run ({files_after} files left): "
      + ", ".join(f"{l} {rows[k]['docs_after']}" for l, k in tools))
print(f"logs and timings: {res}")
EOF
