"""Shared by the daemon's end-to-end tests: start `dlp run` in a namespace, read its EVE file
as it grows, wait for events with a deadline (never an unbounded wait)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# a UDP syslog collector for the monitor namespace: one received datagram per line (repr'd),
# stops by itself after `seconds`
SYSLOG_COLLECTOR = r'''
import socket, sys, time
out, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port)); s.settimeout(0.5)
end = time.monotonic() + seconds
with open(out, "a") as fh:
    while time.monotonic() < end:
        try: data = s.recv(65535)
        except socket.timeout: continue
        fh.write(data.decode("utf-8", "replace").replace("\n", " ") + "\n"); fh.flush()
'''


def mirror_config(tmp_path, monitor_dev: str, extra: str = "", outputs: str = "") -> str:
    """A daemon config for 2 workers on the monitor's interface, EVE to tmp_path/eve.json,
    stats every second; `extra` adds top-level keys, `outputs` more outputs (YAML lines)."""
    path = tmp_path / "dlp.yaml"
    path.write_text(f"""version: 1
interfaces:
  - name: {monitor_dev}
    workers: 2
{extra}hmac_key: {tmp_path / 'hmac.key'}
stats_interval: 1
outputs:
  eve: {{path: {tmp_path / 'eve.json'}}}
{outputs}""")
    return str(path)


def events(path) -> list[dict]:
    """Every complete line of the EVE file, parsed: a line that does not parse fails the
    test (interleaved partial lines would)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def wait_for(predicate, what: str, timeout: float = 15.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_daemon(net, ns: str, args: list[str], stderr_path) -> subprocess.Popen:
    return net.start_in(ns, [sys.executable, "-m", "dlp", "run", "--log-level", "info", *args],
                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(stderr_path, "w"))


def stats_by_worker(evs: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for e in evs:
        if e["event_type"] == "stats":
            out.setdefault(e["dlp"]["worker"], []).append(e)
    return out


def log_events(stderr_path) -> list[dict]:
    with open(stderr_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.startswith("{")]
