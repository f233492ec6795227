"""Stateful-inspection anomalies from the flow engine's session tracking and the DNS pairing.

Inputs: FlowEvent (open, established, anomaly, close) and DnsTransaction. Signatures (sid =
`signature_id_base` + n; `alert.signature` names which; rule name `spi.<event>`):

| n  | event                    | raised when                                                        | sev |
|----|--------------------------|--------------------------------------------------------------------|-----|
| 1  | no_session               | a TCP flow opened by an ACK or data segment (no handshake seen), more than `midstream_grace_seconds` after the first packet, and the peer answered only with RST (a session resumed after an idle timeout gets real answers; a silent peer may be a one-sided mirror: both stay quiet) | 3 |
| 2  | syn_flood                | `syn_flood_half_open` handshakes to one service (ip, port) started and not completed within `syn_flood_window_seconds` | 2 |
| 3  | port_scan_syn            | one source's TCP flows that never completed a handshake reached `scan_min_ports` distinct (destination ip, port) within `scan_window_seconds`; the scan's kind is its first segment's flags: SYN | 2 |
| 4  | port_scan_null           | ... no flags                                                       | 2 |
| 5  | port_scan_fin            | ... FIN alone                                                      | 2 |
| 6  | port_scan_xmas           | ... FIN+PSH+URG                                                    | 2 |
| 7  | port_scan_other          | ... any other first segment (ACK, SYN+FIN, ...)                    | 2 |
| 8  | invalid_flags            | flow anomaly tcp.null_scan, tcp.xmas_scan, tcp.syn_fin, tcp.syn_rst, tcp.fin_rst, tcp.fin_without_ack, tcp.reserved_flags or tcp.invalid_flags_*; except a FIN without ACK in a flow its client opened with a SYN (stacks that close before the handshake completes do that) | 3 |
| 9  | rst_out_of_window        | flow anomaly tcp.rst_out_of_window (a reset far from the sender's sequence space: injection) | 2 |
| 10 | data_out_of_window       | flow anomaly tcp.data_out_of_window (data far outside the receiver's window: injection) | 2 |
| 11 | dns_answer_without_query | a DNS response nobody asked for (after the midstream grace): cache poisoning, or a tunnel's server pushing data | 3 |

The midstream grace: a capture (or a monitoring port) starts in the middle of sessions, so
for `midstream_grace_seconds` after the first packet the detector sees, pickups are normal.
Each event alerts at most once per (event, source, destination) per `alert_interval_seconds`
(scans: per source; floods: per service; anomalies: per anomaly name too). Sources in
`allow_sources` (your vulnerability scanner) raise nothing. State is bounded: `max_hosts` sources/services, `max_flows` flows
waiting for their handshake or close, `max_tracked` distinct members per counter.
The alert's `spi` object names the event and its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import DnsTransaction, FlowEvent, Finding
from detectors.session.addresses import any_match, parse_endpoints, sender
from detectors.session.bounded import AlertLimiter, LruMap, WindowedSet
from detectors.params import check_positive

US = 1_000_000
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
XMAS = FIN | PSH | URG

# event -> (sid offset, signature, severity)
SIGNATURES = {
    "no_session": (1, "DLP SPI TCP ACK or data with no session", 3),
    "syn_flood": (2, "DLP SPI SYN flood (half-open connections to one service)", 2),
    "port_scan_syn": (3, "DLP SPI port scan (SYN)", 2),
    "port_scan_null": (4, "DLP SPI port scan (NULL)", 2),
    "port_scan_fin": (5, "DLP SPI port scan (FIN)", 2),
    "port_scan_xmas": (6, "DLP SPI port scan (XMAS)", 2),
    "port_scan_other": (7, "DLP SPI port scan (unusual flags)", 2),
    "invalid_flags": (8, "DLP SPI invalid TCP flag combination", 3),
    "rst_out_of_window": (9, "DLP SPI TCP RST out of window (injection)", 2),
    "data_out_of_window": (10, "DLP SPI TCP data out of window (injection)", 2),
    "dns_answer_without_query": (11, "DLP SPI DNS answer with no matching query", 3),
}
INVALID_FLAG_ANOMALIES = frozenset({"tcp.null_scan", "tcp.xmas_scan", "tcp.syn_fin", "tcp.syn_rst",
                                    "tcp.fin_rst", "tcp.fin_without_ack", "tcp.reserved_flags"})
INJECTION_ANOMALIES = {"tcp.rst_out_of_window": "rst_out_of_window",
                       "tcp.data_out_of_window": "data_out_of_window"}


def scan_kind(first_flags: int) -> str:
    """The scan a flow's first segment belongs to (nmap -sS, -sN, -sF, -sX, ...)."""
    low = first_flags & 0x3F
    if low == SYN:
        return "syn"
    if low == 0:
        return "null"
    if low == FIN:
        return "fin"
    if low == XMAS:
        return "xmas"
    return "other"


