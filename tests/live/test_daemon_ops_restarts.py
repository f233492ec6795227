"""A worker that dies: its counters survive in the supervisor's metrics (totals never go
down), and an abnormal death says in a dlp_worker EVE event, and in
dlp_worker_lost_flows_total, which open flows went with it.

The metrics and the event are checked from stats events fed by hand; the supervisor's wiring
(_reap: drain, retire, event, restart) with a real child process killed by SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

from dlp.daemon_config import EveOutput, Outputs
from dlp.live.outputs import OutputSet
from dlp.live.supervisor import Supervisor, _Child, worker_died_event
from dlp.live.worker import WorkerSpec
from dlp.outputs.metrics import Metrics
from tests.live.daemon_helpers import wait_for

SPEC = WorkerSpec(0, "eth1", object, {}, "rules.yaml", 1.0)


def _stats(worker: int, pid: int, packets: int, drops: int, active: int, ts: str = "2026-11-27T09:00:00.000000+0000"):
    return {"timestamp": ts, "event_type": "stats",
            "stats": {"decoder": {"pkts": packets, "bytes": packets * 100},
                      "capture": {"kernel_packets": packets, "kernel_drops": drops},
                      "flow": {"total": active + 1, "active": active}, "detect": {"alert": 1}},
            "dlp": {"worker": worker, "interface": "eth1", "pid": pid, "rss_bytes": 1000 + pid}}


def _series(metrics: Metrics) -> dict[str, float]:
    """metric{labels} -> value, from the rendered text."""
    out = {}
    for line in metrics.render().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


W0, W1 = '{interface="eth1",worker="0"}', '{interface="eth1",worker="1"}'


def test_counters_carry_over_a_restart_and_gauges_do_not():
    m = Metrics()
    m.stats_event(_stats(0, pid=100, packets=500, drops=7, active=4))
    m.stats_event(_stats(1, pid=200, packets=50, drops=0, active=1))
    assert m.retire("eth1", 0)["dlp"]["pid"] == 100
    gone = _series(m)
    assert gone["dlp_packets_total" + W0] == 500 and gone["dlp_kernel_drops_total" + W0] == 7
    assert "dlp_flows_active" + W0 not in gone and "dlp_memory_rss_bytes" + W0 not in gone
    m.stats_event(_stats(0, pid=101, packets=20, drops=1, active=2))  # the new process counts anew
    s = _series(m)
    assert s["dlp_packets_total" + W0] == 520 and s["dlp_bytes_total" + W0] == 52000
    assert s["dlp_kernel_drops_total" + W0] == 8 and s["dlp_kernel_packets_total" + W0] == 520
    assert s["dlp_flows_total" + W0] == 5 + 3 and s["dlp_worker_alerts_total" + W0] == 2
    assert s["dlp_flows_active" + W0] == 2 and s["dlp_memory_rss_bytes" + W0] == 1101  # not summed
    assert s["dlp_packets_total" + W1] == 50  # the other worker untouched
    m.retire("eth1", 0)  # a second death: both dead processes are carried
    m.stats_event(_stats(0, pid=102, packets=3, drops=0, active=0))
    assert _series(m)["dlp_packets_total" + W0] == 523


def test_a_counter_that_goes_down_in_one_process_never_goes_down_in_the_metrics():
    m = Metrics()
    m.stats_event(_stats(0, pid=100, packets=500, drops=9, active=1))
    m.stats_event(_stats(0, pid=100, packets=600, drops=2, active=1))  # the drop counter was reset
    s = _series(m)
    assert s["dlp_kernel_drops_total" + W0] == 11 and s["dlp_packets_total" + W0] == 600


def test_a_worker_that_never_reported_retires_with_nothing():
    m = Metrics()
    assert m.retire("eth1", 0) is None
    assert not any(k.startswith("dlp_packets_total{") for k in _series(m))


def test_the_dead_workers_event_says_what_was_lost_from_its_last_stats():
    last = _stats(0, pid=4242, packets=1234, drops=0, active=17, ts="2026-11-27T08:59:30.000000+0000")
    event = worker_died_event(SPEC, 4242, -signal.SIGKILL, last, 1_795_770_000_000_000)
    assert event["event_type"] == "dlp_worker" and event["timestamp"] == "2026-11-27T09:00:00.000000+0000"
    died = event["dlp_worker"]
    assert (died["worker"], died["interface"], died["pid"]) == (0, "eth1", 4242)
    assert died["signal"] == "SIGKILL" and died["exit_code"] is None and died["flows_lost"] == 17
    assert died["last_stats"] == {"timestamp": "2026-11-27T08:59:30.000000+0000", "flows_active": 17,
                                  "packets": 1234}
    assert "flow records" in died["lost"] and "detection" in died["lost"]
    crashed = worker_died_event(SPEC, 4243, 1, None, 0)["dlp_worker"]
    assert crashed["exit_code"] == 1 and crashed["signal"] is None
    assert crashed["flows_lost"] is None and crashed["last_stats"] is None  # unknown, not zero


def _child_that_sent(line: bytes) -> tuple[_Child, subprocess.Popen]:
    """A stand-in worker: a process that writes one EVE line down its socket, then waits."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc = subprocess.Popen([sys.executable, "-c",
                             "import os, sys, time; os.write(int(sys.argv[1]), sys.argv[2].encode() + b'\\n');"
                             " time.sleep(60)", str(theirs.fileno()), line.decode()],
                            pass_fds=[theirs.fileno()])
    theirs.close()
    return _Child(SPEC, proc.pid, ours), proc


def _supervisor_with(child: _Child, tmp_path) -> Supervisor:
    metrics = Metrics()
    outputs = OutputSet(Outputs(eve=(EveOutput(str(tmp_path / "eve.json")),), metrics=None), metrics)
    sup = Supervisor([SPEC], None, outputs, metrics, None)
    sup.children[0] = child
    sup.selector.register(child.sock, 1, child)  # selectors.EVENT_READ, as _start does
    return sup


def test_a_killed_worker_is_retired_reported_and_restarted(tmp_path):
    last = _stats(0, pid=0, packets=900, drops=3, active=5)
    child, proc = _child_that_sent(json.dumps(last, separators=(",", ":")).encode())
    sup = _supervisor_with(child, tmp_path)
    try:
        wait_for(lambda: child.sock.recv(1, socket.MSG_PEEK), "the stand-in's stats line")
        os.kill(proc.pid, signal.SIGKILL)
        wait_for(lambda: sup._reap() or not sup.children, "the supervisor to reap it")
    finally:
        if sup.children:  # not reaped by the supervisor: not left behind either
            proc.kill()
        proc.wait()
    sup.outputs.close()
    evs = [json.loads(line) for line in (tmp_path / "eve.json").read_text().splitlines()]
    assert [e["event_type"] for e in evs] == ["stats", "dlp_worker"]  # drained before it is reported
    assert evs[1]["dlp_worker"]["signal"] == "SIGKILL" and evs[1]["dlp_worker"]["flows_lost"] == 5
    assert evs[1]["dlp_worker"]["pid"] == proc.pid
    s = _series(sup.metrics)
    assert s["dlp_worker_lost_flows_total"] == 5 and s["dlp_worker_restarts_total"] == 1
    assert s["dlp_packets_total" + W0] == 900 and "dlp_flows_active" + W0 not in s  # retired
    assert s['dlp_events_written_total{event_type="dlp_worker"}'] == 1
    assert [spec.index for _, spec in sup.restarts_due] == [0]
