#!/usr/bin/env python3
"""Facet tagging on the real-text development set, both halves at once: micro P/R/F1 per family
and level, and category F1 per language, computed as ../shared/realdev/tagging.py computes them
(its functions are imported), with the documents tagged in parallel.

usage: python3 benches/tagging_table.py BIN [--data DIR] [--jobs N] [--label NAME] [--config DIR]
Runs `BIN inspect --json DATA/docs/<id>.txt` for every document of ../shared/realdev/manifest.tsv.
Set WASH_LESSONS_MODEL=/nonexistent to measure tagging by terms alone.
"""
import concurrent.futures as cf, csv, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REALDEV = os.path.join(HERE, "..", "..", "shared", "realdev")
sys.path.insert(0, REALDEV)
import tagging as T  # noqa: E402


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    binp = os.path.abspath(sys.argv[1])
    data = os.path.abspath(arg("--data", "target/realdev"))
    jobs = int(arg("--jobs", "2"))
    label = arg("--label", "")
    rows = list(csv.DictReader(open(os.path.join(REALDEV, "manifest.tsv"), encoding="utf-8"), delimiter="\t"))
    rows = [r for r in rows if os.path.exists(os.path.join(data, "docs", r["id"] + ".txt"))]

    def run(r):
        cfg = ["--config", arg("--config")] if arg("--config") else []
        p = subprocess.run([binp, *cfg, "inspect", "--json", os.path.join(data, "docs", r["id"] + ".txt")],
                           capture_output=True, text=True, timeout=300)
        try:
            return T.paths_in(json.loads(p.stdout).get("facets", {}), set())
        except ValueError:
            return set()

    with cf.ThreadPoolExecutor(jobs) as ex:
        preds = list(ex.map(run, rows))
    for half in ("odd", "even"):
        stats = {}
        langs = {}
        for r, pred in zip(rows, preds):
            if (int(r["id"][1:]) % 2 == 1) != (half == "odd"):
                continue
            gold = set()
            for f in T.FAMS:
                gold |= {x.strip() for x in (r.get(f) or "").split(";") if x.strip()}
            for d in T.LEVELS:
                for f in T.FAMS:
                    g = {x for x in T.cut(gold, T.LEVELS[d][f]) if x.startswith(f"/{f}/")}
                    q = {x for x in T.cut(pred, T.LEVELS[d][f]) if x.startswith(f"/{f}/")}
                    for key in ((f, d), ("all", d), ("lang:" + r["language"], d)):
                        s = stats.setdefault(key, [0, 0, 0])
                        s[0] += len(g & q)
                        s[1] += len(q - g)
                        s[2] += len(g - q)
            langs[r["language"]] = langs.get(r["language"], 0) + 1
        print(f"\n{label} {half} half ({sum(langs.values())} documents)")
        print(f"{'':22s} {'category P':>10s} {'R':>5s} {'F1':>5s}   {'leaf P':>7s} {'R':>5s} {'F1':>5s}")
        for key in [f for f in T.FAMS] + ["all"] + ["lang:" + l for l in ("en", "fr", "es", "pt") if l in langs]:
            c = T.prf(stats[(key, "category")])
            lf = T.prf(stats[(key, "leaf")])
            name = key if not key.startswith("lang:") else f"{key[5:]} ({langs[key[5:]]} docs)"
            print(f"{name:22s} {c[0]:10.2f} {c[1]:5.2f} {c[2]:5.2f}   {lf[0]:7.2f} {lf[1]:5.2f} {lf[2]:5.2f}")
        p, r_, f1 = T.prf(stats[("all", "category")])
        _, fr, ff = T.prf(stats[("failure_cause", "category")])
        print(f"{label} {half}: category F1={f1:.3f} (P={p:.2f} R={r_:.2f}) failure_cause F1={ff:.3f} (R={fr:.2f})")


if __name__ == "__main__":
    main()
