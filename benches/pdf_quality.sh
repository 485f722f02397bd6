#!/usr/bin/env bash
# PDF text quality against poppler's pdftotext, on every PDF that Debian's TeX and R
# documentation packages ship under /usr/share (hundreds of real PDFs from many producers) plus
# the PDFs of corpus-sample. Installs the packages when missing (as root).
#   benches/pdf_quality.sh [MAX_FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="poppler-utils texlive-base texlive-plain-generic texlive-extra-utils texlive-luatex texlive-pictures texlive-font-utils r-doc-pdf asymptote-doc"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
cargo build --release --quiet
LIST=$(mktemp)
trap 'rm -f "$LIST"' EXIT
{ find /usr/share -name '*.pdf' -type f 2>/dev/null | sort; find corpus-sample -name '*.pdf' | sort; } > "$LIST"
if [ -n "${1:-}" ]; then
  head -n "$1" "$LIST" > "$LIST.h" && mv "$LIST.h" "$LIST"
fi
# pdftotext reads text layers only: compare like with like, OCR off (a copy of index-config/).
CFG=$(mktemp -d)
trap 'rm -f "$LIST"; rm -rf "$CFG"' EXIT
cp index-config/*.toml "$CFG/"
sed -i 's/^enabled = true$/enabled = false/' "$CFG/settings.toml"
grep -q '^enabled = false' "$CFG/settings.toml"
export WASH_CONFIG_DIR="$CFG"
echo "PDFs: $(wc -l < "$LIST")"
python3 benches/pdf_quality.py target/release/wash-lessons "@$LIST"
