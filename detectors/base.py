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
    # EVE objects of their own beside "alert" (e.g. {"covert": {...}} for covert channels)
    objects: dict[str, Any] = field(default_factory=dict)


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


# -- covert-channel and session inputs -------------------------------------------------------
# Input kinds beside "stream" and "http" (a detector lists what it takes in `inputs`):
#   "dns"  DnsTransaction   a query with its response (either may be missing)
#   "icmp" IcmpMessage      one ICMP/ICMPv6 message with its payload
#   "flow" FlowEvent        a session's life: open, established, anomaly, close


@dataclass(frozen=True, slots=True)
class DnsTransaction:
    """A DNS query paired with its response by (id, question); `flow` is oriented from the
    client that asked. `query` is None for a response nobody asked for (answer without a
    query); `response` is None for a query that went unanswered until the flow ended.
    Messages are `dlp.app.dns.message.Message`; names are bytes (tunnels use raw 8-bit labels).
    Sizes are the DNS message sizes (without the TCP length prefix)."""

    flow: FlowInfo
    ts: int  # the query's time (the response's when there was no query), microseconds
    query: Any
    response: Any
    query_size: int = 0
    response_size: int = 0
    transport: str = "udp"
    rtt: int | None = None  # microseconds between query and response

    @property
    def direction(self) -> int:
        return TOSERVER if self.query is not None else TOCLIENT

    @property
    def question(self):
        """The first question of the query (or of the response), or None."""
        for msg in (self.query, self.response):
            if msg is not None and msg.questions:
                return msg.questions[0]
        return None


@dataclass(frozen=True, slots=True)
class IcmpMessage:
    """One ICMP (or ICMPv6) message. For echo and the other query types `ident`/`seq` come
    from the header; `payload` is what follows the 8-byte header (for error messages: the
    quoted packet, so `is_error` is true)."""

    flow: FlowInfo
    ts: int
    direction: int
    version: int  # 4 or 6
    type: int
    code: int
    ident: int
    seq: int
    payload: bytes

    @property
    def is_error(self) -> bool:
        if self.version == 4:
            return self.type in (3, 4, 5, 11, 12)
        return self.type < 128

    @property
    def is_echo_request(self) -> bool:
        return self.type == (8 if self.version == 4 else 128)

    @property
    def is_echo_reply(self) -> bool:
        return self.type == (0 if self.version == 4 else 129)


@dataclass(frozen=True, slots=True)
class FlowEvent:
    """A moment in a session's life, from the flow engine's state tracking.

    kind: "open" (first packet; `first_flags` are its TCP flags), "established" (TCP
    handshake done), "anomaly" (`name` says which, e.g. tcp.rst_out_of_window,
    tcp.invalid_flags_synfin), "close" (`reason`: fin, rst, timeout, evicted, reused,
    end_of_capture). Counters are per direction, as of the event.
    """

    kind: str
    flow: FlowInfo
    ts: int
    start: int
    name: str = ""
    direction: int = TOSERVER
    first_flags: int = 0
    state: str = ""
    midstream: bool = False
    reason: str = ""
    pkts: tuple[int, int] = (0, 0)
    bytes: tuple[int, int] = (0, 0)
    tcp_flags: tuple[int, int] = (0, 0)
