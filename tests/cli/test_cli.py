"""The command line as users run it: exit codes, one-line errors, outputs on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "pcaps", "demo", "curl-upload-key.pcap")


def dlp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dlp", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def test_replay_demo_writes_alert_flows_and_stats(tmp_path):
    out = tmp_path / "eve.json"
    r = dlp("replay", DEMO, "--eve", str(out))
    assert r.returncode == 0, r.stderr
    assert "alerts       1" in r.stdout and "packets/s" in r.stdout and "MB/s" in r.stdout
    events = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = {e["event_type"] for e in events}
    assert kinds == {"alert", "flow", "stats"}
    (alert,) = [e for e in events if e["event_type"] == "alert"]
    assert alert["alert"]["detector"] == "secret" and alert["direction"] == "to_server"
    assert alert["http"]["direction"] == "upload" and alert["http"]["url"] == "/upload"
    assert alert["dest_port"] != alert["src_port"]


def test_eve_to_stdout_keeps_summary_off_stdout():
    r = dlp("replay", DEMO, "--eve", "-")
    assert r.returncode == 0
    for line in r.stdout.splitlines():
        json.loads(line)
    assert "summary" in r.stderr


def test_write_streams_index_and_files(tmp_path):
    d = tmp_path / "streams"
    r = dlp("replay", DEMO, "--eve", str(tmp_path / "e.json"), "--write-streams", str(d))
    assert r.returncode == 0, r.stderr
    index = [json.loads(line) for line in (d / "index.jsonl").read_text().splitlines()]
    assert index
    for entry in index:
        assert set(entry) >= {"file", "src_ip", "src_port", "dest_ip", "dest_port", "bytes", "gaps", "flow_id"}
        assert (d / entry["file"]).stat().st_size == entry["bytes"]
    uploads = [e for e in index if b"BEGIN RSA PRIVATE KEY" in (d / e["file"]).read_bytes()]
    assert len(uploads) == 1 and uploads[0]["dest_port"] != 0


@pytest.mark.parametrize("content,needle", [
    (b"this is not a capture file at all", "not a pcap or pcapng file"),
    (b"", "not a pcap or pcapng file"),
])
def test_unreadable_capture_is_one_line_error_exit_2(tmp_path, content, needle):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    r = dlp("replay", str(bad), "--eve", str(tmp_path / "e.json"))
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_file_is_exit_2(tmp_path):
    r = dlp("replay", str(tmp_path / "nope.pcap"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_capture_cut_short_replays_what_is_there(tmp_path):
    data = open(DEMO, "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 37])
    r = dlp("replay", str(cut), "--eve", str(tmp_path / "e.json"))
    assert r.returncode == 0
    assert "cut short" in r.stdout and "Traceback" not in r.stderr


def test_bad_rules_file_reports_file_and_line(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("version: 1\ndetectors:\n  content:\n    rules:\n      - id: 1\n        name: x\n"
                     "        patterns: [a]\n        severity: nine\n")
    r = dlp("rules", "check", str(rules))
    assert r.returncode == 2
    assert f"{rules}:8:" in r.stderr and "severity must be an integer" in r.stderr
    r = dlp("replay", DEMO, "--rules", str(rules))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_default_rules_check_ok():
    r = dlp("rules", "check", os.path.join(ROOT, "rules", "default.yaml"))
    assert r.returncode == 0 and "OK" in r.stdout


def test_progress_bar_on_a_terminal(tmp_path):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "dlp", "replay", DEMO, "--eve", str(tmp_path / "e.json")],
                            stdout=subprocess.DEVNULL, stderr=slave, cwd=ROOT)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    os.close(master)
    assert b"100.0%" in out and b"[####" in out and b"MB/s" in out


def test_no_progress_bar_when_not_a_terminal(tmp_path):
    r = dlp("replay", DEMO, "--eve", str(tmp_path / "e.json"))
    assert "%" not in r.stderr


def test_rules_test_explains_what_fires(tmp_path):
    sample = tmp_path / "checkout.json"
    sample.write_text('{"customer": "J Doe", "card_number": "4301 7568 2052 5892", "exp": "12/29"}')
    r = dlp("rules", "test", os.path.join(ROOT, "rules", "default.yaml"), str(sample))
    assert r.returncode == 0, r.stderr
    assert "1 alert(s):" in r.stdout and "[pan]" in r.stdout and "430175******5892" in r.stdout
    assert "4301756820525892" not in r.stdout and "json:$.card_number" in r.stdout
    r = dlp("rules", "test", os.path.join(ROOT, "rules", "default.yaml"), str(sample), "--direction", "download")
    assert "0 alert(s):" in r.stdout  # downloads raise nothing by default
