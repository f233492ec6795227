"""The live key-log path (for `dlp run --keylog`): packets chosen by TlsPacketSelector are
piped into tshark as they come; decrypted bytes come back while the capture is still
running, with keys the proxy writes after tshark started, and they are the same bytes the
file path decrypts."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import defaultdict

from dlp.capture.pcapfile import CaptureFile
from dlp.decode.decoder import Decoder
from dlp.tls import tshark
from dlp.tls.live import LiveTlsDecryptor, TlsPacketSelector
from tests.tls.runs import alerts as alerts_of, flow_records, run_live

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def by_connection(items) -> dict:
    out = defaultdict(bytearray)
    for _stream, tup, direction, data in items:
        out[(tup, direction)] += data
    return {k: bytes(v) for k, v in out.items()}


def test_live_pipe_decrypts_as_packets_arrive(recording, tmp_path):
    result, _ = recording
    keylog = tmp_path / "keys.log"
    keylog.write_text("")  # the proxy has written nothing yet
    packets = []
    decoder = Decoder()
    with CaptureFile(result["pcap"]) as cap:
        for ts, linktype, frame, wirelen in cap:
            packets.append((ts, linktype, frame, wirelen, decoder.decode(linktype, frame, wirelen, ts)))
    selector = TlsPacketSelector()
    live = LiveTlsDecryptor(str(keylog), packets[0][1])
    live.start()
    try:
        shutil.copy(result["keylog"], keylog)  # keys arrive after tshark started
        chosen = [p for p in packets if p[4] is not None and selector.wants(p[4])]
        half = len(chosen) // 2
        for ts, _, frame, wirelen, _ in chosen[:half]:
            live.packet(ts, frame, wirelen)
        live.flush()
        early = []
        deadline = time.monotonic() + 20
        while not early and time.monotonic() < deadline:  # output before the input ends
            early = live.poll()
            time.sleep(0.05)
        assert early, "nothing decrypted while the capture was still running"
        for ts, _, frame, wirelen, _ in chosen[half:]:
            live.packet(ts, frame, wirelen)
    finally:
        assert live.close() == 0
    items = early + live.poll()
    assert len({tup for _, tup, _, _ in items}) == 9  # every TLS connection, none of the clear one
    assert all(tup[3] != 8080 for _, tup, _, _ in items)
    assert by_connection(items) == by_connection(tshark.decrypt_capture(result["pcap"], result["keylog"]))
    requests = b"".join(data for _, _, d, data in items if d == 0)
    assert b"POST /cards-h1-tls12 HTTP/1.1" in requests and b'"card_number"' in requests


def test_selector_ignores_clear_text_and_bounds_its_memory(recording):
    result, _ = recording
    selector = TlsPacketSelector(max_flows=4)
    decoder = Decoder()
    chosen = 0
    with CaptureFile(result["pcap"]) as cap:
        for ts, linktype, frame, wirelen in cap:
            pkt = decoder.decode(linktype, frame, wirelen, ts)
            if pkt is not None and selector.wants(pkt):
                chosen += 1
                assert 8080 not in (pkt.sport, pkt.dport)
    assert chosen > 0 and len(selector.flows) <= 4


def test_live_pipeline_alerts_on_decrypted_uploads_while_capturing(recording, tmp_path):
    """LiveKeylogPipeline fed in capture batches as the daemon's worker does: the card
    uploads alert during the capture (not only at the end), with the engine's flow ids."""
    import json

    from dlp.cli import load_rules
    from dlp.outputs.eve import EveWriter
    from dlp.tls.live_pipeline import LiveKeylogPipeline

    result, _ = recording
    eve_path = tmp_path / "eve.json"
    writer = EveWriter(str(eve_path))
    pipeline = LiveKeylogPipeline(load_rules(None), writer, result["keylog"])
    with CaptureFile(result["pcap"]) as cap:
        records = list(cap)
    alerts_during = 0
    for i in range(0, len(records), 20):  # batches, as a capture ring hands them out
        pipeline.feed(records[i:i + 20])
        time.sleep(0.05)
    deadline = time.monotonic() + 20
    while alerts_during < 6 and time.monotonic() < deadline:  # the link goes quiet; tshark catches up
        pipeline.feed(())
        alerts_during = sum(pipeline.summary.alerts.values())
        time.sleep(0.1)
    assert alerts_during == 6  # 5 decrypted uploads with cards + the clear-text one, before finish()
    summary = pipeline.finish()
    writer.close()
    assert sum(summary.alerts.values()) == 6
    events = [json.loads(line) for line in open(eve_path)]
    flows = {e["flow_id"]: e for e in events if e["event_type"] == "flow"}
    alerts = [e for e in events if e["event_type"] == "alert"]
    names = {u["name"] for u in result["uploads"] if u["name"].startswith("cards-")}
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts) == sorted(names)
    for alert in alerts:
        assert flows[alert["flow_id"]]["src_port"] == alert["src_port"]
    # the TLS flows' records waited for their decrypted streams: alerted as their alerts say
    assert {i for i, f in flows.items() if f["flow"]["alerted"]} == {a["flow_id"] for a in alerts}
    assert summary.anomalies["tls.keylog_decrypted"] == 9


def test_live_pipeline_never_bypasses_tls_flows(recording, tmp_path):
    """Without a raw-stream detector the dispatcher would bypass every non-HTTP stream, TLS
    included, and the daemon drops a bypassed flow's packets in the kernel: tshark would
    lose them. TLS flows stay unbypassed and their uploads still alert."""
    result, _ = recording
    default = open(os.path.join(ROOT, "rules", "default.yaml")).read()
    no_stream_detector = re.sub(r"(\n  content:\n    enabled: )true", r"\1false", default)
    assert no_stream_detector != default
    rules = tmp_path / "rules.yaml"
    rules.write_text(no_stream_detector)
    summary, events = run_live(result["pcap"], result["keylog"], tmp_path / "eve.json", str(rules))
    tls_records = [r for r in flow_records(events).values() if r["dest_port"] != 8080]
    assert len(tls_records) == 9 and not any(r["dlp"].get("bypassed") for r in tls_records)
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts_of(events)) == sorted(
        u["name"] for u in result["uploads"] if u["name"].startswith("cards-"))
