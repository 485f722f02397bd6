#!/usr/bin/env python3
"""Builds a bulk-indexing benchmark archive, reproducibly (fixed seed).

  gen_archive.py OUT_DIR [--files N] [--text-only] [--max-pdfs K] [--seed S] [--src DIR]
  gen_archive.py --mutate OUT_DIR [--percent P] [--seed S] [--src DIR]

Build mode: copies every real PDF found under /usr/share (sorted; an evenly spaced subset of K with
--max-pdfs, or of N when there are more PDFs than N) into OUT_DIR/pdf/<path below /usr/share>, then
fills the archive up to N files (default 10000) with generated documents in OUT_DIR/gen/aNNN/bNN/
(about 100 files per folder):
DOCX, ODT, HTML, Markdown and plain text, about 20% each. With --text-only no PDF is copied and only
.txt / .md files are made (fast, for scale runs of 100,000 files).

The material is the paragraphs of the project's own sample sources (corpus-src: Markdown, text and
HTML files, markup stripped roughly), grouped by language (en/fr/es/pt): each generated document is
monolingual, with a title and 3 to 15 paragraphs sampled and shuffled, sometimes with section
headings. DOCX and ODT are written directly with zipfile (no pandoc / LibreOffice: too slow).

Mutate mode: modifies P% of the files (a paragraph appended to .txt/.md, inserted before </body> in
.html, DOCX/ODT rewritten with an extra paragraph; only generated files are modified) and deletes
another P% (any file, PDFs included), reproducibly (same seed and same archive give the same
changes), and prints the counts.
"""
import argparse
import html
import os
import random
import re
import shutil
import sys
import zipfile
from xml.etree import ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SRC = os.path.join(REPO, "corpus-src")

# ---------------------------------------------------------------------------------------------
# Material: paragraphs and titles of corpus-src, by language.

STOP = {
    "en": "the and of to in is that for with are was were this from have not be by on it which".split(),
    "fr": "le la les des et est une du dans pour que qui pas sur au aux ont sont été avec ce".split(),
    "es": "el la los las del y es una en por que con para se no al fue son más como".split(),
    "pt": "o a os as do da dos das e é um uma em no na para que com não foi são mais".split(),
}


def guess_lang(text):
    words = re.findall(r"[a-zà-ÿ]+", text.lower())
    best, score = "en", -1
    for lang, stop in STOP.items():
        s = set(stop)
        n = sum(1 for w in words if w in s)
        if n > score:
            best, score = lang, n
    return best


def strip_html(s):
    s = re.sub(r"(?is)<(head|script|style|nav|header|footer|template)\b.*?</\1>", " ", s)
    s = re.sub(r"(?is)<!--.*?-->", " ", s)
    s = re.sub(r"(?i)</?(p|div|h[1-6]|li|ul|ol|tr|table|blockquote|section|article|br)\b[^>]*>", "\n\n", s)
    s = re.sub(r"(?s)<[^>]+>", " ", s)
    return html.unescape(s)


def strip_markdown(s):
    s = re.sub(r"(?s)\A---\n.*?\n---\n", "", s)  # front matter
    s = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"(\*\*|__|`|(?<!\w)\*|\*(?!\w))", "", s)
    s = re.sub(r"(?m)^\s{0,3}(>|[-*+]|\d+[.)])\s+", "", s)
    return s


