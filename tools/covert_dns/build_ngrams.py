"""Rebuild detectors/data/hostname_bigrams.csv: character-bigram log-probabilities of
ordinary host labels, the "does this look like a hostname" feature of the DNS tunnel model.

Source: the two OpenDNS lists in ../shared/data/covert/benign/ (opendns/public-domain-lists
@59bc34f8, "Both lists are in public domain" per its README), so the derived table may ship.
Every label of every name counts (registered-domain labels included: the lists are mostly
registered domains), with "^" and "$" marking label start and end; add-one smoothing over
the alphabet below; characters outside it map to "?" (8-bit bytes, "*", ...).

    python -m tools.covert_dns.build_ngrams [SHARED_COVERT_DIR]
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections import Counter

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_?^$"
SOURCES = ("benign/opendns-top-domains.txt", "benign/opendns-random-domains.txt")
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "detectors", "data", "hostname_bigrams.csv")


def label_bigrams(label: str):
    chars = "^" + "".join(c if c in ALPHABET[:-3] else "?" for c in label) + "$"
    return (chars[i:i + 2] for i in range(len(chars) - 1))


def build(root: str) -> tuple[dict[str, float], list[str]]:
    counts: Counter = Counter()
    provenance = []
    for rel in SOURCES:
        with open(os.path.join(root, rel), "rb") as fh:
            data = fh.read()
        provenance.append(f"{rel} sha256={hashlib.sha256(data).hexdigest()}")
        for name in set(data.decode("utf-8", "replace").lower().split()):
            for label in name.strip(".").split("."):
                counts.update(label_bigrams(label))
    firsts = ALPHABET[:-1]  # "$" never starts a bigram
    seconds = ALPHABET[:-3] + "?$"  # "^" never ends one
    table = {}
    for a in firsts:
        total = sum(counts[a + b] for b in seconds) + len(seconds)
        for b in seconds:
            table[a + b] = math.log((counts[a + b] + 1) / total)
    return table, provenance


def main(argv: list[str]) -> int:
    root = argv[0] if argv else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "covert")
    table, provenance = build(root)
    with open(OUT, "w", encoding="ascii") as out:
        out.write("# Character-bigram log-probabilities of host labels (natural log, add-one smoothing).\n")
        out.write("# Built by tools/covert_dns/build_ngrams.py from opendns/public-domain-lists @59bc34f8\n")
        out.write("# (public domain per its README):\n")
        for line in provenance:
            out.write(f"#   {line}\n")
        out.write("# '^' label start, '$' label end, '?' any character outside [a-z0-9_-].\n")
        out.write("bigram,logp\n")
        for key in sorted(table):
            out.write(f"{key},{table[key]:.4f}\n")
    print(f"wrote {len(table)} bigrams to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
