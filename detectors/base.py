"""The one interface every detector implements, and the data it is given and returns.

A detector is a small class: a `name`, a frozen `Params` dataclass (validated by
dlp.rules from the rules file), `applies(item)` and `inspect(item) -> findings`. Items are
stream chunks (in-order bytes of one direction of a TCP connection, or one datagram) and,
from the app-layer parsers, transactions. Detectors never see packets or segments.

Per-stream memory (e.g. the tail of the previous chunk, to match across boundaries) lives in
`item.stream.scratch[detector.name]`; it is dropped with the stream, so it is bounded by the
detector's own choice of what to keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Protocol, runtime_checkable

TOSERVER, TOCLIENT = 0, 1


@dataclass(frozen=True, slots=True)
class FlowInfo:
    """Who talks to whom, oriented client -> server."""

    flow_id: int
    proto: str
    src_ip: str
    src_port: int
    dest_ip: str
    dest_port: int
    vlan: tuple[int, ...] = ()


@dataclass(slots=True)
class StreamState:
    """One direction of one flow, as detection sees it."""

    flow: FlowInfo
    direction: int
    offset: int = 0  # stream bytes seen so far (data and gaps)
    gaps: int = 0
    after_gap: bool = False  # bytes are missing before the next chunk
    scratch: dict[str, Any] = field(default_factory=dict)


class StreamChunk:
    """In-order bytes of one direction. `after_gap` is true when bytes are missing before it.

    A plain slotted class rather than a frozen dataclass: one is made for every chunk, and
    frozen dataclasses cost several times more to build. Treat it as read-only.
    """

    __slots__ = ("stream", "offset", "data", "after_gap", "ts", "datagram")

    def __init__(self, stream: StreamState, offset: int, data: bytes, after_gap: bool, ts: int,
                 datagram: bool = False):
        self.stream = stream
        self.offset = offset
        self.data = data
        self.after_gap = after_gap
        self.ts = ts  # microseconds
        self.datagram = datagram

    @property
    def flow(self) -> FlowInfo:
        return self.stream.flow

    @property
    def direction(self) -> int:
        return self.stream.direction


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector reports. The alert writer turns it into an EVE alert."""

    detector: str
    signature_id: int
    signature: str
    category: str
    severity: int  # 1 high .. 4 low
    direction: int  # which direction's bytes triggered it
    rule: str = ""  # the rule's name in the rules file, for hit tables
    extra: dict[str, Any] = field(default_factory=dict)  # goes under the alert's "dlp" key


@runtime_checkable
class Detector(Protocol):
    """`directions` (optional) is a hint: the stream directions the detector can ever apply
    to. The dispatcher skips building items for the others; `applies` still decides."""

    name: ClassVar[str]

    def applies(self, item: Any) -> bool: ...

    def inspect(self, item: Any) -> Iterable[Finding]: ...


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One decoded piece of a message body: the whole body, a form field, a file in a
    multipart upload, a member of a zip, a JSON string value...

    `path` is the decoding chain that produced it, outermost first, e.g.
    ("gzip", "multipart:file", "zip:src/main.py"). `text` is the part as text when it is text
    (decoded from its charset, UTF-16 detected), else "". `truncated` says a limit cut it.
    """

    data: bytes
    text: str
    path: tuple[str, ...] = ()
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class HttpTransaction:
    """One HTTP request and its response, with the body of one direction decoded.

    An upload is direction 0 (the request body); a download direction 1 (the response body).
    Headers are (name, value) pairs as text (latin-1), names lower-cased, order kept.
    """

    flow: FlowInfo
    direction: int
    method: str
    uri: str
    host: str
    status: int | None
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    content_type: str | None
    parts: tuple[BodyPart, ...]
    ts: int
    body_length: int = 0  # bytes of the body as it travelled (after de-chunking)
    truncated: bool = False  # the body has gaps or hit a limit
    anomalies: tuple[str, ...] = ()