def load_material(src):
    """Returns ({lang: [paragraph]}, {lang: [title]})."""
    paras, titles = {}, {}
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            if not (f.endswith(".md") or f.endswith(".txt") or f.endswith(".html")):
                continue
            with open(path, encoding="utf-8", errors="replace") as fh:
                raw = fh.read()
            heads = []
            if f.endswith(".html"):
                m = re.search(r"(?is)<title>(.*?)</title>", raw)
                if m:
                    heads.append(html.unescape(m.group(1)).split("|")[0])
                heads += [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"(?is)<h[1-3][^>]*>(.*?)</h[1-3]>", raw)]
                text = strip_html(raw)
            elif f.endswith(".md"):
                m = re.search(r'(?m)^title:\s*"?(.*?)"?\s*$', raw)
                if m:
                    heads.append(m.group(1))
                heads += re.findall(r"(?m)^#{1,3}\s+(.+)$", raw)
                text = strip_markdown(raw)
            else:
                first = raw.strip().splitlines()[0] if raw.strip() else ""
                heads.append(first.title() if first.isupper() else first)
                text = raw
            lang = guess_lang(text)
            for block in re.split(r"\n\s*\n", text):
                lines = [l.strip() for l in block.splitlines()]
                lines = [l for l in lines if l and not re.fullmatch(r"[-=_*#|:+ ]+", l) and not l.startswith("|") and not l.startswith("#")]
                p = re.sub(r"\s+", " ", " ".join(lines)).strip()
                if len(p.split()) >= 12:
                    paras.setdefault(lang, []).append(p)
            for h in heads:
                h = re.sub(r"\s+", " ", h).strip(" #")
                if 3 <= len(h) <= 140:
                    titles.setdefault(lang, []).append(h)
    for lang in list(paras):
        paras[lang] = sorted(set(paras[lang]))
        titles[lang] = sorted(set(titles.get(lang) or ["Notes"]))
        if len(paras[lang]) < 20:  # too little material in this language: fold into the others
            del paras[lang]
    if not paras:
        sys.exit(f"no paragraphs found under {src}")
    return paras, titles


# ---------------------------------------------------------------------------------------------
# Writers. A document is (lang, title, [(kind, text)]) with kind "h" (section heading) or "p".

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def x(s):
    return html.escape(_BAD_XML.sub(" ", s), quote=True)


def wrap(text, width=76):
    """Greedy line wrapping (textwrap.fill is the slowest part of a 100,000-file text archive)."""
    lines, cur, n = [], [], 0
    for w in text.split():
        if cur and n + 1 + len(w) > width:
            lines.append(" ".join(cur))
            cur, n = [], 0
        n += len(w) + (1 if cur else 0)
        cur.append(w)
    if cur:
        lines.append(" ".join(cur))
    return "\n".join(lines)


def write_txt(path, lang, title, blocks):
    out = [title, "=" * min(len(title), 72), ""]
    for kind, t in blocks:
        if kind == "h":
            out += [t.upper(), ""]
        else:
            out += [wrap(t), ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))


def write_md(path, lang, title, blocks, year=None):
    out = ["---", f'title: "{title.replace(chr(34), chr(39))}"', f"lang: {lang}"]
    if year:
        out.append(f'date: "{year}-01-15"')
    out += ["---", "", f"# {title}", ""]
    for kind, t in blocks:
        out += [f"## {t}" if kind == "h" else t, ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))


def write_html(path, lang, title, blocks):
    out = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
           f"<title>{x(title)}</title>", "</head>", "<body>", f"<h1>{x(title)}</h1>"]
    for kind, t in blocks:
        out.append(f"<h2>{x(t)}</h2>" if kind == "h" else f"<p>{x(t)}</p>")
    out += ["</body>", "</html>", ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))


DOCX_CT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>"""
DOCX_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>"""
DOCX_DOC_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
DOCX_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="26"/></w:rPr></w:style>
</w:styles>"""
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def write_docx(path, lang, title, blocks):
    body = [f'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t xml:space="preserve">{x(title)}</w:t></w:r></w:p>']
    for kind, t in blocks:
        style = '<w:pPr><w:pStyle w:val="Heading2"/></w:pPr>' if kind == "h" else ""
        body.append(f'<w:p>{style}<w:r><w:t xml:space="preserve">{x(t)}</w:t></w:r></w:p>')
    doc = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W_NS}"><w:body>'
           + "".join(body)
           + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>')
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{x(title)}</dc:title><dc:language>{lang}</dc:language><dc:creator>gen_archive</dc:creator>"
            "</cp:coreProperties>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        zput(z, "[Content_Types].xml", DOCX_CT)
        zput(z, "_rels/.rels", DOCX_RELS)
        zput(z, "word/_rels/document.xml.rels", DOCX_DOC_RELS)
        zput(z, "word/styles.xml", DOCX_STYLES)
        zput(z, "word/document.xml", doc)
        zput(z, "docProps/core.xml", core)


ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""
ODT_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
ODT_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
# styles.xml is optional in ODF, but every office suite writes one, and omindex 1.4 refuses an ODT
# without it ("unzip -p F content.xml ; unzip -p F styles.xml" failed), so the archive has one.
ODT_STYLES = ('<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<office:document-styles xmlns:office="{ODT_OFFICE}" office:version="1.2">'
              "<office:styles/></office:document-styles>")


def write_odt(path, lang, title, blocks):
    body = [f'<text:h text:outline-level="1">{x(title)}</text:h>']
    for kind, t in blocks:
        body.append(f'<text:h text:outline-level="2">{x(t)}</text:h>' if kind == "h" else f"<text:p>{x(t)}</text:p>")
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f'<office:document-content xmlns:office="{ODT_OFFICE}" xmlns:text="{ODT_TEXT}" office:version="1.2">'
               "<office:body><office:text>" + "".join(body) + "</office:text></office:body></office:document-content>")
    meta = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<office:document-meta xmlns:office="{ODT_OFFICE}" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"><office:meta>'
            f"<meta:generator>gen_archive</meta:generator><dc:title>{x(title)}</dc:title><dc:language>{lang}</dc:language>"
            "</office:meta></office:document-meta>")
    with zipfile.ZipFile(path, "w") as z:
        zput(z, "mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        zput(z, "META-INF/manifest.xml", ODT_MANIFEST)
        zput(z, "content.xml", content)
        zput(z, "styles.xml", ODT_STYLES)
        zput(z, "meta.xml", meta)


def zput(z, name, data, compress=zipfile.ZIP_DEFLATED):
    """A member with a fixed date, so that the same seed gives byte-identical archives."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    z.writestr(info, data)


