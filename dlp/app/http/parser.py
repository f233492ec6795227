"""Sans-I/O HTTP/1.x parser for both directions of one TCP connection.

Fed in-order bytes, gaps and ends per direction (0 client->server, 1 server->client); returns
events (dlp/app/http/events.py). It never touches sockets, files or clocks, so pcap replay,
live capture and ICAP drive it alike.

Per direction, one state machine (handlers in `_HANDLERS`):

    START --bytes--> HEAD --empty line--> BODY (LengthBody / ChunkedBody / CloseBody) --> START
      |               |gap                  |gap beyond framing
      |gap            v                     v
      +---------->  RESYNC --start line found--> HEAD
    WAIT: holds input until the other direction answers (pairing.py); DONE: input ignored.

Pairing and waiting for the other direction: pairing.py.

Cheap rejection: the first message of each direction must start like HTTP (a method token and
a space; `HTTP/`). Direction 0 failing marks the whole connection not HTTP after a few bytes;
from then on every call returns at its first line.
"""

from __future__ import annotations

from collections import deque

from dlp.app.http.body import ChunkedBody, CloseBody, LengthBody
from dlp.app.http.events import Anomaly, BodyEnd
from dlp.app.http.head import BAD_START, HEAD_DONE, NOT_HTTP, HeadReader, Resync, parse_start
from dlp.app.http.headers import CHUNKED, CLOSE, LENGTH, NONE, content_codings, transfer_codings
from dlp.app.http.pairing import Pairing
from dlp.app.http.state import (BODY, DONE, HEAD, RESYNC, RESYNC_BAD, START, WAIT, Direction,
                                HttpLimits, Request)

__all__ = ["HttpConnectionParser", "HttpLimits", "content_codings", "transfer_codings"]


