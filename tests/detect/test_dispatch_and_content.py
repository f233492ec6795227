"""Detection stage: the dispatcher's guard, and the content detector's boundary behaviour."""

from __future__ import annotations

from detectors.base import FlowInfo, StreamChunk, StreamState
from detectors.content import ContentDetector, ContentRule
from dlp.app.dispatch import DetectionDispatcher
from dlp.config import EngineConfig
from dlp.flow.engine import FlowEngine
from tests.helpers import ACK, PSH, SYN, seg


def content(*patterns, direction="toserver", nocase=False):
    rule = ContentRule(id=1, name="r", patterns=patterns, direction=direction, nocase=nocase)
    return ContentDetector(ContentDetector.Params(rules=(rule,)))


def feed(det, pieces, direction=0):
    stream = StreamState(FlowInfo(1, "TCP", "a", 1, "b", 2), direction)
    found, off = [], 0
    for piece in pieces:
        gap = piece is None
        if gap:
            continue
        chunk = StreamChunk(stream, off, piece, getattr(feed, "gap", False), 0)
        if det.applies(chunk):
            found += det.inspect(chunk)
        off += len(piece)
    return found


def test_match_split_across_chunks_byte_by_byte():
    det = content("-----BEGIN RSA PRIVATE KEY-----")
    data = b"xx-----BEGIN RSA PRIVATE KEY-----yy"
    found = feed(det, [bytes([b]) for b in data])
    assert len(found) == 1 and found[0].extra["content"]["stream_offset"] == 2


def test_one_finding_per_rule_per_direction():
    det = content("EVIL")
    assert len(feed(det, [b"EVIL EVIL", b"EVIL"])) == 1


def test_direction_scoping():
    det = content("EVIL", direction="toserver")
    assert feed(det, [b"EVIL"], direction=1) == []


def test_never_matches_across_a_gap():
    det = content("VERYGOODDATA")
    stream = StreamState(FlowInfo(1, "TCP", "a", 1, "b", 2), 0)
    first = StreamChunk(stream, 0, b"VERYGOOD", False, 0)
    after_gap = StreamChunk(stream, 12, b"DATA", True, 0)
    assert det.inspect(first) == [] and det.inspect(after_gap) == []


def test_hex_and_nocase_patterns():
    assert len(feed(content("|de ad| beef"), [b"\xde\xad be", b"ef"])) == 1
    assert len(feed(content("secret", nocase=True), [b"SeCrEt"])) == 1


class Broken:
    name = "broken"

    def applies(self, item):
        return True

    def inspect(self, item):
        raise RuntimeError("bug")


def test_a_broken_detector_costs_no_other_detector_its_alert():
    found = []
    dispatcher = DetectionDispatcher([Broken(), content("EVIL")], lambda flow, f, item: found.append(f))
    engine = FlowEngine(EngineConfig(), dispatcher)
    c, s = "10.0.0.1", "10.0.0.2"
    for p in [seg(c, 5, s, 80, SYN, seq=0), seg(s, 80, c, 5, SYN | ACK, seq=0, ack=1),
              seg(c, 5, s, 80, ACK | PSH, seq=1, ack=1, payload=b"xxEVILxx")]:
        engine.process(p)
    assert [f.detector for f in found] == ["content"]
    assert dispatcher.errors["broken"] == 1
