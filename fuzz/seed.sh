#!/usr/bin/env bash
# Seeds the fuzz corpora from corpus-sample (the first byte of an office/HTML seed picks the
# extension the fuzz target gives it: 0 docx, 1 odt, 2 html, 3 md, 4 txt).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/extract_pdf corpus/extract_office_html corpus/extract_archive
# Archives: the DOCX/ODT files of the sample are zip files; plus one zip of a few documents.
for f in ../corpus-sample/*/*.docx ../corpus-sample/*/*.odt; do cp "$f" "corpus/extract_archive/$(basename "$f").zip"; done
python3 -c "
import zipfile, glob
with zipfile.ZipFile('corpus/extract_archive/docs.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    for f in sorted(glob.glob('../corpus-sample/field-notes/*'))[:3]:
        z.write(f, 'notes/' + f.split('/')[-1])
"
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
