"""Capture replay for the HTTP parser tests: each flow's stream events in engine order.

tests/replaylib.py concatenates each direction and keeps only gap lengths; the parser also
needs where each gap fell and how the two directions interleave, so this collector records
on_data / on_gap in the order the flow engine emits them.
"""

from __future__ import annotations

from dlp.capture.pcapfile import CaptureFile
from dlp.config import EngineConfig
from dlp.decode.decoder import Decoder
from dlp.flow.engine import FlowEngine
from dlp.stream.consumer import NullConsumer


class _Record(NullConsumer):
    def __init__(self):
        self.live: dict[int, list] = {}
        self.flows: list[list] = []

    def on_open(self, flow):
        self.live[id(flow)] = []

    def on_data(self, flow, direction, data):
        self.live[id(flow)].append((direction, "data", bytes(data)))

    def on_gap(self, flow, direction, length):
        self.live[id(flow)].append((direction, "gap", length))

    def on_close(self, flow):
        steps = self.live.pop(id(flow))
        if any(kind == "data" for _, kind, _ in steps):
            self.flows.append(steps)


def stream_steps(path: str) -> list[list[tuple]]:
    """Per TCP flow with data: [(direction, "data" | "gap", bytes | length), ...]."""
    rec = _Record()
    decoder = Decoder()
    engine = FlowEngine(EngineConfig(), rec)
    with CaptureFile(path) as cap:
        for ts, linktype, frame, wirelen in cap:
            pkt = decoder.decode(linktype, frame, wirelen, ts)
            if pkt is not None:
                engine.process(pkt)
    engine.shutdown()
    return rec.flows
