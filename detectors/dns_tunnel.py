"""DNS tunnels and DNS exfiltration (iodine, dns2tcp, dnscat2, DNSExfiltrator, slow scripted
exfiltration...): a model over windows of queries per (client, registered domain).

Every DNS transaction adds its query to the window of (client IP, registered domain of the
question name; Public Suffix List, offline). A window is scored once it holds `min_queries`
queries and then every `score_every` more (backing off to every quarter of its count in long
windows, so a busy benign domain costs a few scorings), and only while its cheap prefilter passes (the
share of distinct subdomains is at least `min_unique_share`: tunnels never repeat a name,
ordinary clients mostly do). The score is the shipped random forest's probability
(models/dns_tunnel.skops, see models/dns_tunnel.md) over the window features of
detectors/covert/dns_features.py; at `threshold` or above the window alerts, once: one alert
per (client, domain) per window (`window_seconds`, counted from its first query).

Memory is bounded: at most `max_windows` windows (least recently used dropped first, counted
in `evicted`), each holding at most `max_window_queries` queries.

The alert's `covert` object: {"domain", "client", "score", "queries", "bytes_out",
"bytes_in", "sample"}. Tunnel names carry the exfiltrated data, so samples are cut to
`sample_chars` characters of subdomain (the count of characters left out is shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import TOSERVER, DnsTransaction, Finding
from detectors.covert import model as tunnel_model
from detectors.covert.dns_features import NameScorer, Window
from detectors.covert.dns_windows import DnsWindows, Key
from detectors.text.scope import host_matches, normalize_domains, validate_domains
from detectors.params import check_positive, check_severity


@dataclass(frozen=True)
class DnsTunnelParams:
    model_path: str = ""  # "" = the shipped models/dns_tunnel.skops
    threshold: float | None = None  # None = the model's own (its card says how it was chosen)
    window_seconds: int = 300
    max_window_queries: int = 50
    max_windows: int = 20000
    min_queries: int = 5
    score_every: int = 5
    min_unique_share: float = 0.5
    allow_domains: tuple[str, ...] = ()
    sample_count: int = 3
    sample_chars: int = 24
    signature_id: int = 2630001
    signature: str = "DLP DNS tunnel or exfiltration"
    category: str = "Potential Corporate Privacy Violation"
    severity: int = 2

    def __post_init__(self) -> None:
        check_severity(self, "severity")
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be above 0 and at most 1")
        if not 0.0 <= self.min_unique_share <= 1.0:
            raise ValueError("min_unique_share must be between 0 and 1")
        check_positive(self, "window_seconds", "max_window_queries", "max_windows", "min_queries",
                       "score_every", "sample_count", "sample_chars")
        if self.min_queries > self.max_window_queries:
            raise ValueError("min_queries cannot exceed max_window_queries")
        validate_domains(self.allow_domains, "allow_domains")


def name_text(name: bytes) -> str:
    return name.decode("ascii", "backslashreplace")


class DnsTunnelDetector:
    name = "dns_tunnel"
    inputs = frozenset({"dns"})
    Params = DnsTunnelParams

    def __init__(self, params: DnsTunnelParams | None = None):
        p = self.params = params or DnsTunnelParams()
        runtime = tunnel_model.load_runtime(p.model_path or tunnel_model.DEFAULT_PATH)
        self.forest = runtime.scorer
        self.threshold = p.threshold if p.threshold is not None else runtime.threshold
        self.names = NameScorer()
        self.allow = normalize_domains(p.allow_domains)
        self.tracker = DnsWindows(p.window_seconds, p.max_window_queries, p.max_windows,
                                  p.min_queries, p.score_every, p.min_unique_share)
        self.scored = 0

    def carry_over(self, previous: "DnsTunnelDetector") -> None:
        """A rules reload (maybe a new model): keep the per-domain windows, unless what shapes
        a window changed (then they were measured differently and start again)."""
        p, q = self.params, previous.params
        if (p.window_seconds, p.max_window_queries) == (q.window_seconds, q.max_window_queries):
            self.tracker.windows.adopt(previous.tracker.windows)

    def applies(self, item) -> bool:
        return isinstance(item, DnsTransaction) and item.question is not None

    def inspect(self, item: DnsTransaction) -> list[Finding]:
        if self.allow and host_matches(name_text(item.question.name), self.allow):
            return []
        key = self.tracker.key(item)
        window = self.tracker.observe(item, key)
        if window is None:
            return []
        score = self.score(window)
        if score < self.threshold:
            return []
        window.alerted = True
        return [self._finding(key, window, score)]

    def score(self, window: Window) -> float:
        self.scored += 1
        return self.forest.score(window.features(self.names))

    def _finding(self, key: Key, window: Window, score: float) -> Finding:
        p = self.params
        client, domain = key
        covert = {"domain": name_text(domain), "client": client, "score": round(score, 3),
                  "queries": window.total, "bytes_out": window.bytes_out, "bytes_in": window.bytes_in,
                  "sample": self._samples(window, domain)}
        newest = window.queries[-1].ts
        extra = {"threshold": self.threshold, "window_seconds": p.window_seconds,
                 "window_age_seconds": round((newest - window.opened) / 1e6, 3)}
        return Finding(self.name, p.signature_id, p.signature, p.category, p.severity, TOSERVER,
                       rule=self.name, extra=extra, objects={"covert": covert})

    def _samples(self, window: Window, domain: bytes) -> list[str]:
        out: list[str] = []
        for query in reversed(window.queries):
            sub = name_text(query.sub)
            cut = len(sub) - self.params.sample_chars
            text = (sub[: self.params.sample_chars] + f"…(+{cut})" if cut > 0 else sub) + "." + name_text(domain)
            if text not in out:
                out.append(text)
            if len(out) >= self.params.sample_count:
                break
        return out
