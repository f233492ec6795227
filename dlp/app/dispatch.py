"""From stream events to detectors: builds the items detectors inspect and collects findings.

Items by input kind (a detector lists the kinds it takes in an optional `inputs` attribute;
default "stream" and "http"):
  stream  StreamChunk      in-order bytes of one direction, or one UDP/ICMP datagram
  http    HttpTransaction  a request/response with one direction's body decoded
  dns     DnsTransaction   a query paired with its response (dlp/app/dns/session.py), on
                           UDP or TCP port 53
  icmp    IcmpMessage      one ICMP/ICMPv6 message
  flow    FlowEvent        a session opening, established, raising an anomaly, closing
Items are built only for kinds some detector takes. Each detector call is guarded: one broken
detector is logged and counted, and costs no other detector its alert.
"""

from __future__ import annotations

from collections import Counter

import structlog

from detectors.base import (
    FlowEvent, FlowInfo, HttpTransaction, IcmpMessage, StreamChunk, StreamState,
)
from dlp.app.dns.session import DnsSession, oriented
from dlp.app.http_session import HttpConnection, HttpSettings
from dlp.decode.packet import ICMP, ICMP6, PROTO_NAMES, TCP, UDP, ip_text

log = structlog.get_logger("dlp.detect")
# limits that leave part of a body uninspected (dlp/bodies events, the session's body cap)
UNSCANNED = frozenset({"body.limit_decoded_size", "body.limit_ratio", "body.limit_depth",
                       "body.limit_parts", "body.limit_time", "body.limit_part_size",
                       "body.limit_json_nodes", "http.body_limit"})
BOTH = frozenset((0, 1))
ALL_INPUTS = frozenset(("stream", "http"))
DNS_PORT = 53


class _FlowApp:
    """A flow's app-layer state: who talks, per-direction stream state, and the HTTP or DNS
    session when one applies."""

    __slots__ = ("info", "streams", "http", "dns")

    def __init__(self, info, streams, http, dns):
        self.info = info
        self.streams = streams
        self.http = http
        self.dns = dns


def _flow_info(flow) -> FlowInfo:
    """Who talks to whom, made once per flow (every item of the flow shares it)."""
    info = flow.info
    if info is None:
        info = flow.info = FlowInfo(flow.flow_id, PROTO_NAMES.get(flow.proto, str(flow.proto)),
                                    ip_text(flow.cli), flow.cport, ip_text(flow.srv), flow.sport,
                                    flow.vlan)
    return info


def _takes(detectors: list, kind: str) -> list:
    return [d for d in detectors if kind in getattr(d, "inputs", ALL_INPUTS)]


