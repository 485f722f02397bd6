#!/usr/bin/env python3
"""Rebuilds the project's extra labelled real texts (benches/realdev-extra.tsv) from saved excerpts.

The rows of benches/realdev-extra.tsv have the columns of ../shared/realdev/manifest.tsv: URLs,
labels and how to find each page again; never the texts, which belong to their authors. They are
training data for the facet tagger (`wash-lessons tagger train`), never scored: the development
set's even half stays the check.

Getting the texts (once per machine), as for the development set: for each row, look the stored
page up with the `search` tool (corpus "pages", query = the row's retrieval_query), take the result
whose url is the row's url, and save its excerpt as DATA/raw/<id>.json = {"excerpt": "..."}.
Then:  python3 benches/realdev_extra.py [--data DIR]   (DIR defaults to target/realdev-extra)
It drops the navigation lines, writes DATA/docs/<id>.txt, says how many texts differ from the
labelled copy (by sha256) and checks every text against the texts kept apart for the final
judgement (../shared/realdev/kept_apart.py): a flagged text is removed.
"""
import csv, hashlib, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.abspath(sys.argv[sys.argv.index("--data") + 1] if "--data" in sys.argv else "target/realdev-extra")


def main():
    rows = list(csv.DictReader(open(os.path.join(HERE, "realdev-extra.tsv"), encoding="utf-8"), delimiter="\t"))
    docs = os.path.join(DATA, "docs")
    os.makedirs(docs, exist_ok=True)
    missing, differ, written = [], [], []
    for r in rows:
        raw = os.path.join(DATA, "raw", r["id"] + ".json")
        if not os.path.exists(raw):
            missing.append(r["id"])
            continue
        text = json.load(open(raw, encoding="utf-8"))["excerpt"]
        k = int(r["strip_top_lines"] or 0)
        if k:
            text = "\n".join(text.split("\n")[k:])
        text = text.lstrip("\n").rstrip() + "\n"
        out = os.path.join(docs, r["id"] + ".txt")
        open(out, "w", encoding="utf-8").write(text)
        written.append(out)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != r["doc_sha256"]:
            differ.append(r["id"])
    kept = os.path.join(ROOT, "..", "shared", "realdev", "kept_apart.py")
    flagged = 0
    if written and os.path.exists(kept):
        p = subprocess.run([sys.executable, kept, *written], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            if "KEPT APART" in line:
                os.remove(line.split()[-1])
                flagged += 1
    print(f"extra docs: {len(written) - flagged}/{len(rows)} rebuilt; {len(differ)} differ from the labelled copy; "
          f"{flagged} removed as kept apart" + (f"; missing raw: {' '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
