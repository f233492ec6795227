"""`dlp replay --keylog` on captures made here: curl -> mitmproxy (SSLKEYLOGFILE) -> HTTPS
servers speaking HTTP/1.1 and HTTP/2 over TLS 1.2 and 1.3 on non-standard ports, tcpdump on
the proxy -> server link, plus a clear-text upload in the same capture. Every card upload
alerts once with the flow's real 5-tuple and flow id, the clean ones do not; without the key
log (or with the wrong one) only the clear-text upload does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.tls.runs import alerts as alerts_of, flow_records, replay

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def test_every_card_upload_alerts_once_with_the_real_flow(recording):
    result, d = recording
    events = replay(d, result["pcap"], "--keylog", result["keylog"])
    alerts = [e for e in events if e["event_type"] == "alert"]
    flows = {e["flow_id"]: e for e in events if e["event_type"] == "flow"}
    expected = {u["name"] for u in result["uploads"] if u["name"].startswith("cards-")}
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts) == sorted(expected)
    for alert in alerts:
        upload = next(u for u in result["uploads"] if u["name"] == alert["http"]["url"].lstrip("/"))
        assert alert["alert"]["detector"] == "pan" and alert["direction"] == "to_server"
        assert alert["src_ip"] == "10.213.7.2" and alert["dest_ip"] == "10.213.7.1"
        assert alert["dest_port"] == upload["port"]
        assert alert["http"]["hostname"] == "10.213.7.1" and alert["http"]["http_method"] == "POST"
        assert alert["http"]["length"] == upload["len"]
        flow = flows[alert["flow_id"]]  # the alert names the engine's own flow record
        assert (flow["src_port"], flow["dest_port"]) == (alert["src_port"], alert["dest_port"])
        assert flow["community_id"] == alert["community_id"]
    stats = [e for e in events if e["event_type"] == "stats"][-1]
    assert stats["dlp"]["anomalies"]["tls.keylog_decrypted"] == 9


def test_decrypted_alerts_mark_their_flow_records_alerted(recording):
    """As a clear-text alert does: the record of every TLS flow with a card upload says
    alerted, those of the clean TLS flows do not; without the key log none of them does."""
    result, d = recording
    events = replay(d, result["pcap"], "--keylog", result["keylog"])
    records = flow_records(events)
    alerted_flows = {a["flow_id"] for a in alerts_of(events)}
    tls_records = [r for r in records.values() if r["dest_port"] != 8080]
    assert len(tls_records) == 9 and len(alerted_flows) == 6
    assert {r["flow_id"] for r in records.values() if r["flow"]["alerted"]} == alerted_flows
    assert sum(r["flow"]["alerted"] for r in tls_records) == 5  # 5 TLS card uploads, 4 clean
    plain = replay(d, result["pcap"])
    assert [r["dest_port"] for r in flow_records(plain).values() if r["flow"]["alerted"]] == [8080]


def test_without_the_key_log_only_clear_text_alerts(recording):
    result, d = recording
    alerts = [e for e in replay(d, result["pcap"]) if e["event_type"] == "alert"]
    assert [a["http"]["url"] for a in alerts] == ["/cards-plain"]


def test_a_wrong_key_log_decrypts_nothing_and_says_so(recording):
    result, d = recording
    wrong = d / "wrong.keys"
    with open(result["keylog"]) as fh, open(wrong, "w") as out:
        for line in fh:  # same labels and client randoms, other secrets
            if not line.strip():
                continue
            label, rnd, secret = line.split()
            out.write(f"{label} {rnd} {'00' * (len(secret) // 2)}\n")
    events = replay(d, result["pcap"], "--keylog", str(wrong))
    assert [a["http"]["url"] for a in events if a["event_type"] == "alert"] == ["/cards-plain"]
    stats = [e for e in events if e["event_type"] == "stats"][-1]
    assert stats["dlp"]["anomalies"]["tls.keylog_no_key"] == 9


def test_missing_key_log_is_a_usage_error(recording, tmp_path):
    result, _ = recording
    proc = subprocess.run([sys.executable, "-m", "dlp", "replay", "--keylog", str(tmp_path / "none"),
                           "--eve", str(tmp_path / "e.json"), result["pcap"]], capture_output=True, text=True)
    assert proc.returncode == 2 and "no such key log file" in proc.stderr and "Traceback" not in proc.stderr
