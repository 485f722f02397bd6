#!/usr/bin/env python3
"""Builds a large benchmark corpus from corpus-sample material, reproducibly (fixed seed).

Each generated document is Markdown with front matter, made of 6 to 14 paragraphs drawn from
sample documents of one language, so that the vocabulary, languages and facets of the sample are
kept while the documents differ. Usage: gen_corpus.py WASH_LESSONS_BIN CORPUS_SAMPLE OUT_DIR N
"""
import json
import os
import random
import subprocess
import sys

binary, sample, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
random.seed(20261127)
paragraphs = {}
titles = {}
for root, _, files in os.walk(sample):
    for f in sorted(files):
        if f.endswith(".toml"):
            continue
        path = os.path.join(root, f)
        r = subprocess.run([binary, "inspect", "--json", path], capture_output=True, text=True)
        if r.returncode != 0:
            continue
        rec = json.loads(r.stdout)
        lang = rec["language"]
        for page in rec["pages"]:
            for para in page["text"].split("\n\n"):
                if len(para.split()) >= 12:
                    paragraphs.setdefault(lang, []).append(para)
        titles.setdefault(lang, []).append((rec["title"], rec.get("year"), rec.get("countries", [])))
langs = sorted(paragraphs)
weights = [len(paragraphs[l]) for l in langs]
os.makedirs(out, exist_ok=True)
for i in range(n):
    lang = random.choices(langs, weights)[0]
    title, year, countries = random.choice(titles[lang])
    body = random.sample(paragraphs[lang], min(len(paragraphs[lang]), random.randint(6, 14)))
    sub = os.path.join(out, f"{i // 1000:03d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"doc-{i:06d}.md"), "w", encoding="utf-8") as fh:
        fh.write("---\n")
        fh.write(f"title: {json.dumps(title + f' (part {i})', ensure_ascii=False)}\n")
        if year:
            fh.write(f"date: {year + random.randint(-3, 3)}\n")
        fh.write("---\n\n")
        fh.write(f"# {title}\n\n")
        for j, p in enumerate(body):
            if j % 4 == 3:
                fh.write("## Lessons learned\n\n")
            fh.write(p + "\n\n")
print(f"{n} documents in {out} ({', '.join(f'{l}: {len(paragraphs[l])} paragraphs' for l in langs)})")
