"""Limits and per-connection state of the HTTP parser (parser.py, pairing.py)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dlp.app.http.head import HeadReader, Resync


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_line: int = 16 * 1024  # start line, header or trailer line
    max_header_bytes: int = 64 * 1024  # one head
    max_headers: int = 256  # fields kept per head (and per trailer block)
    max_chunks: int = 100_000  # per body: more is `endless_chunking`
    max_chunk_line: int = 1024  # bytes kept of a chunk-size line (extensions can be junk)
    max_pipeline: int = 64  # requests waiting for their response
    max_hold: int = 64 * 1024  # bytes held while a direction waits for the other
    max_resync: int = 1 << 20  # bytes searched for a message start before giving up


START, HEAD, BODY, RESYNC, WAIT, DONE = range(6)
RESYNC_BAD = 9  # next step after a message: resync, not because of a gap


class Request:
    """A request waiting for its final response."""

    __slots__ = ("tx", "method", "awaits", "outcome", "continues")

    def __init__(self, tx: int, method: str, awaits: bool = False):
        self.tx = tx
        self.method = method
        self.awaits = awaits  # CONNECT / Upgrade: what follows depends on the response
        self.outcome: str | None = None  # "http", "tunnel" or "unknown" once decided
        self.continues = 0


class Direction:
    """One direction of the connection: its state and what it is reading or holding."""

    __slots__ = ("d", "state", "probe", "head", "resync", "body", "pending", "req", "held",
                 "held_bytes", "overflow", "switch", "after_wait")

    def __init__(self, d: int, limits: HttpLimits, midstream: bool):
        self.d = d
        self.state = RESYNC if midstream else START
        self.probe = None if midstream else "not_http"  # how bytes that are not HTTP are judged
        self.head: HeadReader | None = None
        self.resync = Resync(d, limits, True) if midstream else None
        self.body = None
        self.pending = None  # response head waiting for its request
        self.req: Request | None = None  # direction 0: the last request read
        # bytes (data), int (gap), None (end) while waiting; a deque only once needed, since
        # an idle connection should cost little (100k concurrent flows)
        self.held: deque | tuple = ()
        self.held_bytes = 0
        self.overflow = False
        self.switch = False  # tunnel after the current message
        self.after_wait = START
