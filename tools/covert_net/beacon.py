"""Beaconing captures (pcaps/beacon/), recorded fast and stretched in time.

A beacon calls home every minute or so for half an hour; recording that would take half an
hour. Each script runs at real speed with intervals 120 times shorter (0.5 s), then
tools/covert_net/timewarp.py multiplies every timestamp gap by STRETCH so the committed
capture shows the intended schedule (0.5 s -> 60 s). Only times change, never frames.

  beacon.pcap    curl GET /tasks?id=... every 60 s +- 20 % jitter (seeded), 30 check-ins
  poller.pcap    a monitoring poller: GET /metrics every 60 s exactly, 30 polls (legitimate,
                 periodic: alerts unless allow-listed, see docs)
  browsing.pcap  irregular page loads: exponential gaps (mean 60 s), bursts of 2-6 requests,
                 pages of different sizes
  download.pcap  one long download (1 MiB at 256 KiB/s), not stretched
"""

from __future__ import annotations

import os
import random
import time

from tools.covert_net.lab import http_server, lab, size_ok, write_random
from tools.covert_net.timewarp import stretch

WEB_PORT = 8080
STRETCH = 120.0
BASE_GAP = 0.5  # seconds between requests while recording (60 s once stretched)


def _site(root: str) -> None:
    with open(os.path.join(root, "tasks"), "w") as fh:
        fh.write('{"tasks": []}\n')
    with open(os.path.join(root, "metrics"), "w") as fh:
        fh.write("".join(f"node_metric_{n} {n * 7}\n" for n in range(40)))
    rng = random.Random(11)
    for n in range(12):
        with open(os.path.join(root, f"page{n}.html"), "w") as fh:
            fh.write("<p>news item</p>\n" * rng.randint(20, 1500))
    write_random(os.path.join(root, "big.bin"), 1 << 20, seed=12)


def _record(path: str, suffix: str, schedule, stretched: bool = True) -> str:
    """Run `schedule(net, get)` (get(path) fetches one URL) under capture; stretch time."""
    with lab(suffix) as (net, scratch):
        _site(scratch)
        http_server(net, scratch, WEB_PORT)
        raw = os.path.join(scratch, "raw.pcap")

        def get(url_path: str, *curl_args: str) -> None:
            net.run_client(["curl", "-s", "-o", "/dev/null", "--max-time", "20", *curl_args,
                            f"http://{net.server_ip}:{WEB_PORT}{url_path}"], timeout=30)

        with net.capture(raw, f"tcp port {WEB_PORT}"):
            schedule(get)
        stretch(raw, path, STRETCH if stretched else 1.0)
    return size_ok(path)


def _beacon(get, jitter: float, count: int = 30, url: str = "/tasks?id=7f3a") -> None:
    rng = random.Random(21)
    start = time.monotonic()
    for n in range(count):
        target = start + n * BASE_GAP + rng.uniform(-jitter, jitter) * BASE_GAP
        time.sleep(max(0.0, target - time.monotonic()))
        get(url)


def _browsing(get) -> None:
    rng = random.Random(31)
    for _ in range(14):
        time.sleep(min(4 * BASE_GAP, rng.expovariate(1 / BASE_GAP)))
        for _ in range(rng.randint(2, 6)):
            get(f"/page{rng.randrange(12)}.html")


def record_beacon(path: str, suffix: str = "b") -> str:
    return _record(path, suffix, lambda get: _beacon(get, jitter=0.2))


def record_poller(path: str, suffix: str = "q") -> str:
    return _record(path, suffix, lambda get: _beacon(get, jitter=0.0, url="/metrics"))


def record_browsing(path: str, suffix: str = "w") -> str:
    return _record(path, suffix, _browsing)


def record_download(path: str, suffix: str = "d") -> str:
    return _record(path, suffix, lambda get: get("/big.bin", "--limit-rate", "256k"), stretched=False)


CAPTURES = (("beacon.pcap", record_beacon), ("poller.pcap", record_poller),
            ("browsing.pcap", record_browsing), ("download.pcap", record_download))