class HttpConnectionParser(Pairing):
    def __init__(self, limits: HttpLimits = HttpLimits(), midstream: bool = False,
                 bodies: tuple[bool, bool] = (True, True)):
        """`bodies`: per direction, whether BodyData events are wanted (framing is always
        followed; a direction nobody inspects costs no copies)."""
        self.limits = limits
        self.bodies = bodies
        self._dirs = (Direction(0, limits, midstream), Direction(1, limits, midstream))
        self._queue: list[Request] = []  # short (pipelining): a list costs less than a deque
        self._next_tx = 0
        self._dead = False
        self._overflowed = False
        self._lost_responses = 0  # response heads lost in gaps: their requests are skipped
        self._early: list | None = []  # direction 1 events while direction 0 is unknown

    # -- public API --------------------------------------------------------------------
    def feed(self, direction: int, data: bytes) -> list:
        """In-order bytes of one direction; returns the events they complete.

        Never raises on any input bytes; a direction other than 0 or 1 is a ValueError.
        """
        if self._dead or not data:
            _check(direction)
            return []
        return self._input(direction, data if type(data) is bytes else bytes(data))

    def gap(self, direction: int, length: int) -> list:
        """`length` bytes of this direction are missing before the next feed."""
        if self._dead or length <= 0:
            _check(direction)
            return []
        return self._input(direction, int(length))

    def end(self, direction: int) -> list:
        """The direction is closed (FIN, RST, flow end). Call it for both at flow close."""
        return self._input(direction, None)

    @property
    def done(self) -> bool:
        """Nothing more will be parsed on this connection (not HTTP, tunnel, both ended)."""
        return self._dead

    # -- input dispatch ----------------------------------------------------------------
    def _input(self, direction: int, item) -> list:
        """item: bytes (data), int (gap length) or None (end)."""
        _check(direction)
        out: list = []
        if self._dead:
            return out
        try:
            ps = self._dirs[direction]
            if ps.state == DONE:
                return out
            if ps.state == WAIT or ps.held:
                if type(item) is bytes:
                    self._hold(ps, item)
                else:
                    if not ps.held:
                        ps.held = deque()
                    ps.held.append(item)
            else:
                self._apply(ps, item, self._sink(ps, out))
            self._pump(out)
        except Exception as exc:  # never let hostile input take the pipeline down
            self._crash(direction, exc, out)
        return out

    def _apply(self, ps: Direction, item, out: list) -> None:
        if item is None:
            self._end(ps, out)
        elif type(item) is int:
            self._gap(ps, item, out)
        else:
            self._data(ps, item, out)

    def _data(self, ps: Direction, data: bytes, out: list) -> None:
        pos, n = 0, len(data)
        handlers = _HANDLERS
        while pos < n and ps.state < WAIT:
            state = ps.state
            new = handlers[state](self, ps, data, pos, out)
            if new == pos and ps.state == state:  # no progress: a bug, never loop forever
                raise RuntimeError(f"no progress in state {state}")
            pos = new
        if pos < n and ps.state == WAIT:
            self._hold(ps, data[pos:], front=True)
        self._check_dead()

    def _gap(self, ps: Direction, length: int, out: list) -> None:
        state = ps.state
        if state == BODY:
            body = ps.body
            left = body.gap(length, out)
            if body.done:
                self._message_done(ps, out, RESYNC if body.lost or left else START)
        elif state == HEAD:
            out.append(Anomaly(ps.d, "http.gap_in_headers"))
            if ps.d == 0:  # a request was there: keep its place so pairing stays right
                self._enqueue(Request(self._next_tx, ""), out)
                self._next_tx += 1
            else:  # the lost response answered the oldest request: skip it when pairing
                self._lost_responses += 1
            self._resync(ps, True)
        elif state in (START, RESYNC):
            self._resync(ps, True)
        self._check_dead()

    def _end(self, ps: Direction, out: list) -> None:
        if ps.state == HEAD:
            out.append(Anomaly(ps.d, "http.eof_in_headers"))
        elif ps.state == BODY:
            ps.body.end(out)
            self._message_done(ps, out, START)
        self._finish(ps)

    def _finish(self, ps: Direction) -> None:
        ps.state = DONE
        ps.held = ()
        ps.held_bytes = 0
        ps.head = ps.resync = ps.body = ps.pending = None
        self._check_dead()

    def _check_dead(self) -> None:
        self._dead = self._dirs[0].state == DONE and self._dirs[1].state == DONE

    def _crash(self, direction: int, exc: Exception, out: list) -> None:
        out.append(Anomaly(direction if direction in (0, 1) else 0, "http.parser_error",
                           f"{type(exc).__name__}: {exc}"[:200]))
        for ps in self._dirs:
            self._finish(ps)

    # -- state handlers: (ps, data, pos, out) -> new pos -------------------------------
    def _on_start(self, ps: Direction, data: bytes, pos: int, out: list) -> int:
        # empty lines between messages are ignored (RFC 9112 2.2; and servers that send a
        # CRLF after a Content-Length body)
        n = len(data)
        while pos < n and data[pos] in b"\r\n":
            pos += 1
        if pos < n:
            ps.state = HEAD
            ps.head = HeadReader(ps.d, self.limits, bool(ps.probe))
        return pos

    def _on_head(self, ps: Direction, data: bytes, pos: int, out: list) -> int:
        head = ps.head
        pos = head.data(data, pos)
        result = head.result
        if result == HEAD_DONE:
            ps.head = None
            ps.probe = None
            self._head_done(ps, head, out)
        elif result == NOT_HTTP:
            self._not_http(ps, out)
        elif result == BAD_START:
            out.extend(head.notes)
            self._resync(ps, False)
            start = parse_start(head.rest, ps.d) if head.rest is not None else None
            if start is not None:  # a start line after junk on the same line
                ps.resync.found = (start, len(head.rest))
                self._resynced(ps, out)
        return pos

    def _on_body(self, ps: Direction, data: bytes, pos: int, out: list) -> int:
        body = ps.body
        pos = body.data(data, pos, out)
        if body.done:
            if body.abandon:
                out.append(BodyEnd(ps.d, True, body.trailers))
                self._finish(ps)
            else:
                self._message_done(ps, out, RESYNC_BAD if body.lost else START)
        return pos

    def _on_resync(self, ps: Direction, data: bytes, pos: int, out: list) -> int:
        rs = ps.resync
        pos = rs.data(data, pos)
        if rs.found:
            self._resynced(ps, out)
        elif rs.failed:
            out.append(Anomaly(ps.d, "http.resync_failed", f"{rs.count} bytes"))
            self._finish(ps)
            return len(data)
        return pos

    # -- heads -------------------------------------------------------------------------
    def _not_http(self, ps: Direction, out: list) -> None:
        if ps.probe == "tunnel":
            out.append(Anomaly(0, "http.tunnel", "assumed: no HTTP after an unanswered CONNECT"))
            self._kill()
        elif ps.d == 0:  # the client speaks first: its bytes decide for the connection
            out.append(Anomaly(0, "http.not_http"))
            self._early = None  # whatever the server side said is moot
            self._kill()
        else:
            out.append(Anomaly(1, "http.not_http"))
            self._finish(ps)

    def _kill(self) -> None:
        for ps in self._dirs:
            self._finish(ps)

    # -- bodies and message ends -------------------------------------------------------
    def _begin_body(self, ps: Direction, kind: str, length: int, out: list) -> None:
        if kind == NONE or (kind == LENGTH and length == 0):
            ps.body = None
            self._message_done(ps, out, START)
            return
        if kind == LENGTH:
            ps.body = LengthBody(ps.d, length)
        elif kind == CHUNKED:
            ps.body = ChunkedBody(ps.d, self.limits)
        else:
            assert kind == CLOSE
            ps.body = CloseBody(ps.d)
        ps.body.quiet = not self.bodies[ps.d]
        ps.state = BODY

    def _message_done(self, ps: Direction, out: list, then: int) -> None:
        body = ps.body
        ps.body = None
        out.append(BodyEnd(ps.d, body.truncated, body.trailers) if body else BodyEnd(ps.d))
        if ps.switch:
            self._kill()
            return
        req = ps.req if ps.d == 0 else None
        if req is not None and req.awaits:
            ps.after_wait = then
            if req.outcome is None and self._dirs[1].state != DONE:
                ps.state = WAIT
            else:
                self._resume(ps, out)
            return
        if then == START:
            ps.state = START
        else:
            self._resync(ps, then == RESYNC)

    # -- resynchronisation -------------------------------------------------------------
    def _resync(self, ps: Direction, after_gap: bool) -> None:
        ps.state = RESYNC
        ps.head = None
        ps.resync = Resync(ps.d, self.limits, after_gap)

    def _resynced(self, ps: Direction, out: list) -> None:
        rs = ps.resync
        ps.resync = None
        out.append(Anomaly(ps.d, "http.gap_resync" if rs.after_gap else "http.resync"))
        start, size = rs.found
        ps.state = HEAD
        ps.probe = None
        ps.head = HeadReader(ps.d, self.limits, False, start, size)


def _check(direction: int) -> None:
    if direction != 0 and direction != 1:
        raise ValueError(f"direction must be 0 or 1, not {direction!r}")


_HANDLERS = (HttpConnectionParser._on_start, HttpConnectionParser._on_head,
             HttpConnectionParser._on_body, HttpConnectionParser._on_resync)
