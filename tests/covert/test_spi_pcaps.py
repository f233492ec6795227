"""spi end to end on the committed captures (pcaps/spi/, tools/covert_net/spi.py) with the
default rules: nmap scans by kind, an hping3 SYN flood, injected RST and data, ACKs with no
session and an unsolicited DNS answer; ordinary sessions raise nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.covert.session_items import ROOT, alerts, replay_events, signatures

SPI = os.path.join(ROOT, "pcaps", "spi")


def test_nmap_scans_by_kind():
    sigs = signatures(replay_events(os.path.join(SPI, "scans.pcap")))
    for kind in ("SYN", "NULL", "FIN", "XMAS"):
        assert sigs[f"DLP SPI port scan ({kind})"] == 1, sigs
    assert sigs["DLP SPI invalid TCP flag combination"] == 3  # null, fin without ack, xmas
    assert "DLP SPI SYN flood (half-open connections to one service)" not in sigs


def test_hping3_syn_flood():
    events = replay_events(os.path.join(SPI, "synflood.pcap"))
    assert signatures(events) == {"DLP SPI SYN flood (half-open connections to one service)": 1}
    flood = alerts(events)[0]
    assert flood["spi"]["half_open"] == 200 and flood["dest_port"] == 8080


def test_injection_no_session_and_unsolicited_dns_through_the_cli(tmp_path):
    eve = tmp_path / "eve.json"
    r = subprocess.run([sys.executable, "-m", "dlp", "replay", os.path.join(SPI, "injection.pcap"),
                        "--eve", str(eve), "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    found = {e["alert"]["signature"]: e for e in map(json.loads, eve.read_text().splitlines())
             if e["event_type"] == "alert"}
    assert set(found) == {"DLP SPI TCP RST out of window (injection)", "DLP SPI TCP data out of window (injection)",
                          "DLP SPI TCP ACK or data with no session", "DLP SPI DNS answer with no matching query"}
    rst = found["DLP SPI TCP RST out of window (injection)"]
    assert (rst["src_port"], rst["dest_port"], rst["alert"]["detector"]) == (40001, 9000, "spi")
    assert found["DLP SPI DNS answer with no matching query"]["spi"]["rrname"] == "update.example.com"


def test_midstream_grace_covers_the_late_phase_when_long_enough():
    rules = "version: 1\ndetectors:\n  spi:\n    midstream_grace_seconds: 600\n"
    sigs = signatures(replay_events(os.path.join(SPI, "injection.pcap"), rules))
    assert set(sigs) == {"DLP SPI TCP RST out of window (injection)", "DLP SPI TCP data out of window (injection)"}


def test_ordinary_sessions_raise_nothing():
    assert alerts(replay_events(os.path.join(SPI, "ordinary.pcap"))) == []
