"""Features of DNS queries, one by one and per (client, registered domain) window.

Name features look only at the labels LEFT of the registered domain (the "subdomain"):
the tunnel's own zone name says nothing about tunnels in general, and a model that sees it
memorises zones (../shared/data/covert/MANIFEST.md, warning 1). No feature depends on IP
addresses, TTLs or the zone's identity.

Per query (`NameStats`, computed once and only when a window is scored): length, labels,
longest label, Shannon entropy, digit share, hex-only, 8-bit/odd byte share, the mean
character-bigram log-likelihood against ordinary host labels (detectors/data/
hostname_bigrams.csv), and whether it has a service label (_ldap._tcp, _dmarc). Per window (`Window.features()`): the above averaged, plus unique-
subdomain share, character entropy of all subdomains together (short labels cannot show
their encoding's entropy one by one, a window of them can), record-type shares (TXT, NULL
and private types, CNAME/MX/SRV, A/AAAA, PTR), NXDOMAIN and unanswered ratios, bytes carried
up (subdomain bytes) and down (answer rdata), the spread of subdomain lengths and the share
of the most common label-length shape (services fill fixed templates, encoders do not), and
timing (rate, inter-arrival mean and coefficient of variation).
"""

from __future__ import annotations

import math
import os
from collections import Counter, deque

BIGRAMS_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "hostname_bigrams.csv")
_HOST_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789-_"
_HEX_BYTES = b"0123456789abcdef"
_DIGIT_BYTES = b"0123456789"
_TO_HOST = bytes(c if c in _HOST_BYTES else 63 for c in range(256))  # others -> "?"
NXDOMAIN = 3
TXT, NULL, CNAME, MX, SRV, A, AAAA, PTR = 16, 10, 5, 15, 33, 1, 28, 12
_BIG_TYPES = frozenset((TXT, NULL)) | frozenset(range(65280, 65535))  # private use: iodine -T PRIVATE
_NAME_TYPES = frozenset((CNAME, MX, SRV, 2))  # answers that are names: a downstream channel
_ADDR_TYPES = frozenset((A, AAAA))


def load_bigrams(path: str = BIGRAMS_PATH) -> dict[bytes, float]:
    table: dict[bytes, float] = {}
    with open(path, encoding="ascii") as fh:
        for line in fh:
            if line.startswith("#") or line.startswith("bigram,"):
                continue
            key, value = line.rstrip("\n").split(",")
            table[key.encode()] = float(value)
    return table


class NameScorer:
    """Per-name statistics; the bigram table is loaded once per detector."""

    def __init__(self, bigrams: dict[bytes, float] | None = None):
        self.bigrams = bigrams if bigrams is not None else load_bigrams()
        self.floor = min(self.bigrams.values())

    def stats(self, sub: bytes) -> tuple[float, ...]:
        """(length, labels, longest label, entropy, digit share, hex-only, odd-byte share,
        bigram log-likelihood, has a service label) of a subdomain; zeros for an empty one."""
        if not sub:
            return (0.0,) * len(NAME_FEATURES)
        labels = sub.split(b".")
        chars = sub.replace(b".", b"")
        n = len(chars) or 1
        digits = n - len(chars.translate(None, _DIGIT_BYTES)) if chars else 0
        odd = len(chars.translate(None, _HOST_BYTES))
        hex_only = 1.0 if len(chars) >= 12 and not chars.translate(None, _HEX_BYTES) else 0.0
        service = 1.0 if any(map(is_service_label, labels)) else 0.0
        return (float(len(sub)), float(len(labels)), float(max(map(len, labels))), entropy(chars),
                digits / n, hex_only, odd / n, self.likelihood(labels), service)

    def likelihood(self, labels: list[bytes]) -> float:
        """Mean log-probability of the labels' character bigrams (with start and end marks)
        under the hostname table; characters outside [a-z0-9_-] count as "?"."""
        get, floor = self.bigrams.get, self.floor
        total, count = 0.0, 0
        for label in labels:
            mapped = b"^" + label.translate(_TO_HOST) + b"$"
            n = len(mapped) - 1
            total += sum(get(mapped[i:i + 2], floor) for i in range(n))
            count += n
        return total / count if count else 0.0


def is_service_label(label: bytes) -> bool:
    """An underscore label naming a service or protocol (_ldap, _tcp, _dmarc, _domainkey,
    _xmpp-client: RFC 2782, 6376, 7489): structure ordinary software adds, not data."""
    return 2 <= len(label) <= 24 and label[0] == 95 and label[1:].replace(b"-", b"").isalpha()


def entropy(data: bytes) -> float:
    if not data:
        return 0.0
    n = len(data)
    return -sum(k / n * math.log2(k / n) for k in Counter(data).values())


