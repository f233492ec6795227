"""A body limit (here a decompression bomb) is an EVE anomaly naming the flow and the limit,
never a crash, and the replay goes on."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

from tools import pcapgen as g

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_gzip_bomb_upload_is_an_anomaly_event(tmp_path):
    bomb = gzip.compress(gzip.compress(b"\0" * (200 * 1024 * 1024)))  # ~500 bytes -> 200 MiB
    req = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb)
    conv = g.TcpConversation(mss=1400)
    pkts = (conv.handshake() + conv.client_send(req + bomb)
            + conv.server_send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") + conv.close())
    pcap = tmp_path / "bomb.pcap"
    g.write_pcap(str(pcap), pkts)
    r = subprocess.run([sys.executable, "-m", "dlp", "replay", str(pcap), "--eve", "-", "--quiet"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    (anomaly,) = [e for e in events if e["event_type"] == "anomaly"]
    assert anomaly["anomaly"]["event"] == "body.limit_ratio" and anomaly["src_port"] == 40000
    assert anomaly["http"]["url"] == "/up" and "body.limit_ratio" in anomaly["dlp"]["unscanned"]
    stats = [e for e in events if e["event_type"] == "stats"][-1]
    assert stats["dlp"]["anomalies"]["body.limit_ratio"] == 1
