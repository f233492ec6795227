"""End to end: the HTTP corpus recorded with real clients and a real server
(tools/record_http_corpus.py) replayed with the default policy. Each capture must raise
exactly the alerts its manifest lists — and nothing else."""

from __future__ import annotations

import json
import random
import os
import subprocess
import sys
from collections import Counter

import pytest

from tools.dlp_samples import cards

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "pcaps", "http")
MANIFEST = json.load(open(os.path.join(CORPUS, "manifest.json")))


def replay(pcap: str, tmp_path, rules: str | None = None) -> list[dict]:
    eve = tmp_path / "eve.json"
    cmd = [sys.executable, "-m", "dlp", "replay", pcap, "--eve", str(eve), "--quiet"]
    if rules:
        cmd += ["--rules", rules]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in eve.read_text().splitlines()]


@pytest.mark.parametrize("case", sorted(MANIFEST))
def test_case_raises_exactly_its_alerts(case, tmp_path):
    events = replay(os.path.join(CORPUS, case + ".pcap"), tmp_path)
    alerts = [e for e in events if e["event_type"] == "alert"]
    got = Counter(a["alert"]["detector"] for a in alerts)
    assert dict(got) == MANIFEST[case]["expect"], [a["alert"]["signature"] for a in alerts]
    for a in alerts:
        assert a["http"]["direction"] == "upload" and a["direction"] == "to_server"
        assert a["src_ip"] == "10.213.7.2" and a["dest_port"] == 8080
        assert a["http"]["hostname"] == "10.213.7.1" and a["http"]["http_method"] in ("POST", "PUT")


def test_card_alert_lists_every_distinct_number_masked(tmp_path):
    events = replay(os.path.join(CORPUS, "multipart-csv-keepalive.pcap"), tmp_path)
    (alert,) = [e for e in events if e["event_type"] == "alert"]
    dlp = alert["dlp"]
    assert dlp["distinct"] == 20 and len(dlp["matches"]) == 20
    for m in dlp["matches"]:
        assert m["type"] == "pan" and "*" in m["masked"] and len(m["hash"]) == 64
    raw = (tmp_path / "eve.json").read_text()
    numbers = cards(random.Random(2026), 20)  # what tools/record_http_corpus.py uploaded
    assert not any(n in raw or n[6:] in raw for n in numbers)  # never a full number, nor its tail
    assert alert["http"]["filename"] == "export.csv" and alert["http"]["url"] == "/upload"
