#!/usr/bin/env bash
# Seeds the fuzz corpora from corpus-sample (the first byte of an office/HTML seed picks the
# extension the fuzz target gives it: 0 docx, 1 odt, 2 html, 3 md, 4 txt).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/extract_pdf corpus/extract_office_html
for f in ../corpus-sample/*/*.pdf; do cp "$f" "corpus/extract_pdf/$(basename "$f")"; done
i=0
for f in ../corpus-sample/*/*; do
  case "$f" in
    *.docx) b='\x00' ;; *.odt) b='\x01' ;; *.html) b='\x02' ;; *.md) b='\x03' ;; *.txt) b='\x04' ;; *) continue ;;
  esac
  { printf "$b"; cat "$f"; } > "corpus/extract_office_html/seed-$i"
  i=$((i + 1))
done
echo "seeded: $(ls corpus/extract_pdf | wc -l) PDFs, $i office/HTML/text files"
