"""Flow bypass: once the HTTP parser gives up on a connection (TLS, SSH...) and no raw-stream
detector runs, reassembly of that flow stops; packets are still counted and the session
tracked. With a raw-stream detector, or stream files, every byte still flows."""

from __future__ import annotations

import json

from dlp.app.dispatch import DetectionDispatcher
from dlp.config import EngineConfig
from dlp.flow.engine import FlowEngine
from dlp.stream.consumer import FanOut, NullConsumer
from tests.helpers import ACK, FIN, PSH, SYN, Collect, seg

C, S = "10.0.0.2", "10.0.0.9"
HELLO = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(160)


def tls_like_session():
    pkts = [seg(C, 40000, S, 443, SYN, seq=100), seg(S, 443, C, 40000, SYN | ACK, seq=900, ack=101),
            seg(C, 40000, S, 443, ACK, seq=101, ack=901),
            seg(C, 40000, S, 443, PSH | ACK, seq=101, ack=901, payload=HELLO)]
    seq = 101 + len(HELLO)
    # a later segment first (would be buffered), then the one before it
    pkts.append(seg(C, 40000, S, 443, PSH | ACK, seq=seq + 1000, ack=901, payload=b"B" * 1000))
    pkts.append(seg(C, 40000, S, 443, PSH | ACK, seq=seq, ack=901, payload=b"A" * 1000))
    end = seq + 2000
    pkts += [seg(S, 443, C, 40000, ACK, seq=901, ack=end),
             seg(C, 40000, S, 443, FIN | ACK, seq=end, ack=901), seg(S, 443, C, 40000, FIN | ACK, seq=901, ack=end + 1),
             seg(C, 40000, S, 443, ACK, seq=end + 1, ack=902)]
    return pkts


def run(*detectors):
    dispatcher = DetectionDispatcher(list(detectors), lambda *a: None)
    closed = []

    class Closed(NullConsumer):
        def on_close(self, flow):
            closed.append(flow)

    engine = FlowEngine(EngineConfig(), FanOut([dispatcher, Closed()]))
    dispatcher.request_bypass = engine.request_bypass
    for pkt in tls_like_session():
        engine.process(pkt)
        assert engine.mem.used == 0 or not closed  # nothing buffered once bypassed
    engine.shutdown()
    return engine, closed[0]


def test_non_http_flow_is_bypassed_and_still_counted():
    engine, flow = run(Collect("http"))
    assert flow.bypassed and engine.events["flow.bypassed"] == 1
    assert flow.pkts == [7, 3] and flow.reason == "fin"
    assert engine.events["tcp.reassembly_gap"] == 0  # no gap invented for the bytes not kept
    assert engine.mem.peak < 1000  # the out-of-order segment was never buffered


def test_a_raw_stream_detector_keeps_every_byte():
    stream = Collect("stream")
    engine, flow = run(Collect("http"), stream)
    assert not flow.bypassed and engine.events["flow.bypassed"] == 0
    sent = b"".join(c.data for c in stream.items if c.direction == 0)
    assert sent == HELLO + b"A" * 1000 + b"B" * 1000


def pipeline_flow_record(tmp_path, streams_dir=None) -> dict:
    from dlp import rules
    from dlp.outputs.eve import EveWriter
    from dlp.pipeline import Pipeline

    eve = tmp_path / ("eve-streams.json" if streams_dir else "eve.json")
    writer = EveWriter(str(eve))
    pipeline = Pipeline(rules.load("rules/default.yaml"), writer, streams_dir)
    for pkt in tls_like_session():
        pipeline.engine.process(pkt)
    pipeline.finish()
    writer.close()
    return [e for e in map(json.loads, open(eve)) if e["event_type"] == "flow"][0]


def test_the_pipeline_bypasses_with_the_default_policy_but_not_when_writing_streams(tmp_path):
    assert pipeline_flow_record(tmp_path)["dlp"].get("bypassed") is True
    record = pipeline_flow_record(tmp_path, str(tmp_path / "streams"))
    assert "bypassed" not in record["dlp"]
    files = [p for p in (tmp_path / "streams").iterdir() if p.suffix != ".jsonl"]
    assert sum(p.stat().st_size for p in files) == len(HELLO) + 2000  # every byte written