class DetectionDispatcher:
    """A StreamConsumer that runs detectors and passes findings to
    `on_finding(flow, finding, item)` (item: what was inspected, with its `ts`)."""

    def __init__(self, detectors: list, on_finding, http: HttpSettings | None = None,
                 on_unscanned=None):
        self.on_finding = on_finding
        self.on_unscanned = on_unscanned  # (flow, tx, [limit names]) when a body was cut short
        self.http_settings = http or HttpSettings()
        # engine.request_bypass, when nothing after the dispatcher needs every stream byte
        # (the pipeline leaves it None when --write-streams is on)
        self.request_bypass = None
        self.errors: Counter = Counter()  # detector name -> exceptions
        self.hits: Counter = Counter()  # (detector, rule) -> findings
        self.events: Counter = Counter()  # app-layer anomalies and limits
        self.detectors: list = []
        self.set_detectors(detectors)

    def set_detectors(self, detectors: list) -> None:
        """Install a detector set (at start, and on a rules reload: flows already under way
        keep their app-layer state and meet the new detectors from their next item on). A
        new detector with `carry_over(previous)` takes the state of the running one of its
        name (a beacon's hours of connection series must not end with a rules tweak)."""
        running = {d.name: d for d in self.detectors}
        for detector in detectors:
            previous = running.get(detector.name)
            if previous is not None and previous is not detector and hasattr(detector, "carry_over"):
                detector.carry_over(previous)
        self.detectors = detectors
        stream = _takes(detectors, "stream")
        self.http_detectors = _takes(detectors, "http")
        self.dns_detectors = _takes(detectors, "dns")
        self.icmp_detectors = _takes(detectors, "icmp")
        self.flow_detectors = _takes(detectors, "flow")
        # bodies of a direction no detector looks at are neither kept nor decoded
        self.http_directions = frozenset(
            direction for d in self.http_detectors for direction in getattr(d, "directions", BOTH))
        self.by_direction = [[d for d in stream if direction in getattr(d, "directions", BOTH)]
                             for direction in (0, 1)]

    def _app(self, flow) -> _FlowApp:
        app = flow.app
        if app is None:
            info = _flow_info(flow)
            http = dns = None
            if self.dns_detectors and flow.proto in (TCP, UDP) and DNS_PORT in (flow.sport,
                                                                               flow.cport):
                dns = DnsSession(lambda d, info=info: oriented(info, d),
                                 lambda tx, flow=flow: self._run(flow, tx, self.dns_detectors),
                                 self.events, "tcp" if flow.proto == TCP else "udp")
            elif flow.proto == TCP and self.http_detectors:
                http = HttpConnection(info, self.http_settings, self.inspect_transaction,
                                      self.events, midstream=flow.midstream,
                                      directions=self.http_directions, owner=flow)
            streams = None  # per-direction stream state only when stream detectors run
            if self.by_direction[0] or self.by_direction[1]:
                streams = [StreamState(info, 0), StreamState(info, 1)]
            app = flow.app = _FlowApp(info, streams, http, dns)
        return app

    def on_open(self, flow) -> None:
        flow.app = None  # created lazily, on first data
        if self.flow_detectors:
            self._flow_event(flow, "open", 0)

    def on_event(self, flow, direction: int, name: str) -> None:
        if self.flow_detectors:
            kind = "established" if name == "tcp.established" else "anomaly"
            self._flow_event(flow, kind, direction, name)

    def _flow_event(self, flow, kind: str, direction: int, name: str = "") -> None:
        info = _flow_info(flow)
        event = FlowEvent(kind, info, flow.last, flow.start, name, direction,
                          flow.first_flags, flow.state.name.lower() if flow.proto == TCP else "",
                          flow.midstream, flow.reason or "", tuple(flow.pkts), tuple(flow.bytes),
                          tuple(flow.tcp_flags))
        self._run(flow, event, self.flow_detectors)

    def on_data(self, flow, direction: int, data: bytes) -> None:
        detectors = self.by_direction[direction]
        if not detectors and not self.http_detectors and not self.dns_detectors:
            return
        app = flow.app or self._app(flow)
        if app.http is not None:
            app.http.data(direction, data, flow.last)
            if app.http.done and self.request_bypass is not None and not (
                    self.by_direction[0] or self.by_direction[1]):
                self.request_bypass(flow)  # not HTTP (TLS...) or a tunnel: nothing to inspect
        elif app.dns is not None:
            app.dns.data(direction, data, flow.last)
        if detectors:
            stream = app.streams[direction]
            chunk = StreamChunk(stream, stream.offset, data, stream.after_gap, flow.last)
            stream.after_gap = False
            stream.offset += len(data)
            self._run(flow, chunk, detectors)

    def on_gap(self, flow, direction: int, length: int) -> None:
        if not self.detectors:
            return
        app = self._app(flow)
        if app.http is not None:
            app.http.gap(direction, length, flow.last)
        elif app.dns is not None:
            app.dns.gap(direction)
        if app.streams is not None:
            stream = app.streams[direction]
            stream.offset += length
            stream.gaps += 1
            stream.after_gap = True

    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None:
        detectors = self.by_direction[direction]
        if self.icmp_detectors and flow.proto in (ICMP, ICMP6):
            msg = IcmpMessage(_flow_info(flow), pkt.ts, direction, 4 if flow.proto == ICMP else 6,
                              pkt.sport, pkt.dport, pkt.icmp_id, pkt.seq, payload)
            self._run(flow, msg, self.icmp_detectors)
        elif self.dns_detectors and flow.proto == UDP:
            dns = self._app(flow).dns
            if dns is not None:
                dns.datagram(direction, payload, pkt.ts)
        if not detectors:
            return
        stream = self._app(flow).streams[direction]
        chunk = StreamChunk(stream, stream.offset, payload, False, pkt.ts, datagram=True)
        stream.offset += len(payload)
        self._run(flow, chunk, detectors)

    def on_close(self, flow) -> None:
        app = flow.app
        if app is not None:
            if app.http is not None:
                app.http.end(flow.last)
            elif app.dns is not None:
                app.dns.end()
        if self.flow_detectors:
            self._flow_event(flow, "close", 0)
        flow.app = None

    def inspect_stream(self, flow, stream: StreamState, data: bytes, ts: int) -> None:
        """Run the stream detectors of `stream.direction` on the next bytes of a stream that
        does not come from the flow engine (a body handed over by ICAP)."""
        detectors = self.by_direction[stream.direction]
        if detectors and data:
            chunk = StreamChunk(stream, stream.offset, data, False, ts)
            stream.offset += len(data)
            self._run(flow, chunk, detectors)

    def inspect_transaction(self, flow, tx: HttpTransaction) -> None:
        """Run the http detectors on one transaction (from the mirror, ICAP or a key log)."""
        if self.on_unscanned is not None:
            limits = [a for a in tx.anomalies if a in UNSCANNED]
            if limits:  # part of this body was not inspected: say which flow and why
                self.on_unscanned(flow, tx, limits)
        self._run(flow, tx, self.http_detectors)

    def _run(self, flow, item, detectors: list) -> None:
        for det in detectors:
            try:
                if not det.applies(item):
                    continue
                findings = det.inspect(item)
            except Exception:  # a detector bug must not stop the appliance
                self.errors[det.name] += 1
                log.exception("detector_failed", detector=det.name, flow_id=flow.flow_id)
                continue
            for finding in findings:
                self.hits[(finding.detector, finding.rule or finding.signature)] += 1
                self.on_finding(flow, finding, item)
