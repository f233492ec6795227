"""HTTP inspection of one TCP connection: parser events -> transactions -> detectors.

The sans-I/O parser (dlp/app/http) turns the connection's in-order bytes into heads, body
bytes and body ends; this module pairs requests with responses, keeps each body (up to
`max_body_bytes`; past that the body is inspected truncated and the limit is an event),
decodes it (dlp/bodies) and hands an `HttpTransaction` per body to the detectors:
uploads (request bodies, direction 0) as soon as they end, downloads (response bodies,
direction 1) with their request's method, URL and host.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import FlowInfo, HttpTransaction
from dlp.app.http.events import Anomaly, BodyData, BodyEnd, RequestHead, ResponseHead
from dlp.app.http.parser import HttpConnectionParser, HttpLimits, content_codings
from dlp.bodies import BodyLimits, decode_body

MAX_PENDING_REQUESTS = 64  # pipelined requests awaiting responses, per connection


@dataclass(frozen=True)
class HttpSettings:
    max_body_bytes: int = 16 * 1024 * 1024  # kept per body for decoding and detection
    parser: HttpLimits = HttpLimits()
    bodies: BodyLimits = BodyLimits()


class _Body:
    """One message body as it arrives: kept up to a cap, its full length counted."""

    __slots__ = ("data", "length", "truncated", "anomalies")

    def __init__(self):
        self.data = bytearray()
        self.length = 0
        self.truncated = False  # the cap (or a gap) cut it
        self.anomalies: list[str] = []

    def add(self, data: bytes, cap: int) -> bool:
        """Append; True the first time the cap is exceeded."""
        self.length += len(data)
        room = cap - len(self.data)
        if room > 0:
            self.data += data[:room]
        if len(data) > room and not self.truncated:
            self.truncated = True
            self.anomalies.append("http.body_limit")
            return True
        return False


_SPENT = _Body()  # stands in for a body already inspected; never added to


class _Request:
    __slots__ = ("head", "host", "body")

    def __init__(self, head: RequestHead):
        self.head = head
        self.host = _host(head)
        self.body = _Body()


class HttpConnection:
    """Per-connection HTTP state. `emit(owner, tx)` receives each finished transaction
    (`owner` is whatever the caller passed: the flow, for the dispatcher)."""

    __slots__ = ("parser", "settings", "info", "emit", "events", "pending", "current", "response",
                 "response_body", "done",
                 "keep", "owner")

    def __init__(self, info: FlowInfo, settings: HttpSettings, emit, events, midstream: bool = False,
                 directions: frozenset = frozenset((0, 1)), owner=None):
        # picked up mid-connection: the parser looks for the next message start
        self.keep = (0 in directions, 1 in directions)  # bodies worth keeping, per direction
        self.parser = HttpConnectionParser(settings.parser, midstream=midstream, bodies=self.keep)
        self.settings = settings
        self.info = info
        self.emit = emit
        self.owner = owner
        self.events = events  # Counter shared with the pipeline's stats
        self.pending: dict[int, _Request] = {}  # tx number -> awaiting response (oldest first)
        self.current: _Request | None = None  # request whose body is being received
        self.response: tuple[ResponseHead, _Request | None] | None = None
        self.response_body: _Body | None = None  # made when a response head arrives
        self.done = False

    # -- input from the stream ----------------------------------------------------------
    def data(self, direction: int, data: bytes, ts: int) -> None:
        if not self.done:
            self._handle(self.parser.feed(direction, data), ts)

    def gap(self, direction: int, length: int, ts: int) -> None:
        if not self.done:
            self._handle(self.parser.gap(direction, length), ts)

    def end(self, ts: int) -> None:
        if not self.done:
            self._handle(self.parser.end(0) + self.parser.end(1), ts)

    # -- parser events ------------------------------------------------------------------
    def _handle(self, events: list, ts: int) -> None:
        for ev in events:
            kind = type(ev)
            if kind is BodyData:
                self._body(ev)
            elif kind is RequestHead:
                self.current = _Request(ev)
                self.pending[ev.tx] = self.current
                if len(self.pending) > MAX_PENDING_REQUESTS:
                    del self.pending[next(iter(self.pending))]
                    self.events["http.too_many_pending_requests"] += 1
            elif kind is ResponseHead:
                if not ev.interim:  # the parser numbers requests; a response names its own
                    self.response = (ev, self.pending.pop(ev.tx, None))
                    self.response_body = _Body()
            elif kind is BodyEnd:
                self._body_end(ev, ts)
            elif kind is Anomaly:
                self.events[ev.name] += 1
                self._note(ev)
        if self.parser.done:  # not HTTP, a tunnel, or both sides ended: nothing more to parse
            self.done = True

    def _note(self, ev: Anomaly) -> None:
        if ev.direction == 0 and self.current is not None and self.current.body is not _SPENT:
            self.current.body.anomalies.append(ev.name)
        elif ev.direction == 1 and self.response_body is not None:
            self.response_body.anomalies.append(ev.name)

    def _body(self, ev: BodyData) -> None:
        if not self.keep[ev.direction]:
            return
        body = self.response_body if ev.direction else (self.current.body if self.current else None)
        if body is not None and body is not _SPENT and body.add(ev.data, self.settings.max_body_bytes):
            self.events["http.body_limit"] += 1

    def _body_end(self, ev: BodyEnd, ts: int) -> None:
        if ev.direction == 0:
            req = self.current
            if req is None:
                return
            if req.body.length:
                self.emit(self.owner, self._transaction(0, req, None, req.body, ev.truncated, ts))
            req.body = _SPENT  # the response may come much later: keep only the head
        elif self.response is not None:
            head, req = self.response
            if self.response_body.length:
                self.emit(self.owner, self._transaction(1, req, head, self.response_body, ev.truncated, ts))
            self.response = None
            self.response_body = None

    def _transaction(self, direction: int, req: _Request | None, resp: ResponseHead | None,
                     body: _Body, cut_by_gap: bool, ts: int) -> HttpTransaction:
        req_headers = req.head.headers if req else ()
        resp_headers = resp.headers if resp else ()
        headers = dict(req_headers if direction == 0 else resp_headers)
        content_type = headers.get("content-type")
        decoded = decode_body(bytes(body.data), content_type, content_codings(req_headers if direction == 0 else resp_headers),
                              self.settings.bodies, filename=_filename(headers))
        for event in decoded.events:
            self.events[event.name] += 1
        return HttpTransaction(
            flow=self.info, direction=direction, method=req.head.method if req else "",
            uri=req.head.target if req else "", host=req.host if req else "",
            status=resp.status if resp else None, request_headers=req_headers,
            response_headers=resp_headers, content_type=content_type, parts=tuple(decoded.parts),
            ts=ts, body_length=body.length, truncated=body.truncated or cut_by_gap,
            anomalies=tuple(body.anomalies) + tuple(e.name for e in decoded.events),
        )


def _host(head: RequestHead) -> str:
    """Host from an absolute-form target (forward proxies) or the Host header."""
    target = head.target
    authority = ""
    if "://" in target[:10]:
        authority = target.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    else:
        for name, value in head.headers:
            if name == "host":
                authority = value.strip()
                break
    authority = authority.lower()
    if authority.startswith("["):  # IPv6 literal, as Suricata writes it: "[::1]"
        return authority.split("]", 1)[0] + "]"
    return authority.split(":", 1)[0]


def _filename(headers: dict) -> str | None:
    disposition = headers.get("content-disposition", "")
    if "filename=" in disposition:
        return disposition.split("filename=", 1)[1].split(";")[0].strip().strip('"') or None
    return None
