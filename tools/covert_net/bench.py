"""What the session detectors (icmp_tunnel, beacon, spi) cost: a synthetic capture replayed
with the flow engine alone and with the three detectors, alternating in one process; prints
packets/s and the ratio (compare ratios, not seconds across runs).

    python -m tools.covert_net.bench [--connections N] [--pings N] [--rounds N]
    python -m tools.covert_net.bench --pcap bench/out/mixed-100mb-s1.pcap   # `make bench`'s capture

The capture: N short HTTP-like TCP sessions (handshake, 200-byte request, 2 KB response,
FIN) from 200 clients to 50 servers over an hour (so beacon scores pairs), N Linux-style
ping exchanges, and a 1000-port SYN scan.
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import tempfile
import time

from dlp.capture.pcapfile import CaptureFile
from dlp.outputs.eve import EveWriter
from dlp.pipeline import replay
from dlp.rules import parse
from tools import pcapgen as g

ENGINE_ONLY = "version: 1\n"
SESSION = "version: 1\ndetectors:\n  icmp_tunnel: {}\n  beacon: {}\n  spi: {}\n"
T0 = 1_700_000_000.0


def generate(path: str, connections: int, pings: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    frames = []
    for n in range(connections):
        client = (f"10.1.{n % 200 // 100}.{n % 200 % 100 + 1}", 20000 + n % 40000)
        server = (f"10.2.0.{n % 50 + 1}", 80)
        conv = g.TcpConversation(client=client, server=server, ts=T0 + rng.uniform(0, 3600), rng=rng)
        frames += conv.handshake() + conv.client_send(bytes(200)) + conv.server_send(bytes(2000)) + conv.close()
    for n in range(pings):
        payload = struct.pack("<qq", n, n) + bytes(range(16, 56))
        ts = T0 + rng.uniform(0, 3600)
        for type_, src, dst in ((8, "10.1.0.9", "10.2.0.1"), (0, "10.2.0.1", "10.1.0.9")):
            frames.append((ts, g.ip_frame(src, dst, g.PROTO_ICMP, g.icmp_echo(type_, 7, n & 0xFFFF, payload))))
            ts += 0.0003
    for port in range(1, 1001):
        frames.append((T0 + 1800 + port / 1e4, g.ip_frame("10.9.9.9", "10.2.0.1", g.PROTO_TCP,
                                                          g.tcp(55555, port, seq=1, ack=0, flags="S"))))
    frames.sort(key=lambda f: f[0])
    g.write_pcap(path, frames)
    return len(frames)


def _count(pcap: str) -> int:
    with CaptureFile(pcap) as cap:
        return sum(1 for _ in cap)


def timed(pcap: str, rules: str) -> tuple[float, int]:
    writer = EveWriter(None)
    started = time.perf_counter()
    replay([pcap], parse(rules), writer)
    return time.perf_counter() - started, writer.counts.get("alert", 0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=20000)
    ap.add_argument("--pings", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pcap", help="replay this capture instead of generating one")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dlp4e-bench-") as tmp:
        pcap = args.pcap or os.path.join(tmp, "mixed.pcap")
        packets = _count(pcap) if args.pcap else generate(pcap, args.connections, args.pings)
        best = {"engine only": float("inf"), "engine + icmp_tunnel, beacon, spi": float("inf")}
        alerts = 0
        for _ in range(args.rounds):  # alternate, keep the best of each
            for name, rules in zip(best, (ENGINE_ONLY, SESSION)):
                seconds, count = timed(pcap, rules)
                best[name] = min(best[name], seconds)
                alerts = count if rules is SESSION else alerts
        print(f"{packets} packets, {os.path.getsize(pcap) / 2**20:.1f} MiB, best of {args.rounds}")
        for name, seconds in best.items():
            print(f"  {name:36s} {seconds:6.2f} s  {packets / seconds:9,.0f} packets/s")
        ratio = best["engine + icmp_tunnel, beacon, spi"] / best["engine only"]
        print(f"  session detectors cost: {ratio:.3f}x the engine alone ({alerts} alerts)")


if __name__ == "__main__":
    main()
