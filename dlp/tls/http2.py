"""Sans-I/O HTTP/2 (RFC 9113) for inspection: the decrypted bytes of both directions in,
each finished stream out as HTTP/1.1 messages, so the HTTP/1 inspection path (transactions,
body decoders, detectors) handles HTTP/2 unchanged.

Only what inspection needs is interpreted: HEADERS/CONTINUATION (HPACK, via `hpack`), DATA
(padding removed), SETTINGS_HEADER_TABLE_SIZE and RST_STREAM; flow control, priorities and
pushes are ignored. Limits keep memory bounded: header blocks (MAX_HEADER_BLOCK), open
streams (MAX_STREAMS) and kept body bytes per stream (max_body). Bad input ends parsing of
that connection with a named event; it never raises.
"""

from __future__ import annotations

import struct
from collections import Counter

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x9
END_STREAM, END_HEADERS, PADDED, PRIORITY = 0x1, 0x4, 0x8, 0x20
MAX_HEADER_BLOCK = 256 * 1024
MAX_STREAMS = 1000
_SKIP_HEADERS = frozenset((b"content-length", b"transfer-encoding", b"connection", b"host"))


class _Stream:
    __slots__ = ("heads", "bodies", "ended", "lengths")

    def __init__(self):
        self.heads: list = [None, None]  # decoded header lists, per direction
        self.bodies = [bytearray(), bytearray()]
        self.lengths = [0, 0]  # body bytes seen (kept or not)
        self.ended = [False, False]


