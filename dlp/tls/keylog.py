"""`dlp replay --keylog KEYS`: the replay as usual, then the TLS flows decrypted.

KeylogPipeline is the replay Pipeline plus a TlsFlowSpotter. Non-TLS flows are inspected by
the engine as always. At the end, the TLS flows' packets go through tshark with the key log
(dlp/tls/tshark.py) and each decrypted connection is handed to the pipeline's own
DetectionDispatcher as the stream of that very flow (HTTP/2 translated to HTTP/1.1 first):
same HTTP parser, body decoders and detectors, and alerts with the flow's 5-tuple and id.
"""

from __future__ import annotations

import os
import tempfile
import time

import structlog

from dlp.errors import ConfigError
from dlp.pipeline import Pipeline
from dlp.stream.consumer import FanOut
from dlp.tls import tshark
from dlp.tls.http2 import PREFACE, Http2Translator
from dlp.tls.spotter import TlsFlowSpotter

log = structlog.get_logger("dlp.tls")


class KeylogPipeline(Pipeline):
    def __init__(self, ruleset, eve_writer, keylog: str, streams_dir: str | None = None):
        if not os.path.isfile(keylog):
            raise ConfigError(f"{keylog}: no such key log file")
        super().__init__(ruleset, eve_writer, streams_dir)
        self.keylog = keylog
        self.spotter = TlsFlowSpotter()
        engine = self.engine  # the spotter listens after the built-in consumers
        engine.consumer = FanOut(list(engine.consumer.consumers) + [self.spotter])
        self.paths: list[str] = []
        self.tls_seconds = 0.0

    def replay_file(self, path: str, progress=None) -> None:
        super().replay_file(path, progress)
        self.paths.append(path)

    def finish(self):
        self.engine.shutdown()  # every flow closed: the spotter has seen them all
        started = time.perf_counter()
        self.decrypt_tls_flows()
        self.tls_seconds = time.perf_counter() - started
        return super().finish()

    def decrypt_tls_flows(self) -> None:
        by_tuple: dict = {}
        for tls in self.spotter.flows:
            by_tuple.setdefault(tls.tuple, []).append(tls)
        if not by_tuple:
            return
        events = self.engine.events
        with tempfile.TemporaryDirectory(prefix="dlp-keylog-") as tmp:
            for capture in tshark.write_tls_captures(self.paths, set(by_tuple), tmp):
                decrypted = tshark.decrypt(capture, self.keylog, len(self.spotter.flows) + 16)
                for tup, connections in decrypted.items():
                    for tls, chunks in zip(by_tuple.get(tup, []), connections):
                        events["tls.keylog_decrypted" if chunks else "tls.keylog_no_key"] += 1
                        if chunks:
                            self.inspect_decrypted(tls, chunks)
        log.info("tls_decrypted", flows=len(self.spotter.flows), decrypted=events["tls.keylog_decrypted"])

    def inspect_decrypted(self, tls, chunks: list[tuple[int, bytes]]) -> None:
        """One decrypted connection through the dispatcher, as the flow's stream."""
        flow, dispatcher = tls.flow, self.dispatcher
        flip = tls.client_direction  # 1 when the engine's client is the TLS server
        dispatcher.on_open(flow)
        first = next((data for d, data in chunks if d == 0), b"")
        if first and first.startswith(PREFACE[:len(first)]):
            h2 = Http2Translator(self.dispatcher.http_settings.max_body_bytes)
            messages = [m for d, data in chunks for m in h2.feed(d, data)] + h2.end()
            self.engine.events.update(h2.events)
            chunks = messages
        for direction, data in chunks:
            dispatcher.on_data(flow, direction ^ flip, data)
        dispatcher.on_close(flow)