WRITERS = {"docx": write_docx, "odt": write_odt, "html": write_html, "md": write_md, "txt": write_txt}


def read_docx(path):
    """(lang, title, blocks) of a DOCX written by write_docx (for mutation)."""
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("word/document.xml"))
        core = ET.fromstring(z.read("docProps/core.xml"))
    dc = "{http://purl.org/dc/elements/1.1/}"
    title = core.findtext(dc + "title") or ""
    lang = core.findtext(dc + "language") or "en"
    blocks = []
    for p in root.iter(f"{{{W_NS}}}p"):
        style = p.find(f"{{{W_NS}}}pPr/{{{W_NS}}}pStyle")
        text = "".join(t.text or "" for t in p.iter(f"{{{W_NS}}}t"))
        sv = style.get(f"{{{W_NS}}}val") if style is not None else None
        if sv == "Heading1" and not blocks and text == title:
            continue  # the title, written again by write_docx
        blocks.append(("h" if sv else "p", text))
    return lang, title, blocks


def read_odt(path):
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("content.xml"))
        meta = ET.fromstring(z.read("meta.xml"))
    dc = "{http://purl.org/dc/elements/1.1/}"
    title = next((e.text or "" for e in meta.iter(dc + "title")), "")
    lang = next((e.text or "" for e in meta.iter(dc + "language")), "en")
    blocks = []
    for e in root.iter():
        if e.tag == f"{{{ODT_TEXT}}}h":
            if not blocks and (e.text or "") == title and e.get(f"{{{ODT_TEXT}}}outline-level") == "1":
                continue
            blocks.append(("h", "".join(e.itertext())))
        elif e.tag == f"{{{ODT_TEXT}}}p":
            blocks.append(("p", "".join(e.itertext())))
    return lang, title, blocks


# ---------------------------------------------------------------------------------------------


def pdf_sources(max_pdfs):
    found = []
    for root, dirs, files in os.walk("/usr/share"):
        dirs.sort()
        for f in files:
            p = os.path.join(root, f)
            if f.endswith(".pdf") and os.path.isfile(p) and not os.path.islink(p):
                found.append(p)
    found.sort()
    if max_pdfs is not None and max_pdfs < len(found):
        step = len(found) / max_pdfs if max_pdfs else 1
        found = [found[int(i * step)] for i in range(max_pdfs)]
    return found


def make_doc(rng, paras, titles, langs):
    lang = rng.choice(langs)
    pool = paras[lang]
    base = re.sub(r"^\d+(\.\d+)*\.?\s+", "", rng.choice(titles[lang]))
    n = rng.randint(3, 15)
    chosen = rng.sample(pool, min(n, len(pool)))
    rng.shuffle(chosen)
    blocks = []
    for i, p in enumerate(chosen):
        if i and i % 5 == 0 and rng.random() < 0.6:
            blocks.append(("h", rng.choice(titles[lang])))
        blocks.append(("p", p))
    year = rng.randint(2005, 2025)
    title = f"{base} ({year})" if rng.random() < 0.5 else base
    return lang, title, blocks, year