class Http2Translator:
    """feed(direction, data) -> [(direction, HTTP/1.1 bytes), ...] in an order the HTTP/1
    parser pairs correctly: a stream's request, then its response, when both have ended."""

    def __init__(self, max_body: int = 16 * 1024 * 1024):
        self.max_body = max_body
        self.buf = [bytearray(), bytearray()]
        self.preface = [len(PREFACE), 0]  # bytes still to skip per direction
        self.decoders = [hpack.Decoder(), hpack.Decoder()]
        self.streams: dict[int, _Stream] = {}
        self.block: dict[int, tuple[int, bytearray, int]] = {}  # direction -> (stream, bytes, flags)
        self.events: Counter = Counter()
        self.failed = False

    def feed(self, direction: int, data: bytes) -> list[tuple[int, bytes]]:
        if self.failed:
            return []
        buf = self.buf[direction]
        buf += data
        if self.preface[direction]:
            if len(buf) < self.preface[direction]:
                return []
            if direction == 0 and bytes(buf[:len(PREFACE)]) != PREFACE:
                return self._fail("http2.bad_preface")
            del buf[:self.preface[direction]]
            self.preface[direction] = 0
        out: list = []
        while len(buf) >= 9 and not self.failed:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, flags, stream_id = buf[3], buf[4], struct.unpack_from("!I", buf, 5)[0] & 0x7FFFFFFF
            payload = bytes(buf[9:9 + length])
            del buf[:9 + length]
            self._frame(direction, ftype, flags, stream_id, payload, out)
        return out

    def end(self) -> list[tuple[int, bytes]]:
        """The connection ended: streams that never finished are given as they are."""
        out: list = []
        for stream_id in list(self.streams):
            self._emit(stream_id, out, force=True)
        return out

    # -- frames -----------------------------------------------------------------------------
    def _frame(self, d: int, ftype: int, flags: int, stream_id: int, payload: bytes, out: list) -> None:
        if d in self.block and ftype != CONTINUATION:
            self._fail("http2.continuation_expected")
        elif ftype == DATA:
            self._data(d, flags, stream_id, payload, out)
        elif ftype in (HEADERS, CONTINUATION):
            self._headers(d, ftype, flags, stream_id, payload, out)
        elif ftype == SETTINGS and not flags & 0x1:
            for i in range(0, len(payload) - 5, 6):
                key, value = struct.unpack_from("!HI", payload, i)
                if key == 0x1:  # SETTINGS_HEADER_TABLE_SIZE: what the other side's encoder may use
                    self.decoders[1 - d].max_allowed_table_size = value
        elif ftype == RST_STREAM and stream_id in self.streams:
            self.events["http2.stream_reset"] += 1
            self._emit(stream_id, out, force=True)

    def _unpad(self, flags: int, payload: bytes, priority: bool) -> bytes | None:
        start, end = 0, len(payload)
        if flags & PADDED:
            if not payload:
                return None
            start, end = 1, len(payload) - payload[0]
        if priority and flags & PRIORITY:
            start += 5
        return payload[start:end] if start <= end else None

    def _data(self, d: int, flags: int, stream_id: int, payload: bytes, out: list) -> None:
        data = self._unpad(flags, payload, False)
        stream = self.streams.get(stream_id)
        if data is None or stream is None:
            self.events["http2.data_without_stream" if data is not None else "http2.bad_padding"] += 1
            return
        stream.lengths[d] += len(data)
        room = self.max_body - len(stream.bodies[d])
        if len(data) > room:
            self.events["http2.body_limit"] += 1
        stream.bodies[d] += data[:max(room, 0)]
        if flags & END_STREAM:
            stream.ended[d] = True
            self._emit(stream_id, out)

    def _headers(self, d: int, ftype: int, flags: int, stream_id: int, payload: bytes, out: list) -> None:
        if ftype == HEADERS:
            fragment = self._unpad(flags, payload, True)
            if fragment is None:
                self._fail("http2.bad_padding")
                return
            self.block[d] = (stream_id, bytearray(fragment), flags)
        else:
            if d not in self.block or self.block[d][0] != stream_id:
                self._fail("http2.unexpected_continuation")
                return
            self.block[d][1].extend(payload)
        sid, block, first_flags = self.block[d]
        if len(block) > MAX_HEADER_BLOCK:
            self._fail("http2.header_block_too_large")
        elif flags & END_HEADERS:
            del self.block[d]
            self._header_block(d, sid, bytes(block), first_flags & END_STREAM, out)

    def _header_block(self, d: int, stream_id: int, block: bytes, end_stream: int, out: list) -> None:
        try:
            headers = self.decoders[d].decode(block, raw=True)
        except (hpack.HPACKError, IndexError, ValueError, UnicodeDecodeError):
            self._fail("http2.hpack_error")
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            if len(self.streams) >= MAX_STREAMS:
                self.events["http2.too_many_streams"] += 1
                self._emit(next(iter(self.streams)), out, force=True)
            stream = self.streams[stream_id] = _Stream()
        status = _value(headers, b":status")
        if d == 1 and status is not None and status.startswith(b"1"):
            return  # 1xx: the final response follows
        if stream.heads[d] is None:
            stream.heads[d] = headers
        # else: trailers, not inspected
        if end_stream:
            stream.ended[d] = True
            self._emit(stream_id, out)

    def _emit(self, stream_id: int, out: list, force: bool = False) -> None:
        stream = self.streams[stream_id]
        if not force and not (stream.ended[0] and stream.ended[1]):
            return
        del self.streams[stream_id]
        for d in (0, 1):
            if stream.heads[d] is not None:
                out.append((d, _http1(d, stream.heads[d], bytes(stream.bodies[d]))))

    def _fail(self, name: str) -> list:
        self.events[name] += 1
        self.failed = True
        return []


def _value(headers: list, name: bytes) -> bytes | None:
    for n, v in headers:
        if n == name:
            return v
    return None


def _http1(direction: int, headers: list, body: bytes) -> bytes:
    """One HTTP/1.1 message with a Content-Length framing exactly the body we have."""
    if direction == 0:
        method = _clean(_value(headers, b":method") or b"GET", drop=b" \t")
        path = _clean(_value(headers, b":path") or b"/", space=b"%20")
        start = b"%s %s HTTP/1.1\r\n" % (method, path)
        authority = _value(headers, b":authority") or _value(headers, b"host")
        lines = [b"host: " + authority] if authority else []
    else:
        status = _value(headers, b":status") or b""
        start = b"HTTP/1.1 %s \r\n" % (status if len(status) == 3 and status.isdigit() else b"200")
        lines = []
    for name, value in headers:
        if not name.startswith(b":") and name not in _SKIP_HEADERS:
            lines.append(_clean(name, drop=b" \t:") + b": " + _clean(value))
    lines.append(b"content-length: %d" % len(body))
    return start + b"\r\n".join(lines) + b"\r\n\r\n" + body


def _clean(value: bytes, space: bytes = b" ", drop: bytes = b"") -> bytes:
    """No byte of a field may break the HTTP/1.1 framing it is translated into."""
    return value.translate(None, b"\r\n\0" + drop).replace(b" ", space)
