"""One ICAP transaction through the mirror path's inspection: the encapsulated HTTP message
becomes the same `HttpTransaction` (dlp/app/http_session.py: body cap, dlp/bodies decoding)
and meets the same detectors (dlp/app/dispatch.py); the rules say whether a finding blocks.

The flow an alert names is built from what the proxy tells us: the client from X-Client-IP,
the server from the request's Host (its address when Host is one, else X-Server-IP, else
0.0.0.0 with the name in `http.hostname`). Each transaction gets its own random flow id,
which is also the incident id on the block page.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from detectors.base import FlowInfo, StreamState
from dlp.app.dispatch import DetectionDispatcher, UNSCANNED
from dlp.app.http.events import BodyData, BodyEnd
from dlp.app.http_session import HttpConnection, HttpSettings
from dlp.decode.packet import TCP, Packet, ip_text
from dlp.flow.flow import Flow
from dlp.icap.events import IcapRequest
from dlp.outputs import eve
from dlp.rules import RuleSet

UNKNOWN_IP = "0.0.0.0"
OVER_BUDGET = "icap.memory_budget"


class _IcapHttp(HttpConnection):
    """An HttpConnection fed the ICAP parser's HTTP events instead of a byte stream."""

    __slots__ = ()

    def handle(self, events: list, ts: int) -> None:
        self._handle(events, ts)


@dataclass
class Verdict:
    block: bool
    incident_id: str
    reason: str = ""  # what the block page says was found
    findings: list = field(default_factory=list)
    unscanned: list = field(default_factory=list)


class Transaction:
    """One REQMOD/RESPMOD being received: body bytes stream into the HTTP session (which keeps
    at most max_body_bytes); finish() decodes, runs the detectors and decides."""

    def __init__(self, inspector: "IcapInspector", request: IcapRequest):
        self.inspector = inspector
        self.request = request
        self.flow = _flow_for(request)
        self.ts = int(time.time() * 1_000_000)
        self.found: list = []  # (finding, HttpTransaction)
        self.unscanned: list[str] = []
        self.held = 0  # body bytes kept for inspection (counted against the inspector's budget)
        self.over_budget = False
        self.http = _IcapHttp(_flow_info(self.flow), inspector.http_settings, self._collect,
                              inspector.dispatcher.events, owner=self.flow)
        self.direction = request.body_direction
        # raw-stream detectors (content rules) see the body bytes as the mirror would see
        # the stream's body: the HTTP head reaches them only as parsed fields, not as bytes
        self.stream = StreamState(_flow_info(self.flow), self.direction)
        head = []
        if request.req_head is not None:
            head.append(request.req_head)
            if self.direction == 1:  # the request's own body is not part of a RESPMOD
                head.append(BodyEnd(0))
        if request.res_head is not None:
            head.append(dataclasses.replace(request.res_head, tx=0))
        self.http.handle(head, self.ts)

    def body(self, data: bytes) -> None:
        if self.over_budget:
            return
        # what the HTTP session would keep of these bytes (past its cap it only counts them)
        keep = min(len(data), max(0, self.inspector.max_body - self.held))
        granted = self.inspector.reserve(keep) if keep else 0
        self.held += granted
        if granted < keep:  # the bodies of all open transactions together hit the budget
            self.over_budget = True
            data = data[:granted]
        if data:
            self.http.handle([BodyData(self.direction, data)], self.ts)
            self.inspector.inspect_bytes(self, data)

    def finish(self, truncated: bool = False) -> Verdict:
        try:
            return self.inspector.decide(self, truncated or self.over_budget)
        finally:
            self.inspector.release(self.held)
            self.held = 0
            # the session refers to us and we to it (its emit is our method): without this
            # cycle broken, every transaction's bodies would wait for the garbage collector
            self.http = None

    def abort(self) -> None:
        """The proxy went away: the bytes this transaction held are free again."""
        self.inspector.release(self.held)
        self.held = 0
        self.http = None

    def _collect(self, flow, tx) -> None:
        self.inspector.inspect_tx(self, tx)


