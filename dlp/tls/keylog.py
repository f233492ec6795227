"""`dlp replay --keylog KEYS`: the replay as usual, then the TLS flows decrypted.

KeylogPipeline is the replay Pipeline plus a TlsFlowSpotter. Non-TLS flows are inspected by
the engine as always. At the end, the TLS flows' packets go through tshark with the key log
(dlp/tls/tshark.py) and each decrypted connection is handed to the pipeline's own
detectors as the stream of that very flow (DecryptedConnection; HTTP/2 translated to HTTP/1.1
first): same HTTP parser, body decoders and detector instances, alerts with the flow's 5-tuple
and flow id. The flow records of TLS flows are held until then (dlp/tls/records.py), so a
decrypted alert shows as `flow.alerted` there as a clear-text one does.
"""

from __future__ import annotations

import copy
import os
import tempfile

import structlog

from dlp.app.dispatch import ALL_INPUTS, DetectionDispatcher
from dlp.errors import ConfigError
from dlp.pipeline import Pipeline
from dlp.tls import tshark
from dlp.tls.http2 import PREFACE, Http2Translator
from dlp.tls.records import FlowRecordHold
from dlp.tls.spotter import TlsFlowSpotter

log = structlog.get_logger("dlp.tls")


def decrypted_dispatcher(pipeline, current: DetectionDispatcher | None = None) -> DetectionDispatcher:
    """The dispatcher decrypted streams go through: the pipeline's detectors (the same
    instances, so per-flow and per-host tallies are shared) except those fed flow events,
    which the engine's own flows already give them; alerts and unscanned-body events go
    where the pipeline's go. `current` is brought up to date after a rules reload."""
    detectors = [d for d in pipeline.dispatcher.detectors if "flow" not in getattr(d, "inputs", ALL_INPUTS)]
    if current is None:
        return DetectionDispatcher(detectors, pipeline._alert, pipeline.dispatcher.http_settings,
                                   on_unscanned=pipeline._unscanned)
    if [id(d) for d in current.detectors] != [id(d) for d in detectors]:
        current.set_detectors(detectors)
    return current


class DecryptedConnection:
    """Decrypted bytes of one TLS connection -> a dispatcher, as the flow's stream.

    The dispatcher keeps its per-flow state on the flow object; the engine's flow keeps the
    encrypted stream's (live, both run at once), so the decrypted stream gets a copy of the
    flow: same 5-tuple, flow id and counters, its own app-layer state. An alert marks the
    copy `alerted`; that is passed on to the engine's flow, whose record says it. `flip` is 1
    when the engine's client of the flow is the TLS server (a capture that missed the
    handshake).
    HTTP/2 is recognised by the client preface and translated message by message; what the
    server sends before the client's first bytes waits (at most HOLD bytes) for that.
    """

    HOLD = 64 * 1024

    def __init__(self, flow, dispatcher, events, flip: int = 0):
        self.engine_flow = flow
        self.flow, self.dispatcher, self.events, self.flip = copy.copy(flow), dispatcher, events, flip
        self.h2: Http2Translator | None = None
        self.decided = False
        self.early: list[tuple[int, bytes]] = []  # server bytes before the client's first
        dispatcher.on_open(self.flow)

    def data(self, direction: int, data: bytes) -> None:
        if not self.decided:
            if direction == 1 and sum(len(d) for _, d in self.early) < self.HOLD:
                self.early.append((direction, data))
                return
            self.decided = True
            if direction == 0 and data.startswith(PREFACE[:len(data)]):
                self.h2 = Http2Translator(self.dispatcher.http_settings.max_body_bytes)
            early, self.early = self.early, []
            for d, held in [(direction, data)] + early if direction == 0 else early + [(direction, data)]:
                self._deliver(d, held)
            return
        self._deliver(direction, data)

    def end(self) -> None:
        if not self.decided:
            self.decided = True
            for d, held in self.early:
                self._deliver(d, held)
        if self.h2 is not None:
            self._send(self.h2.end())
            self.events.update(self.h2.events)
        self.dispatcher.on_close(self.flow)
        self._pass_alerted()

    def _deliver(self, direction: int, data: bytes) -> None:
        if self.h2 is None:
            self.dispatcher.on_data(self.flow, direction ^ self.flip, data)
            self._pass_alerted()
        else:
            self._send(self.h2.feed(direction, data))

    def _send(self, messages: list) -> None:
        for direction, message in messages:
            self.dispatcher.on_data(self.flow, direction ^ self.flip, message)
        self._pass_alerted()

    def _pass_alerted(self) -> None:
        if self.flow.alerted:
            self.engine_flow.alerted = True


