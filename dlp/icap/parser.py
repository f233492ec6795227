"""Sans-I/O ICAP request parser: the bytes of one proxy connection in, events out.

States, one request after another on a kept-alive connection:

    HEAD     ICAP request line and header fields, up to the empty line
    ENCAP    the encapsulated HTTP heads (`Encapsulated` gives their length)
    BODY     the chunked body (HTTP chunked framing, `0; ieof` ends a preview for good)
    WAIT     a preview ended without ieof: the server says continue_body() or skip_body()
    FAILED   unparseable input: IcapError was emitted, the connection must be closed

Events: IcapRequest, BodyData (de-chunked, still content-encoded), PreviewEnd, MessageEnd,
IcapError. Memory is bounded by the head limits; body bytes are handed out as they arrive.
"""

from __future__ import annotations

import re

from dlp.app.http.body import ChunkedBody
from dlp.app.http.headers import LineReader, parse_header_line
from dlp.app.http.state import HttpLimits
from dlp.icap.encapsulated import (EncapsulatedError, head_length, parse_encapsulated, read_head,
                                   split_heads)
from dlp.icap.events import IcapError, IcapRequest, MessageEnd, PreviewEnd

HEAD, ENCAP, BODY, WAIT, FAILED = range(5)
METHODS = ("OPTIONS", "REQMOD", "RESPMOD")
_REQUEST_LINE = re.compile(rb"([A-Z]{1,16}) +(\S{1,8192}) +ICAP/(1\.[0-9]) *")
_METHOD_PREFIX = re.compile(rb"[A-Z]{0,16}(?: |$)")
_IEOF = re.compile(rb"\s*0+\s*;\s*ieof\s*$", re.I)


class _IcapChunkedBody(ChunkedBody):
    """HTTP chunked framing plus ICAP's `0; ieof` (the preview holds the whole body)."""

    __slots__ = ("ieof",)

    def __init__(self, direction: int, limits: HttpLimits):
        super().__init__(direction, limits)
        self.ieof = False

    def _size_line(self, line: bytes, too_long: bool, out: list) -> None:
        if _IEOF.match(line):
            self.ieof = True
            line = b"0"  # ieof is ICAP's own extension, not an HTTP anomaly
        super()._size_line(line, too_long, out)


