"""The supervisor's outputs: size rotation, RFC 5424 syslog over UDP and TCP (collectors on
loopback), Prometheus text, and a full disk or unwritable output ending the daemon loudly
with a non-zero exit instead of dropping events."""

from __future__ import annotations

import calendar
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from dlp.daemon_config import EveOutput, Outputs, SyslogOutput
from dlp.live.outputs import OutputSet, event_type
from dlp.live.supervisor import EXIT_OUTPUT_FAILED
from dlp.outputs.metrics import Metrics
from dlp.outputs.rotating import RotatingFile
from dlp.outputs.syslog import format_message
from tests.live.daemon_helpers import ROOT, log_events

ALERT = {"timestamp": "2026-11-27T09:00:00.000000+0000", "flow_id": 1, "event_type": "alert",
         "alert": {"severity": 1, "signature_id": 2000001}}
STATS = {"timestamp": "2026-11-27T09:00:00.000000+0000", "event_type": "stats",
         "stats": {"decoder": {"pkts": 10, "bytes": 900}, "capture": {"kernel_packets": 12, "kernel_drops": 2},
                   "flow": {"total": 3, "active": 1}},
         "dlp": {"worker": 1, "interface": "eth1", "rss_bytes": 123}}


def _line(event) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def test_event_type_is_read_without_parsing():
    assert event_type(_line(ALERT)) == "alert" and event_type(_line(STATS)) == "stats"


def test_rotation_keeps_whole_lines_and_the_newest_files(tmp_path):
    path = tmp_path / "eve.json"
    out = RotatingFile(str(path), max_bytes=1000, keep=2)
    lines = [json.dumps({"n": i, "pad": "x" * 90}) + "\n" for i in range(50)]
    for line in lines:
        out.write(line)
    out.close()
    assert out.rotations >= 4 and not (tmp_path / "eve.json.3").exists()
    kept = [(tmp_path / n).read_text() for n in ("eve.json.2", "eve.json.1", "eve.json")]
    assert all(len(t) <= 1000 and t.endswith("\n") for t in kept)
    assert "".join(kept) == "".join(lines[-len("".join(kept).splitlines()):])  # newest, in order


def test_syslog_message_format():
    msg = format_message('{"a":1}', "alert", 2, 21, "sensor1", procid=42,
                         now=calendar.timegm((2026, 11, 27, 0, 0, 0)) + 0.5)
    assert msg == b'<170>1 2026-11-27T00:00:00.500000Z sensor1 dlp 42 alert - {"a":1}'


def _collector(kind):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    if kind == socket.SOCK_STREAM:
        sock.listen(1)
    return sock


def test_outputs_write_count_and_send_syslog_over_udp_and_tcp(tmp_path):
    udp, tcp = _collector(socket.SOCK_DGRAM), _collector(socket.SOCK_STREAM)
    metrics = Metrics()
    for sock, proto in ((udp, "udp"), (tcp, "tcp")):
        syslog = SyslogOutput("127.0.0.1", sock.getsockname()[1], proto, "local5", ("alert",))
        outputs = OutputSet(Outputs(eve=(EveOutput(str(tmp_path / f"{proto}.json")),), syslog=syslog,
                                    metrics=None), metrics)
        outputs.write_lines([_line(ALERT), _line(STATS)])
        outputs.close()
        assert (tmp_path / f"{proto}.json").read_bytes() == _line(ALERT) + b"\n" + _line(STATS) + b"\n"
    got_udp = udp.recv(65535)
    conn, _ = tcp.accept()
    conn.settimeout(5)
    got_tcp = conn.recv(65535)
    for got in (got_udp, re.sub(rb"^\d+ ", b"", got_tcp)):
        assert re.match(rb"<170>1 \S+Z \S+ dlp \d+ alert - ", got) and got.endswith(_line(ALERT))
    length, rest = got_tcp.split(b" ", 1)
    assert int(length) == len(rest)  # octet counting (RFC 6587)
    text = metrics.render()
    assert "dlp_alerts_written_total 2\n" in text  # once per output set above
    assert 'dlp_kernel_drops_total{interface="eth1",worker="1"} 2\n' in text
    assert 'dlp_memory_rss_bytes{interface="eth1",worker="1"} 123\n' in text
    for sock in (udp, tcp, conn):
        sock.close()