class IcapInspector:
    """Long-lived: the rules, the detectors, the body memory budget and the EVE writer. Not
    thread-safe: every session runs on the server's one event loop."""

    def __init__(self, ruleset: RuleSet, eve_writer: eve.EveWriter):
        self.eve = eve_writer
        self.ruleset = ruleset
        self.http_settings = HttpSettings(max_body_bytes=ruleset.icap.max_body_bytes)
        self.dispatcher = DetectionDispatcher(ruleset.build_detectors(), self._on_finding,
                                              self.http_settings, on_unscanned=self._on_unscanned)
        self.counts = {"requests": 0, "blocked": 0, "allowed": 0, "alerts": 0, "unscanned": 0,
                       "over_memory_budget": 0}
        self.max_body = ruleset.icap.max_body_bytes
        self.budget = ruleset.icap.max_total_body_bytes  # body bytes kept by all open transactions
        self.held = 0
        self._current: Transaction | None = None

    def set_rules(self, ruleset: RuleSet) -> None:
        """A reload: new detectors and actions (body limits stay those of the start)."""
        self.dispatcher.set_detectors(ruleset.build_detectors())
        self.ruleset = ruleset

    def reserve(self, want: int) -> int:
        """Body bytes a transaction may keep now, out of the shared budget."""
        granted = min(want, max(0, self.budget - self.held))
        self.held += granted
        return granted

    def release(self, nbytes: int) -> None:
        self.held -= nbytes

    def wants_body(self, request: IcapRequest) -> bool:
        """Does any detector look at this kind of body? (RESPMOD bodies are downloads.)"""
        direction = request.body_direction
        return (direction in self.dispatcher.http_directions
                or bool(self.dispatcher.by_direction[direction]))

    def begin(self, request: IcapRequest) -> Transaction:
        self.counts["requests"] += 1
        return Transaction(self, request)

    def inspect_tx(self, txn: Transaction, tx) -> None:
        self._current = txn
        txn.flow.bytes[tx.direction] = tx.body_length
        try:
            self.dispatcher.inspect_transaction(txn.flow, tx)
        finally:
            self._current = None

    def inspect_bytes(self, txn: Transaction, data: bytes) -> None:
        """Body bytes for the raw-stream detectors (content rules), as they arrive."""
        self._current = txn
        try:
            self.dispatcher.inspect_stream(txn.flow, txn.stream, data, txn.ts)
        finally:
            self._current = None

    def _on_finding(self, flow, finding, item) -> None:
        self._current.found.append((finding, item))

    def _on_unscanned(self, flow, tx, limits: list[str]) -> None:
        self._current.unscanned.extend(limits)
        self.counts["unscanned"] += 1
        self.eve.write(_with_icap(eve.anomaly_event(flow, tx, limits), self._current, None), flush=True)

    def decide(self, txn: Transaction, truncated: bool) -> Verdict:
        if txn.over_budget:
            self._over_budget(txn)
        errors = sum(self.dispatcher.errors.values())
        txn.http.handle([BodyEnd(txn.direction, truncated)], txn.ts)
        failed = sum(self.dispatcher.errors.values()) > errors or truncated
        rules = self.ruleset
        blocking = [f for f, _ in txn.found if rules.action_for(f) == "block"]
        verdict = Verdict(bool(blocking), str(txn.flow.flow_id), findings=txn.found,
                          unscanned=txn.unscanned)
        if blocking:
            verdict.reason = ", ".join(sorted({f.signature.removeprefix("DLP ") for f in blocking}))
        elif rules.icap.fail_mode == "closed" and (failed or any(u in UNSCANNED or u == OVER_BUDGET
                                                                 for u in txn.unscanned)):
            verdict.block, verdict.reason = True, "content that could not be fully inspected"
        self.counts["blocked" if verdict.block else "allowed"] += 1
        for finding, item in txn.found:
            self.counts["alerts"] += 1
            txn.flow.alerted = True
            event = eve.alert_event(txn.flow, finding, txn.ts, item)
            self.eve.write(_with_icap(event, txn, verdict), flush=True)
        return verdict


    def _over_budget(self, txn: Transaction) -> None:
        """Part of this body was not kept: the memory for bodies was taken by others."""
        self.counts["over_memory_budget"] += 1
        txn.unscanned.append(OVER_BUDGET)
        event = {"timestamp": eve.timestamp(txn.ts), **eve.flow_fields(txn.flow, txn.direction),
                 "event_type": "anomaly",
                 "anomaly": {"type": "applayer", "event": OVER_BUDGET, "layer": "icap"},
                 "dlp": {"unscanned": [OVER_BUDGET], "kept_bytes": txn.held, "budget": self.budget}}
        self.eve.write(_with_icap(event, txn, None), flush=True)


