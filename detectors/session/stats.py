"""Robust statistics for timing and size series (the measures RITA's beacon analysis uses):
quartiles, Bowley's quartile skewness, median absolute deviation, and a compressibility
test for random-looking payloads.

Plain floats on sorted lists: the `statistics` module computes exactly (fractions), which
costs a millisecond per beacon score on a busy link."""

from __future__ import annotations

import math
import zlib
from collections import Counter
from typing import Sequence


def _at(ordered: Sequence[float], p: float) -> float:
    """The p-quantile of sorted values, linearly interpolated (the "inclusive" method)."""
    pos = (len(ordered) - 1) * p
    low = int(pos)
    if low + 1 >= len(ordered):
        return float(ordered[-1])
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (pos - low)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(Q1, median, Q3)."""
    ordered = sorted(values)
    return _at(ordered, 0.25), _at(ordered, 0.5), _at(ordered, 0.75)


def median(values: Sequence[float]) -> float:
    return _at(sorted(values), 0.5)


def bowley_skew(values: Sequence[float]) -> float:
    """(Q1 + Q3 - 2*median) / (Q3 - Q1), in -1..1; 0 when the quartiles coincide (a
    perfectly regular series is symmetric) or when the median sits on a quartile."""
    q1, q2, q3 = quartiles(values)
    if q3 == q1 or q2 == q1 or q2 == q3:
        return 0.0
    return (q1 + q3 - 2 * q2) / (q3 - q1)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median."""
    mid = median(values)
    return median([abs(v - mid) for v in values])


def dispersion_score(values: Sequence[float]) -> float:
    """1 - MAD/median, clamped to 0..1: 1 for a constant series, 0 when the typical
    deviation is as large as the median itself."""
    mid = median(values)
    if mid <= 0:
        return 1.0 if mad(values) == 0 else 0.0
    return max(0.0, 1.0 - mad(values) / mid)


def skew_score(values: Sequence[float]) -> float:
    """1 - |Bowley skew|: 1 for a symmetric (jittered-periodic) series."""
    return 1.0 - abs(bowley_skew(values))


def evenness_score(counts: Sequence[int]) -> float:
    """1 - coefficient of variation of bin counts, clamped to 0..1: 1 when every bin of the
    observation span holds as many connections as the others."""
    mean = math.fsum(counts) / len(counts)
    if mean == 0:
        return 0.0
    stdev = math.sqrt(math.fsum((c - mean) ** 2 for c in counts) / len(counts))
    return max(0.0, 1.0 - stdev / mean)


def mode(values: Sequence[int]) -> int:
    """The most common value (the first seen of equally common ones)."""
    return Counter(values).most_common(1)[0][0]


def compress_ratio(data: bytes) -> float:
    """How incompressible `data` is: compressed size / size (zlib level 6) of the bytes or of
    their successive differences, whichever is smaller. Random or encrypted bytes stay near
    or above 1; text and pings' counting patterns shrink (the differences of a counter are
    all 1, even where the counter itself has not repeated yet). Byte entropy cannot tell
    them apart: Linux ping's 0..255 counter has the maximal 8 bits per byte."""
    if not data:
        return 0.0
    direct = len(zlib.compress(data, 6)) / len(data)
    if direct < 0.5:
        return direct  # already clearly patterned: skip the differences (a Python loop)
    deltas = bytes((b - a) & 0xFF for a, b in zip(data, data[1:]))
    return min(direct, (len(zlib.compress(deltas, 6)) + 1) / len(data))