class DecryptedStreams:
    """tshark's items (stream, tuple, direction, bytes) -> a DecryptedConnection per TLS
    connection, on the next flow of its tuple that `take` gives (oldest first: a reused
    tuple's connections come in order). A connection that ends without a decrypted byte
    had no key: its flow is taken all the same (counted tls.keylog_no_key), so a later
    connection on the same tuple finds its own flow. The flow records wait in `records`
    until the connection is over. Ended streams stay known (as None): a late packet of
    theirs is not a new connection."""

    def __init__(self, take, dispatcher, events, records: FlowRecordHold):
        self.take, self.dispatcher, self.events, self.records = take, dispatcher, events, records
        self.conns: dict[int, DecryptedConnection | None] = {}

    def item(self, stream: int, tup, direction: int, data: bytes) -> None:
        if stream not in self.conns:
            tls = self.take(tup)
            if direction == tshark.END:
                if tls is not None:
                    self.events["tls.keylog_no_key"] += 1
                    self.records.release(tls.flow)
                return
            self.conns[stream] = tls and DecryptedConnection(tls.flow, self.dispatcher, self.events,
                                                             tls.client_direction)
            self.events["tls.keylog_decrypted" if tls else "tls.keylog_unmatched"] += 1
        conn = self.conns[stream]
        if conn is None:
            return
        if direction == tshark.END:  # its HTTP state goes now, not at the end
            self.end(stream)
        else:
            conn.data(direction, data)

    def end(self, stream: int) -> None:
        conn, self.conns[stream] = self.conns[stream], None
        if conn is not None:
            conn.end()
            self.records.release(conn.engine_flow)

    def end_all(self) -> None:
        for stream in list(self.conns):
            self.end(stream)

    def forget_oldest(self, keep: int) -> None:
        """At most `keep` streams known; older ones end now."""
        while len(self.conns) > keep:
            stream = next(iter(self.conns))
            self.end(stream)
            del self.conns[stream]


def check_keylog(path: str) -> str:
    """The key log's path, or a one-line error when there is no such file."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such key log file")
    return path


class KeylogPipeline(Pipeline):
    def __init__(self, ruleset, eve_writer, keylog: str, streams_dir: str | None = None):
        self.keylog = check_keylog(keylog)
        super().__init__(ruleset, eve_writer, streams_dir)
        self.records = FlowRecordHold.install(self)
        self.spotter = TlsFlowSpotter(self.records)
        self.add_consumer(self.spotter)  # after the built-in consumers
        self.paths: list[str] = []

    def replay_file(self, path: str, progress=None) -> None:
        super().replay_file(path, progress)
        self.paths.append(path)

    def finish(self):
        self.engine.shutdown()  # every flow closed: the spotter has seen them all
        self.decrypt_tls_flows()
        self.records.release_all()
        return super().finish()

    def decrypt_tls_flows(self) -> None:
        waiting: dict = {}  # tuple -> TLS flows not yet matched to a tshark stream, in order
        for tls in self.spotter.flows:
            waiting.setdefault(tls.tuple, []).append(tls)
        if not waiting:
            return
        events = self.engine.events
        dispatcher = decrypted_dispatcher(self)
        take = lambda tup: waiting[tup].pop(0) if waiting.get(tup) else None  # noqa: E731
        with tempfile.TemporaryDirectory(prefix="dlp-keylog-") as tmp:
            for capture in tshark.write_tls_captures(self.paths, set(waiting), tmp):
                streams = DecryptedStreams(take, dispatcher, events, self.records)  # numbers per tshark run
                for item in tshark.decrypt_capture(capture, self.keylog):
                    streams.item(*item)
                streams.end_all()
        events["tls.keylog_no_key"] += sum(len(flows) for flows in waiting.values())
        log.info("tls_decrypted", flows=len(self.spotter.flows), decrypted=events["tls.keylog_decrypted"])
