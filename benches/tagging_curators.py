#!/usr/bin/env python3
"""The curators' experiment: a curator corrects, through the HTTP API, the tags of the development
set's odd half to its labels (PUT /api/documents/{id}/facets with the paths to add and remove).

usage: python3 benches/tagging_curators.py BASE_URL TOKEN
Lists the documents with GET /api/search?q=&limit=100, reads each odd one (rNNN with NNN odd),
and sends the correction that makes its context, technology and failure cause tags equal to the
labels of ../shared/realdev/manifest.tsv. Prints how many documents and paths were corrected.
"""
import csv, json, os, sys, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "..", "..", "shared", "realdev", "manifest.tsv")
FAMS = ("context", "technology", "failure_cause")


def call(method, url, token=None, body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def main():
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]
    labels = {r["id"]: r for r in csv.DictReader(open(MANIFEST, encoding="utf-8"), delimiter="\t")}
    docs, offset = [], 0
    while True:
        page = call("GET", f"{base}/api/search?q=&limit=100&offset={offset}&mode=keyword")
        docs += page["hits"]
        offset += 100
        if offset >= page["total"]:
            break
    n_docs = n_add = n_remove = 0
    for h in docs:
        stem = os.path.splitext(os.path.basename(h["path"]))[0]
        row = labels.get(stem)
        if not row or int(stem[1:]) % 2 == 0:
            continue
        gold = {p.strip() for f in FAMS for p in (row[f] or "").split(";") if p.strip()}
        doc = call("GET", f"{base}/api/documents/{h['id']}")
        have = {t["path"] for f in FAMS for t in doc.get("facets", {}).get(f, [])}
        add, remove = sorted(gold - have), sorted(have - gold)
        if not add and not remove:
            continue
        call("PUT", f"{base}/api/documents/{h['id']}/facets", token, {"add": add, "remove": remove})
        n_docs += 1
        n_add += len(add)
        n_remove += len(remove)
    print(f"corrected {n_docs} documents of the odd half: {n_add} paths added, {n_remove} removed")


if __name__ == "__main__":
    main()
