"""User rules: regexes and keywords, counts, masked samples, timeouts on pathological patterns."""

from __future__ import annotations

import json
import time

import pytest

from detectors.custom import CustomDetector, CustomParams, CustomRule
from tests.detectors.helpers import run


def det(*rules, **kw) -> CustomDetector:
    return CustomDetector(CustomParams(rules=tuple(rules), **kw))


def by_rule(findings) -> dict[str, dict]:
    return {f.rule: f for f in findings}


def test_regex_rule_counts_and_min_count():
    rule = CustomRule(id=3000002, name="employee numbers", regex=(r"\bEMP-[0-9]{6}\b",), min_count=3)
    d = det(rule)
    assert run(d, "EMP-123456 EMP-654321") == []
    f = run(d, "EMP-123456 EMP-654321", "and EMP-111111, xEMP-222222")[0]
    assert f.extra["count"] == 3 and f.signature_id == 3000002 and f.severity == 2
    assert f.extra["rule"] == "employee numbers"


def test_keywords_case_and_whole_word():
    kw = CustomRule(id=1, name="codename", keywords=("Project Falcon", "falcon-internal"), nocase=True, whole_word=True)
    d = det(kw)
    f = run(d, "re: PROJECT FALCON status; see falcon-internal wiki; falcon-internals no")[0]
    assert f.extra["count"] == 2
    assert f.extra["samples"] == ["PROJECT FALCON", "falcon-internal"]
    assert run(det(CustomRule(id=1, name="c", keywords=("Falcon",))), "falcon") == []  # case-sensitive


def test_samples_are_masked_and_short():
    rule = CustomRule(id=1, name="ssn", regex=(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",))
    f = run(det(rule), "ssn 123-45-6789 and 987-65-4321")[0]
    assert f.extra["samples"] == ["123\u202689", "987\u202621"]
    long_rule = CustomRule(id=2, name="blob", regex=(r"SECRET[A-Z0-9]{100}",))
    value = "SECRET" + "A1" * 50
    f = run(det(long_rule), f"x {value} y")[0]
    assert all(len(s) <= 24 for s in f.extra["samples"])
    assert value not in json.dumps(f.extra) and value[:20] not in json.dumps(f.extra)


def test_catastrophic_pattern_times_out_quickly_and_other_rules_still_work():
    evil = CustomRule(id=1, name="evil", regex=(r"(a+)+$", r"(x|x)+y"))
    fine = CustomRule(id=2, name="fine", keywords=("needle",))
    d = det(evil, fine, timeout_ms=50)
    text = "a" * 100_000 + "b needle " + "x" * 50_000
    t0 = time.perf_counter()
    findings = run(d, text)
    elapsed = time.perf_counter() - t0
    print(f"\ncustom: catastrophic patterns abandoned after {elapsed:.2f} s, timeouts={d.timeouts}")
    assert elapsed < 2
    assert [f.rule for f in findings] == ["fine"]
    assert d.timeouts == 2 and d.anomalies["evil"] == 2
    run(d, text)
    assert d.timeouts == 4


def test_bad_patterns_are_rejected_at_load():
    with pytest.raises(ValueError, match=r"regex '\(unclosed' does not compile"):
        CustomRule(id=1, name="x", regex=("(unclosed",))
    with pytest.raises(ValueError, match="matches the empty string"):
        CustomRule(id=1, name="x", regex=("a*",))
    with pytest.raises(ValueError, match="needs 'regex' patterns or 'keywords'"):
        CustomRule(id=1, name="x")
    with pytest.raises(ValueError, match="empty keyword"):
        CustomRule(id=1, name="x", keywords=(" ",))
    with pytest.raises(ValueError, match="min_count"):
        CustomRule(id=1, name="x", keywords=("k",), min_count=0)
    with pytest.raises(ValueError, match="used twice"):
        CustomParams(rules=(CustomRule(id=1, name="a", keywords=("k",)), CustomRule(id=1, name="b", keywords=("k",))))


def test_direction_per_rule():
    up = CustomRule(id=1, name="up", keywords=("k",))
    down = CustomRule(id=2, name="down", keywords=("k",), direction="toclient")
    d = det(up, down)
    assert d.directions == frozenset((0, 1))
    assert [f.rule for f in run(d, "k", direction=0)] == ["up"]
    assert [f.rule for f in run(d, "k", direction=1)] == ["down"]


def test_matches_across_window_boundaries_counted_once():
    rule = CustomRule(id=1, name="tok", regex=(r"TOKEN-[0-9]{10}",))
    d = det(rule, window_chars=1000, max_match_chars=100, count_limit=10_000)
    text = "".join(("." * (37 + i % 11)) + f"TOKEN-{i:010d}" for i in range(2000))
    f = run(d, text)[0]
    assert f.extra["count"] == 2000


def test_count_limit_bounds_work():
    d = det(CustomRule(id=1, name="digit", regex=(r"[0-9]",)), count_limit=100)
    f = run(d, "1" * 100_000)[0]
    assert f.extra["count"] == 100 and f.extra["count_limited"] is True


def test_allowlist_and_content_types():
    rule = CustomRule(id=1, name="k", keywords=("needle",))
    assert run(det(rule, allow_hosts=("corp.example",)), "needle", host="wiki.corp.example") == []
    assert run(det(rule, content_types=("text/",)), "needle", content_type="application/json") == []
    assert run(det(rule), "needle", content_type="image/png") == []