def build(args):
    rng = random.Random(args.seed)
    paras, titles = load_material(args.src)
    langs = sorted(paras)
    out = args.out
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"{out} exists and is not empty; remove it first")
    os.makedirs(out, exist_ok=True)
    n_pdf = 0
    if not args.text_only:
        limit = args.files if args.max_pdfs is None else min(args.max_pdfs, args.files)
        for src in pdf_sources(limit):
            dst = os.path.join(out, "pdf", os.path.relpath(src, "/usr/share"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            n_pdf += 1
    exts = ["txt", "md"] if args.text_only else ["docx", "odt", "html", "md", "txt"]
    counts = {e: 0 for e in exts}
    made_dirs = set()
    for i in range(args.files - n_pdf):
        ext = rng.choice(exts)
        lang, title, blocks, year = make_doc(rng, paras, titles, langs)
        d = os.path.join(out, "gen", f"a{i // 1000:03d}", f"b{(i // 100) % 10:02d}")
        if d not in made_dirs:
            os.makedirs(d, exist_ok=True)
            made_dirs.add(d)
        path = os.path.join(d, f"doc-{i:06d}-{lang}.{ext}")
        if ext == "md":
            write_md(path, lang, title, blocks, year)
        else:
            WRITERS[ext](path, lang, title, blocks)
        counts[ext] += 1
    parts = ", ".join(f"{e} {c}" for e, c in counts.items())
    langs_s = ", ".join(f"{l} {len(paras[l])}" for l in langs)
    print(f"archive {out}: {n_pdf + sum(counts.values())} files (pdf {n_pdf}, {parts}); paragraphs by language: {langs_s}")


def all_files(out):
    res = []
    for root, dirs, files in os.walk(out):
        dirs.sort()
        for f in sorted(files):
            res.append(os.path.join(root, f))
    return res


def mutate(args):
    rng = random.Random(args.seed * 7919 + 1)
    paras, _ = load_material(args.src)
    files = all_files(args.mutate)
    k = max(1, round(len(files) * args.percent / 100))
    editable = [f for f in files if f.rsplit(".", 1)[-1] in WRITERS]
    to_modify = rng.sample(editable, min(k, len(editable)))
    chosen = set(to_modify)
    rest = [f for f in files if f not in chosen]
    to_delete = rng.sample(rest, min(k, len(rest)))
    for path in to_modify:
        ext = path.rsplit(".", 1)[-1]
        lang_m = re.search(r"-(en|fr|es|pt)\.\w+$", path)
        pool = paras.get(lang_m.group(1) if lang_m else "", None) or paras[sorted(paras)[0]]
        extra = rng.choice(pool)
        if ext in ("txt", "md"):
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("\n" + extra + "\n")
        elif ext == "html":
            with open(path, encoding="utf-8") as fh:
                s = fh.read()
            s = s.replace("</body>", f"<p>{x(extra)}</p>\n</body>", 1)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(s)
        else:
            lang, title, blocks = (read_docx if ext == "docx" else read_odt)(path)
            blocks.append(("p", extra))
            tmp = path + ".tmp"
            WRITERS[ext](tmp, lang, title, blocks)
            os.replace(tmp, path)
    for path in to_delete:
        os.remove(path)
    print(f"mutated {args.mutate}: {len(to_modify)} modified, {len(to_delete)} deleted, {len(files) - len(to_delete)} files left")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", help="archive folder to create")
    ap.add_argument("--files", type=int, default=10000, help="total number of files (default 10000)")
    ap.add_argument("--text-only", action="store_true", help="only .txt/.md files, no PDF")
    ap.add_argument("--max-pdfs", type=int, default=None, help="copy at most K PDFs (evenly spaced in the sorted list)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--src", default=DEFAULT_SRC, help="source material (default: the repository's corpus-src)")
    ap.add_argument("--mutate", metavar="OUT_DIR", help="modify and delete PERCENT%% of the files of an archive")
    ap.add_argument("--percent", type=float, default=1.0)
    args = ap.parse_args()
    if args.mutate:
        mutate(args)
    elif args.out:
        build(args)
    else:
        ap.error("OUT_DIR or --mutate OUT_DIR is required")


if __name__ == "__main__":
    main()
