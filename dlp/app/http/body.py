"""Message body framing: Content-Length, chunked and close-delimited bodies.

One reader per message body. Body bytes are handed out as BodyData as they arrive, never
accumulated. Each reader has the same small interface:

* data(data, pos, out) -> pos   consume what belongs to the body; `done` says it ended
* gap(length, out) -> leftover  bytes are missing; returns how many of them lie beyond the end
                                of the body (then `done`); `lost` when framing cannot go on
* end(out)                      the direction ended

`truncated` is set when a gap fell inside the body or it ended early; `lost` when the reader
no longer knows where the body ends (the parser then resynchronises on the next message start);
`abandon` when the direction should no longer be parsed at all (endless chunking).
"""

from __future__ import annotations

import re

from dlp.app.http.events import Anomaly, BodyData
from dlp.app.http.headers import LineReader, parse_header_line

_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]+)")
MAX_CHUNK_SIZE = 1 << 62


class _Body:
    __slots__ = ("d", "done", "truncated", "lost", "abandon", "trailers", "gapped", "quiet")

    def __init__(self, d: int):
        self.d = d
        self.done = self.truncated = self.lost = self.abandon = self.gapped = False
        self.quiet = False  # framed but not delivered: nobody inspects this direction's bodies
        self.trailers: tuple = ()

    def _gap_inside(self, out: list) -> None:
        self.truncated = True
        if not self.gapped:  # once per body: one gap or a thousand, the body is truncated
            self.gapped = True
            out.append(Anomaly(self.d, "http.body_truncated_by_gap"))

    def end(self, out: list) -> None:
        self.done = True


class LengthBody(_Body):
    __slots__ = ("remaining",)

    def __init__(self, d: int, length: int):
        super().__init__(d)
        self.remaining = length

    def data(self, data: bytes, pos: int, out: list) -> int:
        take = min(self.remaining, len(data) - pos)
        if not self.quiet:
            out.append(BodyData(self.d, data[pos:pos + take]))
        self.remaining -= take
        self.done = not self.remaining
        return pos + take

    def gap(self, length: int, out: list) -> int:
        self._gap_inside(out)
        if length < self.remaining:
            self.remaining -= length
            return 0
        self.done = True
        return length - self.remaining

    def end(self, out: list) -> None:
        self.done = True
        self.truncated = True
        out.append(Anomaly(self.d, "http.eof_in_body", f"{self.remaining} bytes missing"))


class CloseBody(_Body):
    """Read until the direction ends (responses without length; requests with a TE we cannot
    frame, which the server would refuse - their bytes are still inspected as body)."""

    __slots__ = ()

    def data(self, data: bytes, pos: int, out: list) -> int:
        if not self.quiet:
            out.append(BodyData(self.d, data[pos:] if pos else data))
        return len(data)

    def gap(self, length: int, out: list) -> int:
        self._gap_inside(out)
        return 0


SIZE, DATA, DATA_END, DATA_END_CR, TRAILERS = range(5)


class ChunkedBody(_Body):
    __slots__ = ("state", "remaining", "chunks", "ext", "lines", "limits", "fields", "too_many")

    def __init__(self, d: int, limits):
        super().__init__(d)
        self.state = SIZE
        self.remaining = 0
        self.chunks = 0
        self.ext = False
        self.lines = LineReader()
        self.limits = limits
        self.fields: list = []
        self.too_many = False

    def data(self, data: bytes, pos: int, out: list) -> int:
        n = len(data)
        d = self.d
        while pos < n and not self.done:
            st = self.state
            if st == DATA:
                take = min(self.remaining, n - pos)
                if not self.quiet:
                    out.append(BodyData(d, data[pos:pos + take]))
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.state = DATA_END
            elif st == SIZE:
                line, pos, too_long = self.lines.take(data, pos, self.limits.max_chunk_line)
                if line is not None:
                    self._size_line(line, too_long, out)
            elif st == DATA_END:  # CRLF after chunk data; LF alone or nothing is tolerated
                c = data[pos]
                if c == 0x0A:
                    pos += 1
                    self.state = SIZE
                elif c == 0x0D:
                    pos += 1
                    self.state = DATA_END_CR
                else:
                    out.append(Anomaly(d, "http.chunk_missing_crlf"))
                    self.state = SIZE
            elif st == DATA_END_CR:
                if data[pos] == 0x0A:
                    pos += 1
                self.state = SIZE
            else:
                line, pos, too_long = self.lines.take(data, pos, self.limits.max_line)
                if line is not None:
                    self._trailer_line(line, too_long, out)
        return pos

    def _size_line(self, line: bytes, too_long: bool, out: list) -> None:
        m = _CHUNK_SIZE.match(line)
        size = int(m.group(1), 16) if m and len(m.group(1)) <= 64 else -1
        if size < 0 or size > MAX_CHUNK_SIZE:
            out.append(Anomaly(self.d, "http.invalid_chunk_size", line[:32].decode("latin-1")))
            self.done = self.truncated = self.lost = True
            return
        if too_long:
            out.append(Anomaly(self.d, "http.chunk_line_too_long"))
        rest = line[m.end():].strip(b" \t")
        if rest and not self.ext:  # once per body: junk extensions are often on every chunk
            self.ext = True
            out.append(Anomaly(self.d, "http.chunk_extension", rest[:64].decode("latin-1")))
        if size == 0:  # last chunk, however written (`0`, `00`, `0;ext`)
            self.state = TRAILERS
            return
        self.chunks += 1
        if self.chunks > self.limits.max_chunks:
            out.append(Anomaly(self.d, "http.endless_chunking", f"over {self.limits.max_chunks} chunks"))
            self.done = self.truncated = self.abandon = True
            return
        self.remaining = size
        self.state = DATA

    def _trailer_line(self, line: bytes, too_long: bool, out: list) -> None:
        if not line:
            self.trailers = tuple(self.fields)
            self.done = True
            return
        if too_long:
            out.append(Anomaly(self.d, "http.header_line_too_long", "trailer"))
            return
        field = parse_header_line(line)
        if field is None:
            out.append(Anomaly(self.d, "http.invalid_header_line", "trailer"))
        elif len(self.fields) < self.limits.max_headers:
            self.fields.append(field[:2])
        elif not self.too_many:
            self.too_many = True
            out.append(Anomaly(self.d, "http.too_many_headers", "trailer"))

    def gap(self, length: int, out: list) -> int:
        self._gap_inside(out)
        if self.state == DATA and length <= self.remaining:  # framing survives
            self.remaining -= length
            if not self.remaining:
                self.state = DATA_END
            return 0
        # the gap hides a chunk-size line: where the body ends is unknown
        self.done = self.lost = True
        return 0

    def end(self, out: list) -> None:
        self.done = True
        self.trailers = tuple(self.fields)
        if self.state == TRAILERS and not self.lines.pending():
            return  # `0\r\n` then close: complete, a missing final CRLF is harmless
        self.truncated = True
        out.append(Anomaly(self.d, "http.eof_in_body", "chunked"))