def anomaly_event(name: str) -> str | None:
    if name in INVALID_FLAG_ANOMALIES or name.startswith("tcp.invalid_flags_"):
        return "invalid_flags"
    return INJECTION_ANOMALIES.get(name)


class SpiDetector:
    name = "spi"
    inputs = frozenset({"flow", "dns"})

    @dataclass(frozen=True)
    class Params:
        events: tuple[str, ...] = tuple(SIGNATURES)  # which events alert
        midstream_grace_seconds: int = 60
        syn_flood_half_open: int = 200
        syn_flood_window_seconds: int = 10
        scan_min_ports: int = 15
        scan_window_seconds: int = 60
        allow_sources: tuple[str, ...] = ()
        signature_id_base: int = 2620000
        category: str = "Attempted Information Leak"
        alert_interval_seconds: int = 300
        max_hosts: int = 20000
        max_flows: int = 200000
        max_tracked: int = 4096

        def __post_init__(self) -> None:
            for e in self.events:
                if e not in SIGNATURES:
                    raise ValueError(f"events: unknown event {e!r} (known: {', '.join(SIGNATURES)})")
            check_positive(self, "syn_flood_half_open", "syn_flood_window_seconds", "scan_min_ports",
                           "scan_window_seconds", "alert_interval_seconds", "max_hosts", "max_flows",
                           "max_tracked")
            if self.midstream_grace_seconds < 0:
                raise ValueError("midstream_grace_seconds must not be negative")
            if self.max_tracked < max(self.syn_flood_half_open, self.scan_min_ports):
                raise ValueError("max_tracked must be at least syn_flood_half_open and scan_min_ports")
            parse_endpoints(self.allow_sources, "allow_sources")

    def __init__(self, params: "SpiDetector.Params"):
        p = self.params = params
        self.enabled = frozenset(p.events)
        if "dns_answer_without_query" not in self.enabled:
            self.inputs = frozenset({"flow"})  # no DNS parsing for this detector's sake
        self.allow = parse_endpoints(p.allow_sources, "allow_sources")
        self.limiter = AlertLimiter(p.alert_interval_seconds * US, p.max_hosts)
        self.first_ts: int | None = None
        self.established: LruMap[bool] = LruMap(p.max_flows)  # flow ids whose handshake completed
        self.half_open: LruMap[WindowedSet] = LruMap(p.max_hosts)  # (ip, port) -> flow ids
        self.scanned: LruMap[WindowedSet] = LruMap(p.max_hosts)  # (src, kind) -> (ip, port)

    def carry_over(self, previous: "SpiDetector") -> None:
        """A rules reload: keep the handshakes, half-open and scan windows, alert times."""
        for name in ("established", "half_open", "scanned", "limiter"):
            getattr(self, name).adopt(getattr(previous, name))
        self.first_ts = previous.first_ts

    def applies(self, item) -> bool:
        t = type(item)
        if t is FlowEvent:
            return item.flow.proto == "TCP"
        return t is DnsTransaction and item.query is None

    def inspect(self, item) -> list[Finding]:
        if self.first_ts is None:
            self.first_ts = item.ts
        if type(item) is DnsTransaction:
            return self._dns_answer(item)
        handler = getattr(self, "_on_" + item.kind, None)
        return handler(item) if handler is not None else []

    # -- events -------------------------------------------------------------------------
    def _on_open(self, ev: FlowEvent) -> list[Finding]:
        flags = ev.first_flags
        if not flags & SYN or flags & (ACK | RST | FIN):
            return []
        service = (ev.flow.dest_ip, ev.flow.dest_port)
        p = self.params
        pending = self.half_open.get_or_add(
            service, lambda: WindowedSet(p.syn_flood_window_seconds * US, p.max_tracked))
        count = pending.add(ev.flow.flow_id, ev.ts)
        if count < p.syn_flood_half_open:
            return []
        return self._alert("syn_flood", ev, ("*", *service), {"half_open": count,
                                                             "window_seconds": p.syn_flood_window_seconds})

    def _on_established(self, ev: FlowEvent) -> list[Finding]:
        if not ev.first_flags & SYN:
            return []  # a midstream pickup: no handshake was seen
        self.established.put(ev.flow.flow_id, True)
        pending = self.half_open.get((ev.flow.dest_ip, ev.flow.dest_port))
        if pending is not None:
            pending.discard(ev.flow.flow_id)
        return []

    def _on_anomaly(self, ev: FlowEvent) -> list[Finding]:
        event = anomaly_event(ev.name)
        if event is None or ev.name == "tcp.fin_without_ack" and ev.first_flags & SYN:
            return []
        src, dst = sender(ev.flow, ev.direction)
        return self._alert(event, ev, (src, dst, ev.name), {"anomaly": ev.name}, src=src)

    def _on_close(self, ev: FlowEvent) -> list[Finding]:
        if self.established.pop(ev.flow.flow_id) is not None:
            return []
        flags = ev.first_flags
        if flags & RST:
            return []  # a reset with no session: backscatter or late; invalid_flags covers SYN+RST
        if flags & ACK:  # SYN/ACK first: the client's SYN was not captured; no scan
            return [] if flags & SYN else self._no_session(ev)
        return self._scan(ev)

    def _scan(self, ev: FlowEvent) -> list[Finding]:
        p = self.params
        kind = scan_kind(ev.first_flags)
        src = ev.flow.src_ip
        ports = self.scanned.get_or_add(
            (src, kind), lambda: WindowedSet(p.scan_window_seconds * US, p.max_tracked))
        count = ports.add((ev.flow.dest_ip, ev.flow.dest_port), ev.ts)
        if count < p.scan_min_ports:
            return []
        return self._alert("port_scan_" + kind, ev, (src,), lambda: {
            "distinct_ports": count, "hosts": len({ip for ip, _ in ports.seen}),
            "window_seconds": p.scan_window_seconds}, src=src)

    def _no_session(self, ev: FlowEvent) -> list[Finding]:
        if ev.start - self.first_ts < self.params.midstream_grace_seconds * US:
            return []
        # who answered? the receiving host of a segment with no session resets it; a live
        # session resumed after an idle timeout gets real answers; no answer at all may be
        # a filter, or a mirror that shows one direction only: not evidence enough
        for d in (0, 1):
            peer_flags = ev.tcp_flags[1 - d]
            if ev.pkts[d] and ev.pkts[1 - d] and peer_flags & RST and not peer_flags & ~(RST | ACK):
                src, dst = sender(ev.flow, d)
                return self._alert("no_session", ev, (src, dst), {"peer_answer": "rst"}, src=src, direction=d)
        return []

    def _dns_answer(self, tx: DnsTransaction) -> list[Finding]:
        if tx.ts - self.first_ts < self.params.midstream_grace_seconds * US:
            return []
        server, client = tx.flow.dest_ip, tx.flow.src_ip
        if tx.response is not None and tx.response.questions:
            name = tx.response.questions[0].name.decode("latin-1")[:255]
        else:
            name = ""
        return self._alert("dns_answer_without_query", tx, (server, client), {"rrname": name}, src=server,
                           direction=1)

    # -- alerts -------------------------------------------------------------------------
    def _alert(self, event: str, item, key: tuple, details, src: str | None = None,
               direction: int | None = None) -> list[Finding]:
        """A finding for `event` unless disabled, allowed or rate-limited; `details` is the
        `spi` object's content, or a function making it (only called for an alert)."""
        p = self.params
        src = src or item.flow.src_ip
        if event not in self.enabled or any_match(self.allow, src) or \
                not self.limiter.allow((event, *key), item.ts):
            return []
        offset, signature, severity = SIGNATURES[event]
        if direction is None:
            direction = getattr(item, "direction", 0)
        return [Finding(self.name, p.signature_id_base + offset, signature, p.category, severity,
                        direction, rule="spi." + event,
                        objects={"spi": {"event": event, **(details() if callable(details) else details)}})]
