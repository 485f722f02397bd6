#!/usr/bin/env python3
"""Compares the words wash-lessons extracts from PDFs with pdftotext's (poppler), as multisets of
words of two letters or more (lowercased, letters and digits). Prints mean recall and precision,
the 10 worst files, and the total CPU time of both extractors.

Usage: pdf_quality.py WASH_LESSONS_BIN PDF... (or a file with one path per line via @LIST)
"""
import collections
import json
import os
import re
import resource
import subprocess
import sys
import unicodedata

# A word: letters and digits, with the combining marks inside it (pdftotext writes some accents
# as letter + combining mark), of two characters or more, after NFKC then NFC on both sides.
WORD = re.compile(r"(?:[^\W_][\u0300-\u036f]*){2,}", re.UNICODE)


def words(text):
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text))
    return collections.Counter(w.lower() for w in WORD.findall(text))


def cpu_of(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, cpu


def main():
    binary = sys.argv[1]
    paths = []
    for a in sys.argv[2:]:
        if a.startswith("@"):
            paths += [l.strip() for l in open(a[1:]) if l.strip()]
        else:
            paths.append(a)
    rows = []
    cpu_ours = cpu_ref = 0.0
    failed = []
    for p in paths:
        ref, c1 = cpu_of(["pdftotext", "-enc", "UTF-8", p, "-"])
        cpu_ref += c1
        if ref.returncode != 0:
            continue
        ref_words = words(ref.stdout.decode("utf-8", "replace"))
        if sum(ref_words.values()) < 50:
            continue  # no text layer worth comparing (scanned, figures)
        cfg = ["--config", os.environ["WASH_CONFIG_DIR"]] if os.environ.get("WASH_CONFIG_DIR") else []
        ours, c2 = cpu_of([binary, *cfg, "inspect", "--json", p])
        cpu_ours += c2
        if ours.returncode != 0:
            failed.append((p, ours.stderr.decode("utf-8", "replace").strip()[:120]))
            rows.append((0.0, 0.0, p))
            continue
        rec = json.loads(ours.stdout)
        text = "\n".join(pg["text"] for pg in rec["pages"])
        got = words(text)
        common = sum((ref_words & got).values())
        recall = common / max(1, sum(ref_words.values()))
        precision = common / max(1, sum(got.values()))
        rows.append((recall, precision, p))
    n = len(rows)
    if n == 0:
        print("no PDF with a text layer found")
        return
    mean_r = sum(r for r, _, _ in rows) / n
    mean_p = sum(p for _, p, _ in rows) / n
    below = sum(1 for r, _, _ in rows if r < 0.85)
    print(f"files compared: {n}")
    print(f"mean recall:    {mean_r:.3f}")
    print(f"mean precision: {mean_p:.3f}")
    print(f"files below 85% recall: {below}")
    print(f"failed: {len(failed)}")
    print(f"CPU time: wash-lessons {cpu_ours:.1f} s, pdftotext {cpu_ref:.1f} s")
    print("10 worst files (recall, precision, path):")
    for r, p, path in sorted(rows)[:10]:
        print(f"  {r:.3f} {p:.3f} {path}")
    for p, e in failed[:10]:
        print(f"  failed: {p}: {e}")


if __name__ == "__main__":
    main()
