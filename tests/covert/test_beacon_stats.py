"""The float statistics behind the beacon score agree with the standard library's exact
ones (hypothesis), and the score parts behave at their edges."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.session import stats

series = st.lists(st.floats(0, 1e9, allow_nan=False), min_size=2, max_size=60)


@settings(max_examples=200, deadline=None)
@given(series)
def test_quartiles_and_median_match_the_statistics_module(values):
    expected = statistics.quantiles(values, n=4, method="inclusive")
    assert stats.quartiles(values) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert stats.median(values) == pytest.approx(statistics.median(values), rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(series)
def test_scores_stay_in_range(values):
    assert -1.0 <= stats.bowley_skew(values) <= 1.0
    assert 0.0 <= stats.dispersion_score(values) <= 1.0
    assert 0.0 <= stats.evenness_score([int(v) % 7 for v in values]) <= 1.0


def test_edges():
    assert stats.skew_score([60.0] * 10) == 1.0 and stats.dispersion_score([60.0] * 10) == 1.0
    assert stats.evenness_score([3, 3, 3]) == 1.0 and stats.evenness_score([0, 0, 9]) == 0.0
    assert stats.bowley_skew([1, 2, 3, 4, 100]) == 0.0  # quartiles 2, 3, 4: an outlier does not move it
    assert stats.bowley_skew([1, 2, 3, 10, 40]) > 0.5  # long right tail
    assert stats.mode([5, 7, 7, 5, 7]) == 7


def test_compress_ratio_tells_counters_and_text_from_random_bytes():
    import random
    assert stats.compress_ratio(bytes(range(16, 200))) < 0.1  # ping's counter, before it repeats
    assert stats.compress_ratio(b"GET /index.html HTTP/1.1\r\nHost: intranet\r\n" * 4) < 0.5
    assert stats.compress_ratio(random.Random(1).randbytes(300)) > 0.95
