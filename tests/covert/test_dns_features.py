"""Per-name statistics and window features of the DNS tunnel model: known values, bounds,
and hypothesis: any bytes a tunnel may put in a label give finite features, never an
exception."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.covert.dns_features import (
    FEATURES, NAME_FEATURES, NameScorer, Query, Window, entropy, length_cv, top_shape_share,
)

SCORER = NameScorer()


def stats(sub: bytes) -> dict:
    return dict(zip(NAME_FEATURES, SCORER.stats(sub)))


def test_entropy_known_values():
    assert entropy(b"") == 0.0
    assert entropy(b"aaaa") == 0.0
    assert entropy(b"abab") == pytest.approx(1.0)
    assert entropy(bytes(range(16))) == pytest.approx(4.0)


def test_name_stats():
    s = stats(b"0123456789abcdef0123.x")
    assert s["sub_len"] == 22 and s["labels"] == 2 and s["max_label"] == 20
    assert s["hex_only"] == 0.0  # the "x" label is not hex
    assert stats(b"d41d8cd98f00b204e9800998ecf8427e")["hex_only"] == 1.0
    assert s["digit_share"] == pytest.approx(14 / 21)
    assert stats(b"caf\xe9")["odd_share"] == pytest.approx(0.25)
    assert SCORER.stats(b"") == (0.0,) * len(NAME_FEATURES)


def test_hostnames_are_likelier_than_encoded_data():
    ordinary = [b"www", b"mail", b"static", b"login", b"images", b"accounts"]
    encoded = [b"mzxw6ytboi", b"nbswy3dpeb3w64tmmq", b"k5uhe2lsnzsxi", b"z22naabbccddeeff", b"gezdgnbvgy3tqojq"]
    worst_ordinary = min(SCORER.likelihood([n]) for n in ordinary)
    best_encoded = max(SCORER.likelihood([n]) for n in encoded)
    assert worst_ordinary > best_encoded


def window_of(subs: list[bytes], qtype: int = 1, step: int = 1_000_000) -> Window:
    w = Window(0, 300, 200)
    for i, sub in enumerate(subs):
        w.add(Query(i * step, sub, qtype, 0, True, 4))
    return w


def test_window_features_vector():
    w = window_of([b"a1", b"a1", b"bb22", b"cc333"], qtype=16)
    f = dict(zip(FEATURES, w.features(SCORER)))
    assert f["unique_share"] == 0.75
    assert f["big_type_share"] == 1.0 and f["addr_type_share"] == 0.0
    assert f["max_sub_len"] == 5
    assert f["log_down_per_query"] == pytest.approx(math.log1p(4))
    assert f["log_mean_gap"] == pytest.approx(math.log1p(1.0))
    assert f["gap_cv"] == pytest.approx(0.0)
    assert len(w.features(SCORER)) == len(FEATURES)


def test_template_services_and_encoders_differ_in_shape():
    md5s = [Query(0, b"%032x" % (i * 7919), 1, 0, True, 4) for i in range(10)]
    chunks = [Query(0, b"x" * n + b".%x" % i, 1, 0, True, 4) for i, n in enumerate((7, 12, 9, 11, 6, 10, 8, 12, 7, 9))]
    assert top_shape_share(md5s) == 1.0 and length_cv(md5s) == 0.0
    assert top_shape_share(chunks) <= 0.3 and length_cv(chunks) > 0.1


def test_window_keeps_only_recent_queries():
    w = Window(0, 10, 5)
    for i in range(20):
        w.add(Query(i * 1_000_000, b"q%d" % i, 1, 0, True, 0))
    assert len(w.queries) == 5 and w.total == 20
    w = Window(0, 10, 100)
    for i in range(20):
        w.add(Query(i * 1_000_000, b"q%d" % i, 1, 0, True, 0))
    assert [q.sub for q in w.queries][0] == b"q9"  # older than 10 s before the newest: gone
    assert w.expired(11_000_001) and not w.expired(10_000_000)


labels = st.binary(min_size=0, max_size=63)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(labels, min_size=1, max_size=4).map(b".".join), min_size=1, max_size=30),
       st.sampled_from([1, 5, 10, 12, 15, 16, 28, 33, 65399]), st.integers(0, 5))
def test_any_subdomains_give_finite_features(subs, qtype, rcode):
    w = Window(0, 300, 200)
    for i, sub in enumerate(subs):
        w.add(Query(i * 1000, sub, qtype, rcode, bool(i % 2), len(sub)))
    values = w.features(SCORER)
    assert len(values) == len(FEATURES) and all(math.isfinite(v) for v in values)
