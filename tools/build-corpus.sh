#!/usr/bin/env bash
# Rebuilds corpus-sample/ from the sources in corpus-src/ (written for this project).
#   NAME.pdf.md    -> NAME.pdf   pandoc -> ODT -> LibreOffice PDF export
#   NAME.pdfown.md -> NAME.pdf   the project's own PDF writer (examples/pdfgen.rs)
#   NAME.docx.md   -> NAME.docx  pandoc
#   NAME.odt.md    -> NAME.odt   pandoc
#   NAME.html, NAME.md, NAME.txt are copied; two text notes are re-encoded (Windows-1252, UTF-16).
# Needs: pandoc, libreoffice-writer-nogui (Debian packages), cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
src=corpus-src
out=corpus-sample
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --quiet --example pdfgen
pdfgen=target/debug/examples/pdfgen

find "$out" -mindepth 1 -type d -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$out"
while IFS= read -r -d '' f; do
  rel=${f#"$src"/}
  dir=$(dirname "$rel")
  base=$(basename "$rel")
  mkdir -p "$out/$dir"
  case "$base" in
    *.pdf.md)
      name=${base%.pdf.md}
      pandoc "$f" -o "$tmp/$name.odt"
      soffice --headless --convert-to pdf --outdir "$out/$dir" "$tmp/$name.odt" >/dev/null 2>&1
      ;;
    *.pdfown.md) "$pdfgen" "$f" "$out/$dir/${base%.pdfown.md}.pdf" ;;
    *.docx.md) pandoc "$f" -o "$out/$dir/${base%.docx.md}.docx" ;;
    *.odt.md) pandoc "$f" -o "$out/$dir/${base%.odt.md}.odt" ;;
    *.html|*.md|*.txt) cp "$f" "$out/$rel" ;;
    *) echo "skipping $rel" >&2 ;;
  esac
done < <(find "$src" -mindepth 2 -type f -print0 | sort -z)

# Legacy encodings of meeting and field notes, as they arrive from old laptops.
iconv -f UTF-8 -t WINDOWS-1252 "$src/field-notes/haiti-artibonite-household-water-treatment-followup-2011.txt" \
  > "$out/field-notes/haiti-artibonite-household-water-treatment-followup-2011.txt"
iconv -f UTF-8 -t UTF-16 "$src/field-notes/zimbabwe-chitungwiza-epworth-trip-report-2019.txt" \
  > "$out/field-notes/zimbabwe-chitungwiza-epworth-trip-report-2019.txt"

# One labels file for the whole sample.
{
  cat "$src/labels-header.toml"
  for l in "$src"/labels-?.toml; do echo; cat "$l"; done
} > "$out/labels.toml"
du -sh "$out"
