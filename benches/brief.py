#!/usr/bin/env python3
"""The lessons brief against the labels: on the development set's judged queries, the brief's top
failure causes against the failure causes labelled on the documents judged relevant (grade 2 or
3), at category level (/failure_cause/<category>): precision@3 and recall@5, beside simply reading
the sidebar's failure-cause counts (the search's facet counts over all matches) in their order.

usage: python3 benches/brief.py BIN INDEX [--half odd|even]
INDEX: an index of the development set's mixed/ folder (benches/realdev_relevance.sh makes one).
"""
import csv, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
REALDEV = os.path.join(HERE, "..", "..", "shared", "realdev")


def cat(p):
    parts = p.strip("/").split("/")
    return "/" + "/".join(parts[:2]) if len(parts) >= 2 and parts[0] == "failure_cause" else None


def main():
    binp, index = sys.argv[1], sys.argv[2]
    half = sys.argv[sys.argv.index("--half") + 1] if "--half" in sys.argv else None
    labels = {r["id"]: {c for c in map(cat, (r["failure_cause"] or "").split(";")) if c}
              for r in csv.DictReader(open(os.path.join(REALDEV, "manifest.tsv"), encoding="utf-8"), delimiter="\t")}
    rows = list(csv.DictReader(open(os.path.join(REALDEV, "queries.tsv"), encoding="utf-8"), delimiter="\t"))
    if half:
        rows = [r for r in rows if (int(r["qid"][1:]) % 2 == 1) == (half == "odd")]
    res = {"brief": [], "sidebar": []}
    took = {"brief": [], "search": []}
    n = 0
    for r in rows:
        rel = [d for d, g in (t.rsplit(":", 1) for t in r["judgments"].split()) if int(g) >= 2]
        gold = set().union(*[labels.get(d, set()) for d in rel]) if rel else set()
        if not gold:
            continue
        n += 1
        t0 = time.time()
        b = json.loads(subprocess.run([binp, "brief", "--index", index, "--json", r["query"]],
                                      capture_output=True, text=True).stdout)
        s = json.loads(subprocess.run([binp, "search", "--index", index, "--json", "--limit", "10", r["query"]],
                                      capture_output=True, text=True).stdout)
        took["brief"].append(b["took_ms"])
        took["search"].append(s["took_ms"])
        ranked = {"brief": [c["path"] for c in b["causes"]],
                  "sidebar": [c["path"] for c in sorted(s["facets"].get("failure_cause", []), key=lambda c: -c["count"])
                              if c["path"].count("/") == 2]}
        for k, lst in ranked.items():
            p3 = len([c for c in lst[:3] if c in gold]) / 3
            r5 = len([c for c in lst[:5] if c in gold]) / len(gold)
            res[k].append((p3, r5))
    print(f"{half or 'all'} half: {n} queries with labelled causes among their relevant documents")
    for k, v in res.items():
        print(f"  {k:8s} precision@3 {statistics.mean(x for x, _ in v):.3f}  recall@5 {statistics.mean(y for _, y in v):.3f}")
    print(f"  median took_ms: brief {statistics.median(took['brief'])}, search {statistics.median(took['search'])}")


if __name__ == "__main__":
    main()
