"""Reading a message head (start line + header fields) and finding the next one after a loss.

Both readers are fed in-order bytes, keep at most a line's worth of them, and report a result
the connection parser acts on; neither knows about pairing or the other direction.
"""

from __future__ import annotations

import re

from dlp.app.http.events import Anomaly
from dlp.app.http.headers import (METHOD_MAX, LineReader, find_start_line, looks_like_request,
                                  looks_like_response, parse_header_line, parse_request_line,
                                  parse_status_line)

# HeadReader.result
HEAD_DONE = "head"  # start, fields and notes are ready
NOT_HTTP = "not_http"  # (probing only) these bytes cannot start an HTTP message
BAD_START = "bad_start"  # invalid start line: emit `notes`, then resync (from `rest` if found)

# Fast path: a whole, plain header block (token names, no folding, no stray CR) in one piece
# gives exactly what the line-by-line path would, in one regex pass.
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PLAIN_BLOCK = re.compile(rb"((?:" + _TOKEN + rb":[^\r\n]*\r?\n)*)\r?\n")
_PLAIN_FIELD = re.compile(rb"(" + _TOKEN + rb"):([^\r\n]*)\r?\n")


def parse_start(line: bytes, direction: int):
    return parse_request_line(line) if direction == 0 else parse_status_line(line)


class HeadReader:
    """One head. With `probe`, bytes that cannot start a message give NOT_HTTP at once: the
    check needs only the first few bytes, so a TLS or SSH stream is rejected in one call."""

    __slots__ = ("d", "limits", "probe", "lines", "start", "fields", "notes", "size", "too_many",
                 "result", "rest")

    def __init__(self, d: int, limits, probe: bool, start=None, size: int = 0):
        self.d = d
        self.limits = limits
        self.probe = probe
        self.lines = LineReader()
        self.start = start  # parsed start line, given when found by a Resync
        self.fields: list = []
        self.notes: list = []  # anomalies about this head (after it) or its start line (BAD_START)
        self.size = size
        self.too_many = False
        self.result: str | None = None
        self.rest: bytes | None = None

    def data(self, data: bytes, pos: int) -> int:
        n = len(data)
        limits = self.limits
        while pos < n:
            if self.start is not None and not self.fields and not self.notes and not self.lines.buf:
                end = self._plain_block(data, pos)
                if end:
                    return end
            line, pos, too_long = self.lines.take(data, pos, limits.max_line)
            if line is None:
                if self.start is None and self.probe and not self._looks_like(self.lines.pending()):
                    self.result = NOT_HTTP
                return pos
            if self.start is None:
                self._start_line(line, too_long)
                if self.result:
                    return pos
            elif not line:
                self.result = HEAD_DONE
                return pos
            else:
                self._field(line, too_long)
        return pos

    def _plain_block(self, data: bytes, pos: int) -> int:
        m = _PLAIN_BLOCK.match(data, pos)
        if m is None:
            return 0
        block = m.group(1)
        fields = _PLAIN_FIELD.findall(block)
        limits = self.limits
        # only when no limit can be reached; otherwise the exact line-by-line path decides
        if (len(block) > limits.max_line or len(fields) > limits.max_headers
                or self.size + len(block) + len(fields) > limits.max_header_bytes):
            return 0
        self.fields = [(name.decode("latin-1").lower(), value.decode("latin-1").strip(" \t"))
                       for name, value in fields]
        self.result = HEAD_DONE
        return m.end()

    def _looks_like(self, prefix: bytes) -> bool:
        looks = looks_like_request if self.d == 0 else looks_like_response
        return looks(prefix[:METHOD_MAX + 1]) is not False

    def _start_line(self, line: bytes, too_long: bool) -> None:
        if self.probe and not self._looks_like(line):
            self.result = NOT_HTTP
            return
        if too_long:
            self.notes.append(Anomaly(self.d, "http.header_line_too_long", "start line"))
            self.result = BAD_START
            return
        self.start = parse_start(line, self.d)
        if self.start is not None:
            self.size = len(line)
            return
        if self.probe:  # a whole first line that is no start line
            self.result = NOT_HTTP
            return
        name = "http.request_line_invalid" if self.d == 0 else "http.response_line_invalid"
        self.notes.append(Anomaly(self.d, name, line[:64].decode("latin-1")))
        self.result = BAD_START
        i = find_start_line(line, self.d)
        if i > 0:
            self.rest = line[i:]

    def _field(self, line: bytes, too_long: bool) -> None:
        limits = self.limits
        self.size += len(line) + 2
        if too_long:
            self.notes.append(Anomaly(self.d, "http.header_line_too_long", line[:64].decode("latin-1")))
            return
        if self.too_many:
            return
        fields = self.fields
        if len(fields) >= limits.max_headers or self.size > limits.max_header_bytes:
            # the server would answer 431; reading on to the end of the head keeps framing
            self.too_many = True
            self.notes.append(Anomaly(self.d, "http.too_many_headers"))
            return
        if line[0] in b" \t":  # obsolete line folding: continues the previous value
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, (value + " " + line.strip(b" \t").decode("latin-1")).strip(" "))
                self._note("http.obs_fold", name)
            else:
                self._note("http.invalid_header_line", line[:64].decode("latin-1"))
            return
        field = parse_header_line(line)
        if field is None:
            self._note("http.invalid_header_line", line[:64].decode("latin-1"))
            return
        name, value, bad = field
        if bad:
            self._note(bad, name)
        fields.append((name, value))

    def _note(self, name: str, detail: str) -> None:
        if all(a.name != name for a in self.notes):  # once per head
            self.notes.append(Anomaly(self.d, name, detail))


class Resync:
    """Looks for the next start line after lost bytes, line by line (a start line may follow
    the tail of a lost body on the same line), within `max_resync` bytes."""

    __slots__ = ("d", "limits", "lines", "count", "after_gap", "found", "failed")

    def __init__(self, d: int, limits, after_gap: bool):
        self.d = d
        self.limits = limits
        self.lines = LineReader()
        self.count = 0
        self.after_gap = after_gap
        self.found: tuple | None = None  # (parsed start line, its length)
        self.failed = False

    def data(self, data: bytes, pos: int) -> int:
        n = len(data)
        limits = self.limits
        while pos < n:
            line, new, _ = self.lines.take(data, pos, limits.max_line, tail=True)
            self.count += new - pos
            pos = new
            if line is None:
                return pos
            i = find_start_line(line, self.d)
            if i >= 0:
                start = parse_start(line[i:], self.d)
                if start is not None:
                    self.found = (start, len(line) - i)
                    return pos
            if self.count > limits.max_resync:  # decided at line ends: split-independent
                self.failed = True
                return pos
        return pos
