"""Recall and false positives of the card-number detector at default parameters, on a
generated corpus: 500 valid numbers of every brand in JSON/form/CSV/XML/prose with and
without context, and 500 documents of the negatives (order ids - some Luhn-valid by chance -,
phone numbers, epoch timestamps, floats, UUIDs, IBANs, prose, minified JS, glued numbers)."""

from __future__ import annotations

import time
from collections import Counter

from detectors.pan import PanDetector
from detectors.text.mask import keyed_hash
from tests.detectors.helpers import tx
from tests.detectors.pan_corpus import negatives, positives

T0 = 1_700_000_000_000_000


def test_recall_and_false_positives_at_defaults():
    det = PanDetector()
    docs = positives(seed=1, numbers=500)
    total, hit = Counter(), Counter()
    brands = Counter()
    for i, doc in enumerate(docs):
        findings = det.inspect(tx(doc.text, flow_id=i + 1, src_ip=f"10.0.{i % 50}.1", ts=T0 + i * 7_000_000,
                                  content_type=doc.content_type))
        hashes = {m["hash"] for f in findings for m in f.extra["matches"]}
        for pan in doc.pans:
            total[doc.kind] += 1
            hit[doc.kind] += keyed_hash(det.key, pan) in hashes
        brands.update(m["brand"] for f in findings for m in f.extra["matches"])
    n_pos = sum(total.values())
    recall = sum(hit.values()) / n_pos

    neg = PanDetector()
    ndocs = negatives(seed=2, count=500)
    fp, valid_seen = Counter(), Counter()
    for i, doc in enumerate(ndocs):
        numbers: dict = {}
        neg.scan_text(doc.text, "body", numbers, {})
        valid_seen[doc.kind] += bool(numbers)  # chance hits left to context and thresholds
        # all from a handful of clients within the hour, so flow and host state build up too
        if neg.inspect(tx(doc.text, flow_id=10_000 + i // 5, src_ip=f"10.9.{i % 5}.1", ts=T0 + i * 7_000_000,
                          content_type=doc.content_type)):
            fp[doc.kind] += 1
    kinds = Counter(d.kind for d in ndocs)

    print(f"\npan corpus: {n_pos} valid numbers in {len(docs)} documents; recall {recall:.3f}")
    for kind in sorted(total):
        print(f"  {kind:14s} {hit[kind]:4d}/{total[kind]:<4d}")
    print(f"  brands reported: {dict(sorted(brands.items()))}")
    print(f"pan corpus: {len(ndocs)} negative documents; false positives {sum(fp.values())}")
    for kind in sorted(kinds):
        print(f"  {kind:20s} {fp[kind]}/{kinds[kind]}  (documents holding a Luhn-valid branded number: {valid_seen[kind]})")
    assert n_pos == 500 and len(ndocs) == 500
    assert len(brands) == 8
    assert recall >= 0.98
    assert sum(fp.values()) == 0


def test_throughput_figures():
    """Prints MB/s on 2 MB texts; asserts only a generous floor (shared CI machines)."""
    import random

    from tests.detectors.pan_corpus import _neg_minified_js, prose, random_id

    rng = random.Random(9)
    samples = {
        "prose": prose(rng, 400_000),
        "minified js": "".join(_neg_minified_js(rng) for _ in range(1500)),
        "order-id csv": "order_id,amount\n" + "".join(f"{random_id(rng)},{rng.uniform(1, 900):.2f}\n"
                                                      for _ in range(70_000)),
    }
    det = PanDetector()
    for name, text in samples.items():
        text = text[:2_000_000]
        t0 = time.perf_counter()
        assert det.inspect(tx(text, content_type="text/plain")) == []
        dt = time.perf_counter() - t0
        print(f"\npan throughput {name:13s} {len(text) / dt / 1e6:6.1f} MB/s")
        assert dt < 10