class IcapParser:
    def __init__(self, limits: HttpLimits = HttpLimits()):
        self.limits = limits
        self.state = HEAD
        self._lines = LineReader()
        self._start: tuple[str, str] | None = None
        self._fields: list[tuple[str, str]] = []
        self._size = 0
        self._request: IcapRequest | None = None
        self._sections: list[tuple[str, int]] = []
        self._encap = bytearray()
        self._body: _IcapChunkedBody | None = None
        self._in_preview = False
        self._held = bytearray()  # bytes that came while we decided on a preview

    # -- the server's side of the preview exchange ------------------------------------
    def continue_body(self) -> list:
        """After "100 Continue": the rest of the body follows as new chunks. Returns the
        events of bytes the proxy sent early (held while we decided)."""
        if self.state != WAIT:
            return []
        self._in_preview = False
        self._body = _IcapChunkedBody(self._direction(), self.limits)
        self.state = BODY
        return self._release()

    def skip_body(self) -> list:
        """We answered after the preview: the proxy sends no more of this body. Returns the
        events of bytes already sent (the next request)."""
        if self.state != WAIT:
            return []
        self._reset()
        return self._release()

    # -- input ----------------------------------------------------------------------------
    def feed(self, data: bytes) -> list:
        if self.state == WAIT:
            return self._hold(data)
        out: list = []
        pos, n = 0, len(data)
        while pos < n and self.state not in (WAIT, FAILED):
            if self.state == HEAD:
                pos = self._head(data, pos, out)
            elif self.state == ENCAP:
                pos = self._encapsulated(data, pos, out)
            else:
                pos = self._body_data(data, pos, out)
        if pos < n and self.state == WAIT:  # sent before our answer: kept until we decide
            out += self._hold(data[pos:])
        return out

    def _hold(self, data: bytes) -> list:
        self._held += data
        if len(self._held) > self.limits.max_hold:
            out: list = []
            self._fail(out, 400, "too much data sent before 100 Continue")
            return out
        return []

    def _release(self) -> list:
        held, self._held = bytes(self._held), bytearray()
        return self.feed(held) if held else []

    def _head(self, data: bytes, pos: int, out: list) -> int:
        line, pos, too_long = self._lines.take(data, pos, self.limits.max_line)
        if line is None:
            if self._start is None and not _METHOD_PREFIX.match(self._lines.pending().lstrip(b"\r\n")):
                self._fail(out, 400, "not an ICAP request")  # TLS, binary: no need to wait for a line
            return pos
        self._size += len(line) + 2
        if too_long or self._size > self.limits.max_header_bytes:
            self._fail(out, 400, "ICAP head too large")
        elif self._start is None:
            if line:  # empty lines between requests are tolerated
                self._start_line(line, out)
        elif line:
            field = parse_header_line(line)
            if field is None or len(self._fields) >= self.limits.max_headers:
                self._fail(out, 400, "bad ICAP header field")
            else:
                self._fields.append(field[:2])
        else:
            self._head_done(out)
        return pos

    def _start_line(self, line: bytes, out: list) -> None:
        m = _REQUEST_LINE.fullmatch(line)
        if m is None:
            self._fail(out, 400, "not an ICAP request line")
        elif m.group(1).decode() not in METHODS:
            self._fail(out, 405, f"method {m.group(1).decode()[:16]} not allowed")
        else:
            self._start = (m.group(1).decode(), m.group(2).decode("latin-1"))

    def _head_done(self, out: list) -> None:
        headers = tuple(self._fields)
        try:
            sections, body = parse_encapsulated(dict(headers).get("encapsulated"))
        except EncapsulatedError as exc:
            self._fail(out, 400, str(exc))
            return
        preview = dict(headers).get("preview")
        if preview is not None and not preview.strip().isdigit():
            self._fail(out, 400, "bad Preview header")
            return
        method, uri = self._start
        if method != "OPTIONS" and not any(name != "body" for name, _ in sections):
            self._fail(out, 400, f"{method} without an encapsulated HTTP head")
            return
        if head_length(sections) > self.limits.max_header_bytes * 2:
            self._fail(out, 400, "encapsulated heads too large")
            return
        self._request = IcapRequest(method, uri, headers, has_body=body in ("req-body", "res-body"),
                                    preview=int(preview) if preview is not None else None)
        self._sections = sections
        self.state = ENCAP
        if head_length(sections) == 0:
            self._encapsulated(b"", 0, out)

    def _encapsulated(self, data: bytes, pos: int, out: list) -> int:
        need = head_length(self._sections) - len(self._encap)
        self._encap += data[pos:pos + need]
        pos += min(need, len(data) - pos)
        if len(self._encap) < head_length(self._sections):
            return pos
        try:
            request = self._with_heads(split_heads(self._sections, bytes(self._encap)))
        except EncapsulatedError as exc:
            self._fail(out, 400, str(exc))
            return pos
        out.append(request)
        self._request = request
        if request.has_body:
            self._in_preview = request.preview is not None
            self._body = _IcapChunkedBody(self._direction(), self.limits)
            self.state = BODY
        else:
            out.append(MessageEnd())
            self._reset()
        return pos

    def _with_heads(self, heads: dict[str, bytes]) -> IcapRequest:
        r = self._request
        req = read_head(heads["req-hdr"], 0, self.limits) if "req-hdr" in heads else None
        res = read_head(heads["res-hdr"], 1, self.limits) if "res-hdr" in heads else None
        if r.method == "RESPMOD" and res is None and r.has_body:
            raise EncapsulatedError("RESPMOD body without a res-hdr")
        raw = heads.get("res-hdr" if r.method == "RESPMOD" else "req-hdr", b"")
        return IcapRequest(r.method, r.uri, r.headers, req, res, raw, r.has_body, r.preview)

    def _body_data(self, data: bytes, pos: int, out: list) -> int:
        body = self._body
        pos = body.data(data, pos, out)
        if body.done:
            if body.lost or body.abandon:
                self._fail(out, 400, "bad chunked body")
            elif self._in_preview and not body.ieof:
                out.append(PreviewEnd(False))
                self.state = WAIT
            else:
                if self._in_preview:
                    out.append(PreviewEnd(True))
                out.append(MessageEnd())
                self._reset()
        return pos

    def _direction(self) -> int:
        return self._request.body_direction

    def _reset(self) -> None:
        self.state = HEAD
        self._start = None
        self._fields = []
        self._size = 0
        self._request = None
        self._sections = []
        self._encap = bytearray()
        self._body = None
        self._in_preview = False

    def _fail(self, out: list, status: int, reason: str) -> None:
        self.state = FAILED
        out.append(IcapError(status, reason))
