"""`dlp run` end to end on a veth pair (tools/netns.TestNet): two EVE destinations (everything
to one file, only dlp_worker events to another), a worker with open UDP flows killed by
SIGKILL: the dlp_worker event names it, the signal and the flows it took with it (from its
last stats event), dlp_worker_lost_flows_total counts them, and its packet total in the
metrics does not go back to zero when its successor starts counting.

Needs root and iproute2. Traffic: 64 UDP datagrams from the client namespace to the server
namespace, where the daemon captures; processes are stopped by PID, namespaces deleted.
"""

from __future__ import annotations

import os
import signal
import sys

from tests.live.daemon_helpers import events, log_events, start_daemon, stats_by_worker, wait_for
from tools.netns import TestNet

METRICS_PORT = 9718
SEND_UDP = """
import socket, sys
for _ in range(64):  # a new socket each time: a new source port, a new flow, spread over the workers
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x" * 100, (sys.argv[1], 9))
"""


def _config(tmp_path, dev: str) -> str:
    path = tmp_path / "dlp.yaml"
    path.write_text(f"""version: 1
interfaces:
  - name: {dev}
    workers: 2
hmac_key: {tmp_path / 'hmac.key'}
stats_interval: 0.5
outputs:
  eve:
    - {{path: {tmp_path / 'eve.json'}}}
    - {{path: {tmp_path / 'workers.json'}, types: [dlp_worker]}}
  metrics: {{host: 127.0.0.1, port: {METRICS_PORT}}}
""")
    return str(path)


def _metrics(net) -> dict[str, float]:
    text = net.run_in(net.server_ns, ["curl", "-sS", "--max-time", "5",
                                      f"http://127.0.0.1:{METRICS_PORT}/metrics"]).stdout.decode()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))}


def test_a_killed_worker_is_reported_and_its_counters_kept(tmp_path):
    eve, died_file, stderr = tmp_path / "eve.json", tmp_path / "workers.json", tmp_path / "dlp.stderr"
    with TestNet(tag="dlp5w") as net:
        daemon = start_daemon(net, net.server_ns, ["--config", _config(tmp_path, net.server_dev)], stderr)
        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        net.run_client([sys.executable, "-c", SEND_UDP, net.server_ip])
        busy = wait_for(lambda: [s for s in stats_by_worker(events(eve))[0][-1:] if s["stats"]["flow"]["active"]],
                        "worker 0 reporting open flows")[0]
        victim = busy["dlp"]["pid"]
        os.kill(victim, signal.SIGKILL)
        died = wait_for(lambda: events(died_file), "the dlp_worker event")[0]["dlp_worker"]
        wait_for(lambda: stats_by_worker(events(eve))[0][-1]["dlp"]["pid"] != victim,
                 "stats from the restarted worker")
        m = _metrics(net)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    evs = events(eve)
    assert events(died_file) == [e for e in evs if e["event_type"] == "dlp_worker"]  # once, in both files
    assert (died["worker"], died["pid"], died["signal"], died["exit_code"]) == (0, victim, "SIGKILL", None)
    victims = [e for e in stats_by_worker(evs)[0] if e["dlp"]["pid"] == victim]
    assert died["last_stats"]["timestamp"] == victims[-1]["timestamp"]  # its very last one
    assert died["flows_lost"] == victims[-1]["stats"]["flow"]["active"] >= busy["stats"]["flow"]["active"] > 0
    assert died["last_stats"]["packets"] == victims[-1]["stats"]["decoder"]["pkts"] > 0
    w0 = '{interface="%s",worker="0"}' % net.server_dev
    assert m["dlp_worker_lost_flows_total"] == died["flows_lost"] and m["dlp_worker_restarts_total"] == 1
    assert m["dlp_packets_total" + w0] >= died["last_stats"]["packets"]  # not back to zero
    logged = [e for e in log_events(stderr) if e["event"] == "worker_died"]
    assert len(logged) == 1 and logged[0]["flows_lost"] == died["flows_lost"]
