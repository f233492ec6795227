"""Golden cases: pcaps/golden/<case>/input.pcap replayed through the CLI must give the
streams and flows in expected.json, which tools/make_goldens.py derived from what it sent."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "pcaps", "golden")
CASES = sorted(os.listdir(GOLDEN))


def endpoint(ip: str, port) -> list:
    return [ip, port]


@pytest.mark.parametrize("case", CASES)
def test_golden(case, tmp_path):
    d = os.path.join(GOLDEN, case)
    expected = json.load(open(os.path.join(d, "expected.json")))["flows"]
    eve_path, streams = tmp_path / "eve.json", tmp_path / "streams"
    r = subprocess.run([sys.executable, "-m", "dlp", "replay", os.path.join(d, "input.pcap"),
                        "--eve", str(eve_path), "--write-streams", str(streams)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in eve_path.read_text().splitlines()]
    flows = sorted((e for e in events if e["event_type"] == "flow"), key=lambda e: e["flow"]["start"])
    index = {(e["flow_id"], e["src_ip"], e["src_port"]): e
             for e in map(json.loads, (streams / "index.jsonl").read_text().splitlines())}
    assert len(flows) == len(expected), [(f["src_ip"], f.get("src_port")) for f in flows]
    unmatched = list(flows)
    for exp in expected:
        cli, srv = exp["client"], exp["server"]
        match = next(f for f in unmatched if f["proto"] == exp["proto"]
                     and [f["src_ip"], f.get("src_port", cli[1])] == cli
                     and [f["dest_ip"], f.get("dest_port", srv[1])] == srv
                     and f.get("vlan", []) == exp["vlan"])
        unmatched.remove(match)
        assert match["dlp"]["close_reason"] == exp["reason"]
        assert sorted(match["dlp"].get("anomalies", {})) == exp["anomalies"]
        for direction, (src, key) in enumerate([(cli, "toserver"), (srv, "toclient")]):
            want = exp[key]
            entry = index.get((match["flow_id"], src[0], src[1]))
            if want["bytes"] == 0 and not want["gaps"]:
                assert entry is None
                continue
            data = (streams / entry["file"]).read_bytes()
            assert (len(data), entry["bytes"]) == (want["bytes"], want["bytes"]), key
            assert hashlib.sha256(data).hexdigest() == want["sha256"], key
            assert entry["gaps"] == len(want["gaps"]) and entry["missing_bytes"] == sum(want["gaps"])