class Query:
    """One query as a window keeps it."""

    __slots__ = ("ts", "sub", "qtype", "rcode", "answered", "down", "stats", "shape")

    def __init__(self, ts: int, sub: bytes, qtype: int, rcode: int, answered: bool, down: int):
        self.ts = ts
        self.sub = sub
        self.qtype = qtype
        self.rcode = rcode
        self.answered = answered
        self.down = down
        self.stats: tuple[float, ...] | None = None  # NameScorer.stats, filled when scored
        self.shape: tuple[int, ...] = ()  # label lengths, filled with stats


NAME_FEATURES = ("sub_len", "labels", "max_label", "entropy", "digit_share", "hex_only",
                 "odd_share", "bigram_ll", "service_label")
WINDOW_FEATURES = ("unique_share", "window_entropy", "max_sub_len", "big_type_share",
                   "name_type_share", "addr_type_share", "ptr_share", "nx_ratio",
                   "unanswered_ratio", "log_down_per_query", "log_up_per_query", "length_cv",
                   "top_shape_share")
TIMING_FEATURES = ("log_rate", "log_mean_gap", "gap_cv")
FEATURES = tuple(f"mean_{n}" for n in NAME_FEATURES) + WINDOW_FEATURES + TIMING_FEATURES


class Window:
    """The recent queries of one (client, registered domain): at most `max_queries`, none
    older than `seconds` before the newest. Counters since the window opened (for alerts)
    are kept beside the bounded deque."""

    __slots__ = ("queries", "seconds", "opened", "total", "bytes_out", "bytes_in", "alerted",
                 "next_score")

    def __init__(self, ts: int, seconds: float, max_queries: int):
        self.queries: deque[Query] = deque(maxlen=max_queries)
        self.seconds = int(seconds * 1_000_000)
        self.opened = ts
        self.total = 0
        self.bytes_out = 0
        self.bytes_in = 0
        self.alerted = False
        self.next_score = 0

    def add(self, query: Query) -> None:
        self.queries.append(query)
        self.total += 1
        self.bytes_out += len(query.sub)
        self.bytes_in += query.down
        horizon = query.ts - self.seconds
        while self.queries[0].ts < horizon:
            self.queries.popleft()

    def expired(self, ts: int) -> bool:
        return ts - self.opened > self.seconds

    def unique_share(self) -> float:
        return len({q.sub for q in self.queries}) / len(self.queries)

    def features(self, scorer: NameScorer) -> list[float]:
        qs = self.queries
        n = len(qs)
        sums = [0.0] * len(NAME_FEATURES)
        for q in qs:
            if q.stats is None:
                q.stats = scorer.stats(q.sub)
                q.shape = tuple(map(len, q.sub.split(b".")))
            for i, v in enumerate(q.stats):
                sums[i] += v
        big = sum(1 for q in qs if q.qtype in _BIG_TYPES)
        names = sum(1 for q in qs if q.qtype in _NAME_TYPES)
        addrs = sum(1 for q in qs if q.qtype in _ADDR_TYPES)
        ptrs = sum(1 for q in qs if q.qtype == PTR)
        nx = sum(1 for q in qs if q.rcode == NXDOMAIN)
        unanswered = sum(1 for q in qs if not q.answered)
        down = sum(q.down for q in qs)
        up = sum(len(q.sub) for q in qs)
        chars = b"".join(q.sub for q in qs).replace(b".", b"")
        window = [self.unique_share(), entropy(chars), max(len(q.sub) for q in qs), big / n,
                  names / n, addrs / n, ptrs / n, nx / n, unanswered / n,
                  math.log1p(down / n), math.log1p(up / n), length_cv(qs), top_shape_share(qs)]
        return [s / n for s in sums] + window + timing(qs)


def length_cv(qs) -> float:
    """Spread of subdomain lengths: services fill a fixed template (an md5, a reversed IP),
    encoders cut data into pieces of varying size."""
    lengths = [len(q.sub) for q in qs]
    mean = sum(lengths) / len(lengths)
    if mean == 0:
        return 0.0
    return math.sqrt(sum((v - mean) ** 2 for v in lengths) / len(lengths)) / mean


def top_shape_share(qs) -> float:
    """Share of queries whose subdomain has the most common shape (the lengths of its
    labels, e.g. (32,) for an md5 lookup, (3, 5, 11) for a CDN edge name)."""
    shapes = Counter(q.shape or tuple(map(len, q.sub.split(b"."))) for q in qs)
    return shapes.most_common(1)[0][1] / len(qs)


def timing(qs) -> list[float]:
    """Query rate and inter-arrival statistics (log seconds; coefficient of variation)."""
    if len(qs) < 2:
        return [0.0, 0.0, 0.0]
    times = [q.ts for q in qs]
    gaps = [(b - a) / 1e6 for a, b in zip(times, times[1:])]
    mean = sum(gaps) / len(gaps)
    span = (times[-1] - times[0]) / 1e6
    var = sum((g - mean) ** 2 for g in gaps) / len(gaps)
    cv = math.sqrt(var) / mean if mean > 0 else 0.0
    return [math.log1p(len(qs) / max(span, 1e-3)), math.log1p(mean), cv]
