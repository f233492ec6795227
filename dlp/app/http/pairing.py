"""The cross-direction half of the HTTP parser: pairing responses with requests, and waiting.

Pairing depends only on per-direction order, never on how the two directions interleave:
requests are queued at their head (bounded, `max_pipeline`); a response whose head finds no
request WAITs, holding its direction's later input (bounded, `max_hold`), until a request
arrives or the client side is over. After CONNECT or an Upgrade request, direction 0 WAITs for
the answer: a 2xx to CONNECT or a 101 makes both directions an unparsed tunnel, anything else
resumes HTTP. Server-side events are also kept back until the client side is known to be HTTP
(see `_sink`). So a capture fed in packet order, one direction after the other, or byte by byte
gives the same events per direction (as long as nothing held overflows `max_hold`).

A lost head keeps pairing right: a request lost in a gap takes its place in the queue (its tx
is used, no RequestHead is emitted); a response lost in a gap skips the oldest request.
"""

from __future__ import annotations

from collections import deque

from dlp.app.http.events import Anomaly, BodyEnd, RequestHead, ResponseHead
from dlp.app.http.head import HeadReader
from dlp.app.http.headers import NONE, framing, has_header
from dlp.app.http.state import BODY, DONE, RESYNC, START, WAIT, Direction, Request

CONNECT_OK = range(200, 300)


class Pairing:
    """Mixin of HttpConnectionParser: the request queue, response heads and WAIT handling."""

    def _head_done(self, ps: Direction, head: HeadReader, out: list) -> None:
        headers = tuple(head.fields)
        if ps.d == 1:
            ps.pending = (head.start, headers, head.notes)
            if self._releasable(ps):
                self._response(ps, out)
            else:
                ps.state = WAIT
            return
        method, target, version = head.start
        tx = self._next_tx
        self._next_tx += 1
        out.append(RequestHead(method, target, version, headers, tx))
        out.extend(head.notes)
        req = Request(tx, method, method == "CONNECT" or has_header(headers, "upgrade"))
        ps.req = req
        if self._dirs[1].state != DONE:
            self._enqueue(req, out)
        else:
            req.outcome = "unknown"
        fr = framing(headers, True)
        out.extend(Anomaly(0, name, detail) for name, detail in fr.anomalies)
        self._begin_body(ps, fr.kind, fr.length, out)

    def _enqueue(self, req: Request, out: list) -> None:
        if len(self._queue) >= self.limits.max_pipeline:
            self._queue.pop(0).outcome = "unknown"
            if not self._overflowed:
                self._overflowed = True
                out.append(Anomaly(0, "http.pipeline_overflow"))
        self._queue.append(req)

    def _response(self, ps: Direction, out: list) -> None:
        """Emit the pending response head, paired with the oldest request, and frame its body."""
        (status, reason, version), headers, notes = ps.pending
        ps.pending = None
        queue = self._queue
        while self._lost_responses and queue:
            queue.pop(0).outcome = "unknown"
            self._lost_responses -= 1
        self._lost_responses = 0
        req = queue[0] if queue else None
        interim = 100 <= status < 200 and status != 101
        out.append(ResponseHead(status, reason, version, headers, interim, req.tx if req else -1))
        if req is None:
            out.append(Anomaly(1, "http.response_without_request"))
        out.extend(notes)
        if interim:
            if status == 100 and req:
                req.continues += 1
                if req.continues == 2:
                    out.append(Anomaly(1, "http.multiple_100_continue"))
            ps.state = START
            return
        method = ""
        if req:
            self._queue.pop(0)
            method = req.method
        if status == 101 or (method == "CONNECT" and status in CONNECT_OK):
            out.append(BodyEnd(1))
            detail = dict(headers).get("upgrade", "") if status == 101 else ""
            name = "http.upgrade" if status == 101 else "http.tunnel"
            self._finish(ps)
            if req is None or not req.awaits:
                # a 101 the client did not ask for (RFC 9110 7.8): it does not switch, so its
                # side stays HTTP; only this side is no longer parsed
                out.append(Anomaly(1, name, "unrequested " + detail))
                return
            req.outcome = "tunnel"
            out.append(Anomaly(1, name, detail))
            client = self._dirs[0]  # it waits after `req`, or is still sending it
            if client.state == BODY and client.req is req:
                client.switch = True
            else:
                self._finish(client)
            return
        if req:
            req.outcome = "http"
        if method == "HEAD" or status in (204, 304) or status < 200:
            self._begin_body(ps, NONE, 0, out)
            return
        fr = framing(headers, False)
        out.extend(Anomaly(1, name, detail) for name, detail in fr.anomalies)
        self._begin_body(ps, fr.kind, fr.length, out)

    def _resume(self, ps: Direction, out: list) -> None:
        """Direction 0 after CONNECT / Upgrade once the answer is known (or never will be)."""
        req = ps.req
        ps.req = None
        if req.outcome == "tunnel":
            self._kill()
            return
        if req.outcome != "http" and req.method == "CONNECT":
            ps.probe = "tunnel"  # no answer seen: HTTP may follow, or the tunnel's bytes
        if ps.after_wait == START:
            ps.state = START
        else:
            self._resync(ps, ps.after_wait == RESYNC)

    def _hold(self, ps: Direction, data: bytes, front: bool = False) -> None:
        if not ps.held:
            ps.held = deque()
        if front:
            ps.held.appendleft(data)
        else:
            ps.held.append(data)
        ps.held_bytes += len(data)
        if ps.held_bytes > self.limits.max_hold:
            ps.overflow = True

    def _sink(self, ps: Direction, out: list) -> list:
        """Where a direction's events go. Server-side events are kept back until the client
        side is known to be HTTP (or over): if it is not, the connection is not HTTP and they
        are dropped, so the events never depend on which direction was fed first."""
        return self._early if ps.d == 1 and self._early is not None else out

    def _flush_early(self, out: list, force: bool = False) -> None:
        if self._early is not None and (force or self._next_tx or self._dirs[0].state == DONE):
            out.extend(self._early)
            self._early = None

    def _pump(self, out: list) -> None:
        """Release a waiting direction when it can go on, and replay what it held."""
        progress = True
        while progress and not self._dead:
            progress = False
            self._flush_early(out)
            for ps in self._dirs:
                if ps.state == WAIT and self._releasable(ps):
                    if ps.overflow:  # stop waiting for the other side, and for its verdict
                        if ps.d == 1:
                            self._flush_early(out, force=True)
                        out.append(Anomaly(ps.d, "http.hold_overflow", f"{ps.held_bytes} bytes"))
                        ps.overflow = False
                    if ps.d == 1:
                        self._response(ps, self._sink(ps, out))
                    else:
                        self._resume(ps, out)
                    progress = True
                if ps.held and ps.state not in (WAIT, DONE):
                    self._replay(ps, self._sink(ps, out))
                    progress = True
        self._flush_early(out)

    def _releasable(self, ps: Direction) -> bool:
        if ps.overflow:
            return True
        if ps.d == 1:
            return len(self._queue) > self._lost_responses or self._dirs[0].state == DONE
        return ps.req.outcome is not None or self._dirs[1].state == DONE

    def _replay(self, ps: Direction, out: list) -> None:
        held = ps.held
        while held and ps.state not in (WAIT, DONE):
            item = held.popleft()
            if type(item) is bytes:
                ps.held_bytes -= len(item)
            self._apply(ps, item, out)
        if ps.held_bytes <= self.limits.max_hold:
            ps.overflow = False
