"""`dlp rules test`: what would fire on one body, and why, without a capture.

The sample is treated as the body of an HTTP upload (or download) to `host`: it is decoded
like a captured body and shown to every enabled detector, stream detectors included (they see
the raw bytes as one chunk).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field

from detectors.base import FlowInfo, HttpTransaction, StreamChunk, StreamState
from dlp.app.dispatch import ALL_INPUTS
from dlp.app.http_session import HttpSettings
from dlp.bodies import decode_body
from dlp.rules import RuleSet

SAMPLE_FLOW = FlowInfo(0, "TCP", "192.0.2.10", 50000, "198.51.100.20", 80)


@dataclass
class SampleReport:
    findings: list = field(default_factory=list)
    parts: list = field(default_factory=list)
    events: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (detector, exception text)


def inspect_sample(ruleset: RuleSet, data: bytes, direction: int = 0, content_type: str | None = None,
                   content_encoding: str = "", host: str = "example.com",
                   filename: str | None = None) -> SampleReport:
    report = SampleReport()
    if content_type is None and filename:
        content_type = mimetypes.guess_type(filename)[0]
    settings = HttpSettings()
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    decoded = decode_body(data, content_type, codings, settings.bodies, filename=filename)
    report.parts, report.events = list(decoded.parts), list(decoded.events)
    headers = (("host", host),) + ((("content-type", content_type),) if content_type else ())
    tx = HttpTransaction(flow=SAMPLE_FLOW, direction=direction, method="POST" if direction == 0 else "GET",
                         uri="/sample", host=host, status=None if direction == 0 else 200,
                         request_headers=headers if direction == 0 else (("host", host),),
                         response_headers=() if direction == 0 else headers, content_type=content_type,
                         parts=tuple(decoded.parts), ts=0, body_length=len(data))
    chunk = StreamChunk(StreamState(SAMPLE_FLOW, direction), 0, data, False, 0)
    for det in ruleset.build_detectors():
        inputs = getattr(det, "inputs", ALL_INPUTS)
        for kind, item in (("http", tx), ("stream", chunk)):
            if kind not in inputs:
                continue
            try:
                if det.applies(item):
                    report.findings.extend(det.inspect(item))
            except Exception as exc:  # show the user, do not crash the tool
                report.errors.append((det.name, f"{type(exc).__name__}: {exc}"))
    return report
