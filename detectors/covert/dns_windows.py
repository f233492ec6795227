"""Which window a DNS transaction belongs to, and when that window is due for scoring: the
part of the DNS tunnel detector that training shares, so the model learns from exactly the
windows the detector will score.

A window is (client IP, registered domain of the question name). It is due at its
`min_queries`-th query and every `score_every` queries after (or every quarter of its count,
when that is more: 5, 10, 15, 20, 25, 31, 38, 47, 58, ...), while it has not alerted and
its cheap prefilter passes (distinct-subdomain share >= `min_unique_share`). At most
`max_windows` are tracked; the least recently used is dropped first (counted in `evicted`).
"""

from __future__ import annotations

from detectors.base import DnsTransaction
from detectors.covert.dns_features import Query, Window
from detectors.covert.psl import PublicSuffixList, default_list
from detectors.session.bounded import LruMap

_OPT = 41
Key = tuple[str, bytes]  # (client IP, registered domain)


def answer_bytes(response) -> int:
    """Bytes the server sent back as data: the rdata of every answer and authority record."""
    if response is None:
        return 0
    return sum(len(r.rdata) for r in response.answers) + \
        sum(len(r.rdata) for r in response.authority if r.rtype != _OPT)


class DnsWindows:
    def __init__(self, window_seconds: float, max_window_queries: int, max_windows: int,
                 min_queries: int, score_every: int, min_unique_share: float,
                 psl: PublicSuffixList | None = None, backoff: bool = True):
        self.window_seconds = window_seconds
        self.max_window_queries = max_window_queries
        self.max_windows = max_windows
        self.min_queries = min_queries
        self.score_every = score_every
        self.min_unique_share = min_unique_share
        self.backoff = backoff  # training turns it off: more snapshots of the same windows
        self.psl = psl or default_list()
        self.windows: LruMap[Window] = LruMap(max_windows)

    def key(self, item: DnsTransaction) -> Key:
        return item.flow.src_ip, self.psl.registered_domain(item.question.name)

    def observe(self, item: DnsTransaction, key: Key) -> Window | None:
        """Add the transaction's query to its window; the window when it is due for scoring."""
        name = item.question.name
        domain = key[1]
        sub = name[: max(0, len(name) - len(domain) - 1)]
        response = item.response
        query = Query(item.ts, sub, item.question.qtype,
                      response.rcode if response is not None else -1,
                      response is not None, answer_bytes(response))
        window = self._window(key, item.ts)
        window.add(query)
        if window.alerted or window.total < window.next_score:
            return None
        step = max(self.score_every, window.total // 4) if self.backoff else self.score_every
        window.next_score = window.total + step
        if window.unique_share() < self.min_unique_share:
            return None
        return window

    def _window(self, key: Key, ts: int) -> Window:
        window = self.windows.get(key)
        if window is None or window.expired(ts):
            window = Window(ts, self.window_seconds, self.max_window_queries)
            window.next_score = self.min_queries
        self.windows.put(key, window)  # refreshed; the stalest window goes past max_windows
        return window

    @property
    def evicted(self) -> int:
        return self.windows.evicted
