"""`dlp run` end to end on a simulated SPAN port: three network namespaces (client, server,
monitor); tc mirred copies every frame of the server's interface to the monitor, where the
daemon captures with 2 workers in a fanout group. Real traffic: curl uploads card numbers to
a small HTTP server, dig asks dnsmasq, tcpreplay replays a recorded capture into the mirror.
Checks the alerts, stats, Prometheus metrics, syslog, SIGHUP (bad then good rules), a killed
worker being restarted, and SIGTERM (exit 0, open flows flushed).

Needs root, iproute2 (tc), curl, dig, dnsmasq, tcpreplay (.ci/run installs them). Traffic stays
inside the namespaces; processes are stopped by PID; the namespaces are deleted afterwards.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time

from tests.live.daemon_helpers import (ROOT, SYSLOG_COLLECTOR, events, log_events, mirror_config,
                                       start_daemon, stats_by_worker, wait_for)
from tools import dlp_samples
from tools.netns import TestNet

HTTP_PORT, SYSLOG_PORT, METRICS_PORT = 8080, 5514, 9717
MARKER = "RELOAD-MARKER-5"


def _config(tmp_path, monitor_dev: str) -> str:
    return mirror_config(tmp_path, monitor_dev, extra=f"rules: {tmp_path / 'rules.yaml'}\n", outputs=(
        f"  syslog: {{host: 127.0.0.1, port: {SYSLOG_PORT}, protocol: udp, types: [alert]}}\n"
        f"  metrics: {{host: 127.0.0.1, port: {METRICS_PORT}}}\n"))


def _rules_with_marker() -> str:
    default = open(os.path.join(ROOT, "rules", "default.yaml"), encoding="utf-8").read()
    old = "  content:\n    enabled: true\n    rules: []\n"
    assert old in default
    return default.replace(old, "  content:\n    enabled: true\n    rules:\n      - id: 1000555\n"
                                f"        name: \"reload marker\"\n        patterns: [\"{MARKER}\"]\n")


def _metrics(net) -> dict[str, float]:
    text = net.run_in(net.monitor_ns, ["curl", "-sS", "--max-time", "5",
                                       f"http://127.0.0.1:{METRICS_PORT}/metrics"]).stdout.decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            key = name.split("{")[0]
            out[key] = out.get(key, 0) + float(value)
    return out


def _alerts(eve, **match) -> list[dict]:
    return [e for e in events(eve) if e["event_type"] == "alert"
            and all(e.get(k) == v or e["alert"].get(k) == v for k, v in match.items())]


def test_daemon_on_a_mirror_port(tmp_path):
    rng = random.Random(5)
    body = tmp_path / "cards.json"
    body.write_bytes(dlp_samples.customers_json(rng, dlp_samples.cards(rng, 3)))
    (tmp_path / "marker.txt").write_text(f"build notes {MARKER} end\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(open(os.path.join(ROOT, "rules", "default.yaml"), encoding="utf-8").read())
    eve, stderr = tmp_path / "eve.json", tmp_path / "dlp.stderr"
    files = tmp_path / "files"
    files.mkdir()
    with TestNet(tag="dlp5e") as net:
        tap, monitor_dev = net.add_monitor()
        net.start_server([sys.executable, os.path.join(ROOT, "tools", "http_test_server.py"),
                          str(HTTP_PORT), str(files)], HTTP_PORT)
        net.start_in(net.server_ns, ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root",
                                     f"--listen-address={net.server_ip}", "--bind-interfaces",
                                     "--no-resolv", "--no-hosts", "--pid-file=" + str(tmp_path / "dnsmasq.pid"),
                                     "--address=/corp.example/10.9.9.9"], stderr=subprocess.DEVNULL)
        collector = tmp_path / "syslog.txt"
        net.start_in(net.monitor_ns, [sys.executable, "-c", SYSLOG_COLLECTOR, str(collector),
                                      str(SYSLOG_PORT), "90"])
        daemon = start_daemon(net, net.monitor_ns, ["--config", _config(tmp_path, monitor_dev)], stderr)
        # both workers up and reporting
        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        # a killed worker is restarted and counted (before the traffic: its flows die with it)
        assert _metrics(net)["dlp_worker_restarts_total"] == 0
        victim = stats_by_worker(events(eve))[0][-1]["dlp"]["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: _metrics(net)["dlp_worker_restarts_total"] == 1, "the restart counted")
        wait_for(lambda: stats_by_worker(events(eve))[0][-1]["dlp"]["pid"] != victim,
                 "stats from the restarted worker")

        url = f"http://{net.server_ip}:{HTTP_PORT}"
        curl = ["curl", "-sS", "--max-time", "10", "-o", "/dev/null"]
        net.run_client(curl + ["-H", "Content-Type: application/json", "--data-binary", f"@{body}",
                               f"{url}/api/customers"])
        pan = wait_for(lambda: _alerts(eve, detector="pan", src_ip=net.client_ip), "the curl upload's alert")
        assert pan[0]["dest_port"] == HTTP_PORT and pan[0]["http"]["url"] == "/api/customers"
        assert all(len(m["masked"]) < 20 and "*" in m["masked"] for m in pan[0]["dlp"]["matches"])

        dig = net.run_client(["dig", "+time=2", "+tries=2", f"@{net.server_ip}", "www.corp.example"])
        assert b"10.9.9.9" in dig.stdout

        # a recorded capture replayed into the mirror: its own client address raises its alert
        net.run_in(net.server_ns, ["tcpreplay", "-q", "--mbps", "20", "-i", tap,
                                   os.path.join(ROOT, "pcaps", "http", "json-cards-upload.pcap")])
        wait_for(lambda: len(_alerts(eve, detector="pan")) >= 2, "the replayed capture's alert")

        # SIGHUP with a broken rules file: rejected loudly, the old rules keep working
        rules.write_text("version: 1\ndetectors:\n  pan: {nonsense: 1}\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: sum(e["event"] == "rules_reload_rejected" for e in log_events(stderr)) >= 3,
                 "the bad rules rejected by the supervisor and both workers")
        rng2 = random.Random(6)
        body.write_bytes(dlp_samples.customers_json(rng2, dlp_samples.cards(rng2, 3)))
        net.run_client(curl + ["-H", "Content-Type: application/json", "--data-binary", f"@{body}",
                               f"{url}/api/again"])
        wait_for(lambda: [a for a in _alerts(eve, detector="pan") if a.get("http", {}).get("url") == "/api/again"],
                 "an alert under the old rules after the bad reload")

        # SIGHUP with good rules that add a content rule: the next upload raises it
        rules.write_text(_rules_with_marker())
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: sum(e["event"] == "rules_reloaded" for e in log_events(stderr)) >= 2,
                 "both workers reloaded")
        net.run_client(curl + ["--data-binary", f"@{tmp_path / 'marker.txt'}", f"{url}/notes"])
        wait_for(lambda: _alerts(eve, signature_id=1000555), "the new rule's alert")

        m = _metrics(net)
        assert m["dlp_alerts_written_total"] == len(_alerts(eve)) >= 4
        assert m["dlp_packets_total"] > 0 and m["dlp_worker_restarts_total"] == 1

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        syslog = collector.read_text()
    evs = events(eve)
    assert open(eve, encoding="utf-8").read().endswith("\n")
    flows = [e for e in evs if e["event_type"] == "flow"]
    dns = [f for f in flows if f["proto"] == "UDP" and f.get("dest_port") == 53 and f["src_ip"] == net.client_ip]
    assert dns and dns[0]["flow"]["pkts_toserver"] >= 1 and dns[0]["flow"]["pkts_toclient"] >= 1
    uploads = [f for f in flows if f.get("dest_port") == HTTP_PORT and f["src_ip"] == net.client_ip]
    assert len(uploads) == 4 and all(f["flow"]["alerted"] for f in uploads)  # 3 curl + the replayed one
    keys = [(f["proto"], f["src_ip"], f.get("src_port"), f["dest_ip"], f.get("dest_port")) for f in flows
            if f["proto"] in ("TCP", "UDP")]
    assert len(keys) == len(set(keys))  # fanout kept every flow whole: never split over workers
    last = {w: s[-1] for w, s in stats_by_worker(evs).items()}
    assert set(last) == {0, 1}
    assert sum(s["stats"]["flow"]["total"] for s in last.values()) >= 2  # the restarted one counts anew
    assert all(s["stats"]["capture"]["kernel_drops"] == 0 for s in last.values())
    died = [e["dlp_worker"] for e in evs if e["event_type"] == "dlp_worker"]  # the SIGKILL, said once
    assert [(d["worker"], d["pid"], d["signal"]) for d in died] == [(0, victim, "SIGKILL")]
    assert all(s["dlp"]["rss_bytes"] > 10_000_000 for s in last.values())
    rfc5424 = [line for line in syslog.splitlines() if line.startswith("<")]
    header = re.compile(r"<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ dlp \d+ alert - \{")
    assert len(rfc5424) == len(_alerts(eve)) and all(header.match(line) for line in rfc5424)
    assert {int(header.match(line).group(1)) // 8 for line in rfc5424} == {21}  # local5
    assert f'"signature_id":1000555' in syslog