def test_tcp_collector_down_at_start_is_an_error():
    free = _collector(socket.SOCK_STREAM)
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(ConnectionRefusedError):
        OutputSet(Outputs(eve=(), syslog=SyslogOutput("127.0.0.1", port, "tcp"), metrics=None), Metrics())


@pytest.fixture
def private_net():
    """A namespace of our own with only loopback: the daemon captures there."""
    ns = f"dlp5o{os.getpid() % 10000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    yield ns
    subprocess.run(["ip", "netns", "del", ns], check=False)


def _daemon(ns, tmp_path, eve: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "dlp.yaml"
    cfg.write_text("version: 1\nstats_interval: 0.2\ninterfaces:\n  - name: lo\n    workers: 2\n"
                   "outputs:\n  metrics: null\n")
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "dlp", "run", "--config",
                           str(cfg), "--eve", eve], capture_output=True, text=True, cwd=ROOT, timeout=30)


def test_dev_full_is_a_loud_error_and_nonzero_exit(private_net, tmp_path):
    r = _daemon(private_net, tmp_path, "/dev/full")
    assert r.returncode == EXIT_OUTPUT_FAILED
    (tmp_path / "err").write_text(r.stderr)
    failed = [e for e in log_events(tmp_path / "err") if e["event"] == "output_failed"]
    assert failed and "No space left on device" in failed[0]["error"]


def test_full_tmpfs_is_a_loud_error_and_nonzero_exit(private_net, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], check=True)
    try:
        r = _daemon(private_net, tmp_path, str(disk / "eve.json"))
        written = (disk / "eve.json").read_text()
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert r.returncode == EXIT_OUTPUT_FAILED and "output_failed" in r.stderr
    assert len(written) > 8000  # it wrote until the disk was full
    assert all(json.loads(line)["event_type"] == "stats" for line in written.splitlines()[:-1])


def test_eve_to_stdout_gets_whole_lines_from_both_workers(private_net, tmp_path):
    cfg = tmp_path / "dlp.yaml"
    cfg.write_text("version: 1\nstats_interval: 0.1\ninterfaces:\n  - name: lo\n    workers: 2\n"
                   "outputs:\n  metrics: null\n")
    proc = subprocess.Popen(["ip", "netns", "exec", private_net, sys.executable, "-m", "dlp", "run",
                             "--config", str(cfg), "--eve", "-"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        lines = [proc.stdout.readline() for _ in range(40)]  # 2 workers x 10 stats/s: ~2 s
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    evs = [json.loads(line) for line in lines + rest.splitlines(keepends=True)]
    assert {e["dlp"]["worker"] for e in evs} == {0, 1} and {e["event_type"] for e in evs} == {"stats"}


def test_interface_that_vanishes_ends_the_daemon_loudly(private_net, tmp_path):
    subprocess.run(["ip", "-n", private_net, "link", "add", "dlp5v0", "type", "veth", "peer", "name", "dlp5v1"],
                   check=True)
    subprocess.run(["ip", "-n", private_net, "link", "set", "dlp5v0", "up"], check=True)
    cfg = tmp_path / "dlp.yaml"
    cfg.write_text("version: 1\nstats_interval: 0.2\ninterfaces:\n  - name: dlp5v0\n    workers: 2\n"
                   "outputs:\n  metrics: null\n")
    eve = tmp_path / "eve.json"
    proc = subprocess.Popen(["ip", "netns", "exec", private_net, sys.executable, "-m", "dlp", "run",
                             "--config", str(cfg), "--eve", str(eve)], cwd=ROOT,
                            stderr=open(tmp_path / "err", "w"))
    try:
        from tests.live.daemon_helpers import events, stats_by_worker, wait_for

        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        subprocess.run(["ip", "-n", private_net, "link", "del", "dlp5v0"], check=True)
        code = proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    logged = [e["event"] for e in log_events(tmp_path / "err")]
    assert code == 5 and "workers_keep_dying" in logged and "worker_restarted" in logged
