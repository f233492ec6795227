"""Replay a capture in-process and keep everything a test may want to check."""

from __future__ import annotations

from dataclasses import dataclass, field

from dlp.capture.pcapfile import CaptureFile
from dlp.config import EngineConfig
from dlp.decode.decoder import Decoder
from dlp.decode.packet import ip_text
from dlp.flow.engine import FlowEngine


@dataclass
class FlowResult:
    cli: str
    cport: int
    srv: str
    sport: int
    proto: int
    vlan: tuple
    pkts: list
    bytes: list
    state: int
    reason: str
    anomalies: dict
    streams: list  # per direction: bytes seen, in order (gaps not filled)
    gaps: list  # per direction: list of gap lengths
    datagrams: list  # per direction: list of payloads

    def stream(self, direction: int) -> bytes:
        return bytes(self.streams[direction])

    @property
    def missing(self) -> list[int]:
        return [sum(g) for g in self.gaps]


@dataclass
class ReplayResult:
    flows: list[FlowResult] = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    decoder_events: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    engine_events: dict = field(default_factory=dict)
    truncated: str | None = None
    packets: int = 0

    def tcp(self) -> list[FlowResult]:
        return [f for f in self.flows if f.proto == 6]

    def with_data(self) -> list[FlowResult]:
        return [f for f in self.flows if f.streams[0] or f.streams[1]]


class _Collect:
    def __init__(self, result: ReplayResult):
        self.result = result
        self.live: dict[int, FlowResult] = {}

    def on_open(self, flow):
        self.live[id(flow)] = FlowResult(ip_text(flow.cli), flow.cport, ip_text(flow.srv), flow.sport,
                                         flow.proto, flow.vlan, [], [], 0, "", {},
                                         [bytearray(), bytearray()], [[], []], [[], []])

    def on_data(self, flow, d, data):
        self.live[id(flow)].streams[d] += data

    def on_gap(self, flow, d, length):
        self.live[id(flow)].gaps[d].append(length)

    def on_datagram(self, flow, d, payload, pkt):
        self.live[id(flow)].datagrams[d].append(bytes(payload))

    def on_close(self, flow):
        r = self.live.pop(id(flow))
        r.pkts, r.bytes, r.state, r.reason = list(flow.pkts), list(flow.bytes), flow.state, flow.reason
        r.anomalies = dict(flow.anomalies or {})
        self.result.flows.append(r)


def replay(path: str, **engine_settings) -> ReplayResult:
    result = ReplayResult()
    decoder = Decoder()
    engine = FlowEngine(EngineConfig(**engine_settings), _Collect(result))
    with CaptureFile(path) as cap:
        for ts, linktype, frame, wirelen in cap:
            result.packets += 1
            pkt = decoder.decode(linktype, frame, wirelen, ts)
            if pkt is not None:
                engine.process(pkt)
        result.truncated = cap.status.truncated
    engine.shutdown()
    result.errors = dict(decoder.errors)
    result.decoder_events = dict(decoder.events)
    result.skipped = dict(decoder.skipped)
    result.engine_events = dict(engine.events)
    return result
