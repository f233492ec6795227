"""Lines, start lines, header fields and message framing for HTTP/1.x (RFC 9112).

Everything here is pure: bytes or header tuples in, values and anomaly names out. Leniency
follows what common servers and browsers accept, because a monitor that is stricter than the
endpoint misses what the endpoint sees; each leniency that matters is a named anomaly.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# A method is letters, '-' and '_' (GET, M-SEARCH, VERSION-CONTROL...); tighter than RFC
# tchar on purpose: it is what makes "not HTTP" decidable from the first bytes.
METHOD_MAX = 24
_REQUEST_LINE = re.compile(
    rb"([A-Za-z][A-Za-z_-]{0,%d})[ \t]+(.+?)[ \t]+([Hh][Tt][Tt][Pp]/1\.[0-9])[ \t]*" % (METHOD_MAX - 1),
    re.S)
_STATUS_LINE = re.compile(rb"([Hh][Tt][Tt][Pp]/1\.[0-9])[ \t]+([0-9]{3})(?:[ \t](.*))?", re.S)
_METHOD_PREFIX = re.compile(rb"[A-Za-z][A-Za-z_-]*")
# resynchronisation: a start line may follow junk on the same line (the rest of a body)
_RESYNC_REQUEST = re.compile(
    rb"(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE"
    rb"|LOCK|UNLOCK|REPORT|SEARCH|SUBSCRIBE|NOTIFY)[ \t]+.+?[ \t]+HTTP/1\.[0-9][ \t]*$", re.S)
_RESYNC_STATUS = re.compile(rb"HTTP/1\.[0-9] [0-9]{3}(?:[ \t]|$)")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_CONTROL = dict.fromkeys(range(0x20)) | {0x7F: None}

KNOWN_TRANSFER_CODINGS = frozenset(
    ("chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress", "identity", "br", "zstd"))

NONE, LENGTH, CHUNKED, CLOSE = "none", "length", "chunked", "close"


class LineReader:
    """Splits a byte stream into lines (LF or CRLF) across feeds, keeping at most `limit` bytes.

    take() returns (line, next position, too_long); line is None when the line is not complete
    yet (its bytes are kept). A line over the limit keeps its first `limit` bytes (or the last,
    with tail=True) and reports too_long, so memory is bounded and results do not depend on how
    the input was split.
    """

    __slots__ = ("buf", "over")

    def __init__(self):
        self.buf = bytearray()
        self.over = False

    def take(self, data: bytes, pos: int, limit: int, tail: bool = False):
        i = data.find(b"\n", pos)
        buf = self.buf
        if i < 0:
            if not self.over or tail:
                buf += data[pos:]
                if len(buf) > limit:
                    self.over = True
                    if tail:
                        del buf[:-limit]
                    else:
                        del buf[limit:]
            return None, len(data), False
        if buf or self.over:
            if not self.over or tail:
                buf += data[pos:i]
            too_long = self.over or len(buf) > limit
            line = bytes(buf[-limit:] if tail else buf[:limit])
            buf.clear()
            self.over = False
        else:
            line = data[pos:i]
            too_long = len(line) > limit
            if too_long:
                line = line[-limit:] if tail else line[:limit]
        if line[-1:] == b"\r":
            line = line[:-1]
        return line, i + 1, too_long

    def pending(self) -> bytes:
        return bytes(self.buf)

    def clear(self) -> None:
        self.buf.clear()
        self.over = False


# -- start lines -------------------------------------------------------------------------
def looks_like_request(prefix: bytes) -> bool | None:
    """Can these first bytes start a request line? None: too few bytes to say."""
    m = _METHOD_PREFIX.match(prefix)
    if m is None:
        return False
    end = m.end()
    if end == len(prefix):
        return None if end <= METHOD_MAX else False
    return end <= METHOD_MAX and prefix[end] in b" \t"


def looks_like_response(prefix: bytes) -> bool | None:
    head = prefix[:5].upper()
    if head != b"HTTP/"[:len(head)]:
        return False
    return True if len(head) == 5 else None


def parse_request_line(line: bytes):
    """-> (method, target, version) or None."""
    m = _REQUEST_LINE.fullmatch(line)
    if m is None:
        return None
    return (m.group(1).decode("latin-1"), m.group(2).decode("latin-1"),
            m.group(3).decode("latin-1").upper())


def parse_status_line(line: bytes):
    """-> (status, reason, version) or None."""
    m = _STATUS_LINE.fullmatch(line)
    if m is None:
        return None
    return (int(m.group(2)), (m.group(3) or b"").decode("latin-1").strip(" \t"),
            m.group(1).decode("latin-1").upper())


def find_start_line(line: bytes, direction: int) -> int:
    """Where a start line begins inside `line` (junk may precede it), or -1."""
    if direction == 0:
        if parse_request_line(line) is not None:
            return 0
        m = _RESYNC_REQUEST.search(line)
    else:
        if parse_status_line(line) is not None:
            return 0
        m = _RESYNC_STATUS.search(line)
    return -1 if m is None else m.start()


class Target(NamedTuple):
    form: str  # "origin", "absolute", "authority", "asterisk"
    scheme: str  # lower-cased, "" unless absolute form
    authority: str
    path: str


def parse_target(target: str, method: str = "GET") -> Target:
    """Split a request target (RFC 9112 3.2); the scheme of the absolute form is case-insensitive."""
    if target == "*":
        return Target("asterisk", "", "", "*")
    if method == "CONNECT":
        return Target("authority", "", target, "")
    if target.startswith("/"):
        return Target("origin", "", "", target)
    scheme, sep, rest = target.partition("://")
    if sep and _SCHEME.fullmatch(scheme):
        cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        path = rest[cut:] or "/"
        if path[0] != "/":
            path = "/" + path
        return Target("absolute", scheme.lower(), rest[:cut], path)
    return Target("origin", "", "", target)


# -- header fields -----------------------------------------------------------------------
def parse_header_line(line: bytes):
    """-> (name, value, anomaly name or "") or None for a line that is no field at all."""
    colon = line.find(b":")
    if colon <= 0:
        return None
    raw = line[:colon]
    name = raw.strip(b" \t")
    if not name:
        return None
    bad = "http.header_name_whitespace" if len(name) != len(raw) or b" " in name or b"\t" in name else ""
    return name.decode("latin-1").lower(), line[colon + 1:].strip(b" \t").decode("latin-1"), bad


def _codings(headers, name: str) -> tuple[list[str], bool]:
    out, junk = [], False
    for n, v in headers:
        if n != name:
            continue
        for part in v.split(","):
            part = part.strip(" \t")
            clean = part.translate(_CONTROL)
            junk |= len(clean) != len(part)
            coding = clean.split(";", 1)[0].strip(" ").lower()
            if coding:
                out.append(coding)
    return out, junk


def transfer_codings(headers) -> list[str]:
    """Transfer codings in the order applied, lower-cased, parameters and control bytes removed."""
    return _codings(headers, "transfer-encoding")[0]


def content_codings(headers) -> list[str]:
    """Content codings in the order applied (Content-Encoding), lower-cased."""
    return _codings(headers, "content-encoding")[0]


def has_header(headers, name: str) -> bool:
    return any(n == name for n, _ in headers)


class Framing(NamedTuple):
    kind: str  # NONE, LENGTH, CHUNKED, CLOSE
    length: int
    anomalies: tuple  # ((name, detail), ...)


_NO_LENGTH_REQUEST = Framing(NONE, 0, ())
_NO_LENGTH_RESPONSE = Framing(CLOSE, 0, ())


def framing(headers, request: bool) -> Framing:
    """How the body of a message with these headers is delimited (RFC 9112 6.3).

    The caller handles what depends on the request (HEAD, CONNECT) and status (1xx, 204, 304).
    """
    te_values, cl_values = [], []
    for n, v in headers:
        if n == "content-length":
            cl_values.append(v)
        elif n == "transfer-encoding":
            te_values.append(v)
    if not te_values:  # the common cases, quickly
        if not cl_values:
            return _NO_LENGTH_REQUEST if request else _NO_LENGTH_RESPONSE
        if len(cl_values) == 1 and _CONTENT_LENGTH.fullmatch(cl_values[0]):
            return Framing(LENGTH, int(cl_values[0]), ())
    anomalies = []
    te_present = bool(te_values)
    codings, junk = _codings(headers, "transfer-encoding")
    lengths, invalid = [], []
    for v in cl_values:
        for part in v.split(","):
            part = part.strip(" \t")
            (lengths if _CONTENT_LENGTH.fullmatch(part) else invalid).append(part)
    if junk:
        anomalies.append(("http.transfer_encoding_junk", ""))
    effective = [c for c in codings if c != "identity"]
    for c in codings:
        if c not in KNOWN_TRANSFER_CODINGS:
            anomalies.append(("http.unknown_transfer_encoding", c[:64]))
    if te_present and not codings:
        anomalies.append(("http.unknown_transfer_encoding", "empty"))
    if effective:
        chunked = effective[-1] == "chunked"
        if lengths or invalid:
            anomalies.append(("http.content_length_and_chunked" if chunked
                              else "http.content_length_and_transfer_encoding", ""))
        if chunked:
            return Framing(CHUNKED, 0, tuple(anomalies))
        if "chunked" in effective:
            anomalies.append(("http.chunked_not_final", ",".join(codings)[:64]))
        if request:
            anomalies.append(("http.request_length_unknown", ",".join(codings)[:64]))
        return Framing(CLOSE, 0, tuple(anomalies))
    if invalid:
        anomalies.append(("http.invalid_content_length", ",".join(invalid)[:64]))
    values = {int(v) for v in lengths}
    if len(values) > 1:
        # Policy: the largest. Bytes an endpoint may take as body are then inspected as body;
        # the raw-stream detectors see everything anyway.
        anomalies.append(("http.duplicate_content_length", ",".join(map(str, sorted(values)))))
    if values:
        return Framing(LENGTH, max(values), tuple(anomalies))
    return Framing(NONE if request else CLOSE, 0, tuple(anomalies))
