"""From stream events to detectors: builds the items detectors inspect and collects findings.

Each detector call is guarded: one broken detector is logged and counted, and costs no other
detector its alert. (App-layer parsers producing transactions plug in here as well.)
"""

from __future__ import annotations

from collections import Counter

import structlog

from detectors.base import FlowInfo, StreamChunk, StreamState
from dlp.decode.packet import PROTO_NAMES, ip_text

log = structlog.get_logger("dlp.detect")


class DetectionDispatcher:
    """A StreamConsumer that runs detectors and passes findings to
    `on_finding(flow, finding, item)` (item: what was inspected, with its `ts`)."""

    def __init__(self, detectors: list, on_finding):
        self.detectors = detectors
        both = frozenset((0, 1))
        self.by_direction = [[d for d in detectors if direction in getattr(d, "directions", both)]
                             for direction in (0, 1)]
        self.on_finding = on_finding
        self.errors: Counter = Counter()  # detector name -> exceptions
        self.hits: Counter = Counter()  # (detector, rule) -> findings

    def on_open(self, flow) -> None:
        flow.app = None  # streams are created lazily, on first data

    def _streams(self, flow) -> list[StreamState]:
        streams = flow.app
        if streams is None:
            info = FlowInfo(flow.flow_id, PROTO_NAMES.get(flow.proto, str(flow.proto)),
                            ip_text(flow.cli), flow.cport, ip_text(flow.srv), flow.sport, flow.vlan)
            streams = flow.app = [StreamState(info, 0), StreamState(info, 1)]
        return streams

    def on_data(self, flow, direction: int, data: bytes) -> None:
        detectors = self.by_direction[direction]
        if not detectors:
            return
        streams = flow.app or self._streams(flow)
        stream = streams[direction]
        chunk = StreamChunk(stream, stream.offset, data, stream.after_gap, flow.last)
        stream.after_gap = False
        stream.offset += len(data)
        self._run(flow, chunk, detectors)

    def on_gap(self, flow, direction: int, length: int) -> None:
        if not self.detectors:
            return
        stream = self._streams(flow)[direction]
        stream.offset += length
        stream.gaps += 1
        stream.after_gap = True

    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None:
        if not self.detectors:
            return
        stream = self._streams(flow)[direction]
        chunk = StreamChunk(stream, stream.offset, payload, False, pkt.ts, datagram=True)
        stream.offset += len(payload)
        self._run(flow, chunk, self.by_direction[direction])

    def on_close(self, flow) -> None:
        flow.app = None

    def _run(self, flow, item, detectors: list) -> None:
        for det in detectors:
            try:
                if not det.applies(item):
                    continue
                findings = det.inspect(item)
            except Exception:  # a detector bug must not stop the appliance
                self.errors[det.name] += 1
                log.exception("detector_failed", detector=det.name, flow_id=flow.flow_id)
                continue
            for finding in findings:
                self.hits[(finding.detector, finding.rule or finding.signature)] += 1
                self.on_finding(flow, finding, item)