def _with_icap(event: dict, txn: Transaction, verdict: Verdict | None) -> dict:
    """The proxy's view of the transaction, on alerts and anomaly events."""
    request = txn.request
    if verdict is not None and "alert" in event:
        event["alert"]["action"] = "blocked" if verdict.block else "allowed"
    icap = {"service": request.method.lower(), "incident_id": str(txn.flow.flow_id)}
    client = request.header("x-client-ip")
    if client:
        icap["client_ip"] = client
    user = request.header("x-authenticated-user")
    if user:
        icap["user"] = _user_name(user)
    event.setdefault("dlp", {})["icap"] = icap
    return event


def _user_name(value: str) -> str:
    """Squid sends X-Authenticated-User base64-encoded (RFC 3507 draft extension)."""
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value[:256]
    return text[:256] if text.isprintable() else value[:256]


def _address(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    return socket.inet_pton(socket.AF_INET if ip.version == 4 else socket.AF_INET6, str(ip))


def _server(request: IcapRequest) -> tuple[bytes, int]:
    """The origin server's address and port, from the request target or Host."""
    head = request.req_head
    fallback = _address(request.header("x-server-ip")) or _address(UNKNOWN_IP)
    if head is None:
        return fallback, 0
    target = head.target
    if "://" in target[:10]:
        authority = target.split("://", 1)[1].split("/", 1)[0]
    else:
        authority = dict(head.headers).get("host", "")
    try:
        parts = urlsplit("//" + authority)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        host, port = "", None
    https = target[:8].lower() == "https://" or head.method == "CONNECT"
    return _address(host) or fallback, port or (443 if https else 80)


def _flow_for(request: IcapRequest) -> Flow:
    client = _address(request.header("x-client-ip")) or _address(UNKNOWN_IP)
    server, port = _server(request)
    if len(client) != len(server):  # an IPv6 client to an unknown server: keep families equal
        server = bytes(len(client))
    ts = int(time.time() * 1_000_000)
    pkt = Packet(ts, 0, (), client, server, TCP, 0, port)
    flow = Flow((client, 0, server, port, TCP, ()), pkt, True)
    flow.flow_id = secrets.randbits(51)  # unique per transaction: the incident id
    return flow


def _flow_info(flow: Flow) -> FlowInfo:
    """What detectors see. Its flow id stands for "this client to this server": detectors
    keep per-flow tallies (e.g. distinct cards per connection), and a fresh id per ICAP
    transaction would make each a connection of its own and fill their tables."""
    pair = hashlib.blake2b(flow.cli + flow.srv + flow.sport.to_bytes(2, "big"), digest_size=8).digest()
    return FlowInfo(int.from_bytes(pair, "big") & ((1 << 51) - 1), "TCP", ip_text(flow.cli), flow.cport,
                    ip_text(flow.srv), flow.sport)
