"""One proxy connection, sans-I/O: bytes in, answers out. The server (server.py) only moves
bytes; all sessions run on its one event loop, so detectors need no locks.

Per request: OPTIONS is answered at once; REQMOD/RESPMOD bodies stream into the inspector's
transaction; a preview without `ieof` gets "100 Continue" (DLP needs the whole body) unless no
detector wants that kind of body (then 204 at once); at the end, 403 page, 204, or - when the
proxy did not offer 204 - the message echoed back from a spool that keeps at most
SPOOL_MEMORY bytes in memory.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass

from dlp.app.http.events import Anomaly, BodyData
from dlp.icap import responses
from dlp.icap.events import IcapError, IcapRequest, MessageEnd, PreviewEnd
from dlp.icap.parser import IcapParser

SPOOL_MEMORY = 1 << 20
SERVICES = {"reqmod": "REQMOD", "respmod": "RESPMOD"}


@dataclass
class Service:
    """What all sessions share: the inspector and the current ISTag (changes on reload)."""

    inspector: object
    istag: str
    counters: Counter


class Spool:
    """A body kept to echo it back, in memory up to SPOOL_MEMORY, then in a temporary file."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def chunks(self, size: int = 1 << 16):
        """The body as ICAP chunks, then the last chunk; closes the spool."""
        self.file.seek(0)
        try:
            while piece := self.file.read(size):
                yield responses.chunk(piece)
            yield b"0\r\n\r\n"
        finally:
            self.file.close()


class IcapSession:
    def __init__(self, service: Service):
        self.service = service
        self.parser = IcapParser()
        self.request: IcapRequest | None = None
        self.txn = None  # the inspector's Transaction, when the body is inspected
        self.spool: Spool | None = None
        self.answer: int | None = None  # an ICAP status decided before the body ended
        self.closed = False

    def receive(self, data: bytes) -> list:
        """-> what to send, in order: bytes, or a Spool to send as chunks."""
        out: list = []
        events = self.parser.feed(data)
        for ev in events:  # deciding on a preview may release more events: appended here
            kind = type(ev)
            if kind is BodyData:
                self._body(ev.data)
            elif kind is IcapRequest:
                self._request(ev, out)
            elif kind is PreviewEnd:
                events += self._preview_end(ev, out)
            elif kind is MessageEnd:
                self._message_end(out)
            elif kind is IcapError:
                self.service.counters[f"icap.error_{ev.status}"] += 1
                out.append(responses.error(ev.status, self.service.istag))
                self.closed = True
            elif kind is Anomaly:
                self.service.counters[ev.name] += 1
        return out

    def abort(self) -> None:
        """The proxy went away mid-request: nothing is decided, nothing is kept."""
        if self.spool is not None:
            self.spool.file.close()
        if self.txn is not None:
            self.txn.abort()
        self.txn = self.spool = None

    # -- events ---------------------------------------------------------------------------
    def _request(self, request: IcapRequest, out: list) -> None:
        self.request, self.answer, self.txn, self.spool = request, None, None, None
        service = SERVICES.get(request.service)
        self.service.counters[f"icap.{request.method.lower()}"] += 1
        if service is None or (request.method != "OPTIONS" and request.method != service):
            self.answer = 404
            if request.method == "OPTIONS":
                out.append(responses.error(404, self.service.istag, close=False))
            return
        if request.method == "OPTIONS":
            settings = self.service.inspector.ruleset.icap
            out.append(responses.options(self.service.istag, service, settings.preview_size,
                                         settings.max_connections))
        elif request.has_body and self.service.inspector.wants_body(request):
            self.txn = self.service.inspector.begin(request)
            if not request.allows_204:
                self.spool = Spool()
        else:
            self.answer = 204

    def _body(self, data: bytes) -> None:
        if self.txn is not None:
            self.txn.body(data)
        if self.spool is not None:
            self.spool.write(data)

    def _preview_end(self, ev: PreviewEnd, out: list) -> list:
        """Answers a preview; returns parser events of bytes the proxy sent meanwhile."""
        if ev.ieof:
            return []  # the whole body is here; MessageEnd follows
        if self.txn is None:  # not inspected, or an error: answer now, the proxy sends no more
            status = self.answer or 204
            out.append(responses.no_content(self.service.istag) if status == 204
                       else responses.error(status, self.service.istag, close=False))
            self._done()
            return self.parser.skip_body()
        out.append(responses.CONTINUE)
        return self.parser.continue_body()

    def _message_end(self, out: list) -> None:
        request, istag = self.request, self.service.istag
        if request.method == "OPTIONS":
            pass
        elif self.txn is not None:
            verdict = self.txn.finish()
            self.service.counters["icap.blocked" if verdict.block else "icap.allowed"] += 1
            if verdict.block:
                out.append(responses.blocked(istag, verdict.incident_id, verdict.reason))
                if self.spool is not None:
                    self.spool.file.close()
            elif request.allows_204:
                out.append(responses.no_content(istag))
            else:
                out.append(responses.echo_head(istag, request.method, request.raw_http_head, True))
                out.append(self.spool)
        elif self.answer not in (None, 204):
            out.append(responses.error(self.answer, istag, close=False))
        elif request.allows_204 or request.method == "OPTIONS":
            out.append(responses.no_content(istag))
        else:  # not inspected and 204 not offered: the message as it came, without a body
            out.append(responses.echo_head(istag, request.method, request.raw_http_head, False))
        self._done()

    def _done(self) -> None:
        self.request, self.txn, self.spool, self.answer = None, None, None, None
