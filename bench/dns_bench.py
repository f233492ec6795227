"""DNS tunnel analysis benchmark: messages per second on one core, beside references measured
in the same run.

    .venv/bin/python -m bench.dns_bench [--reps 10] [PCAP...]   (default: pcaps/covert/*/*.pcap)

1. Messages: every UDP/53 payload of the captures, repeated `--reps` times (each repetition
   from its own client address, so windows are fresh and the scoring work is real):
   - reference: dpkt's DNS parse of the same messages;
   - ours: parse only; parse + query/response pairing (DnsSession); parse + pairing +
     features + model (the dns_tunnel detector), the figure the 13,000/s target is about.
2. Replay: the captures through the pipeline with no detector, with a detector that only
   takes the DNS transactions (the cost of pairing), and with dns_tunnel: what covert
   analysis adds to a replay.
Figures vary with the machine and its load; ratios beside the reference are what to compare.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections import Counter

import dpkt

from detectors.base import DnsTransaction, FlowInfo
from detectors.dns_tunnel import DnsTunnelDetector
from dlp.app.dns.message import DnsError, parse
from dlp.app.dns.session import DnsSession, oriented

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def udp_dns_messages(paths: list[str]) -> list[tuple[int, bytes, int]]:
    """(direction, payload, ts µs) of every UDP/53 datagram, read with dpkt."""
    out = []
    for path in paths:
        with open(path, "rb") as fh:
            for ts, frame in dpkt.pcap.UniversalReader(fh):
                ip = dpkt.ethernet.Ethernet(frame).data
                udp = getattr(ip, "data", None)
                if isinstance(udp, dpkt.udp.UDP) and 53 in (udp.sport, udp.dport):
                    out.append((0 if udp.dport == 53 else 1, bytes(udp.data), int(ts * 1e6)))
    return out


def rate(n: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def dpkt_parse(messages):
    for _, payload, _ in messages:
        try:
            dpkt.dns.DNS(payload)
        except (dpkt.UnpackError, IndexError, ValueError):
            pass


def our_parse(messages):
    for _, payload, _ in messages:
        try:
            parse(payload)
        except DnsError:
            pass


class _Null:
    name = "null"
    inputs = frozenset({"dns"})

    def applies(self, item) -> bool:
        return isinstance(item, DnsTransaction)

    def inspect(self, item) -> list:
        return []


class _Keep(_Null):
    def __init__(self, out: list):
        self.out = out

    def inspect(self, item) -> list:
        self.out.append(item)
        return []


def paired(messages, reps: int, detector) -> int:
    """Parse + pair (+ detect) every message, once per repetition; the findings count."""
    findings = 0

    def emit(tx):
        nonlocal findings
        if detector.applies(tx):
            findings += len(detector.inspect(tx))

    for rep in range(reps):
        info = FlowInfo(rep, "UDP", f"10.{rep // 250}.{rep % 250}.2", 40000, "10.213.7.1", 53)
        session = DnsSession(lambda d, i=info: oriented(i, d), emit, events=Counter())
        for direction, payload, ts in messages:
            session.datagram(direction, payload, ts)
        session.end()
    return findings


def replay_rate(paths: list[str], detectors: list, reps: int) -> float:
    from dlp.config import EngineConfig
    from dlp.outputs.eve import EveWriter
    from dlp.pipeline import Pipeline
    from dlp.rules import RuleSet

    packets = 0
    start = time.perf_counter()
    for _ in range(reps):
        pipeline = Pipeline(RuleSet("bench", (), EngineConfig()), EveWriter(None))
        pipeline.dispatcher.set_detectors(detectors())
        for path in paths:
            pipeline.replay_file(path)
        packets += pipeline.finish().packets
    return packets / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="DNS tunnel analysis benchmark")
    ap.add_argument("pcaps", nargs="*")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args(argv)
    paths = args.pcaps or sorted(glob.glob(os.path.join(ROOT, "pcaps", "covert", "*", "*.pcap")))
    messages = udp_dns_messages(paths)
    total = len(messages) * args.reps
    repeated = messages * args.reps
    DnsTunnelDetector()  # model loaded (and sklearn imported) before any timing
    print(f"{len(messages)} DNS messages from {len(paths)} captures, x{args.reps} = {total}")
    ref = rate(total, lambda: dpkt_parse(repeated))
    rows = [("dpkt DNS parse (reference)", ref),
            ("dlp parse", rate(total, lambda: our_parse(repeated))),
            ("dlp parse + pairing", rate(total, lambda: paired(messages, args.reps, _Null())))]
    detector = DnsTunnelDetector()
    found = []
    rows.append(("dlp parse + pairing + dns_tunnel", rate(total, lambda: found.append(
        paired(messages, args.reps, detector)))))
    items: list = []
    paired(messages, args.reps, _Keep(items))
    fresh = DnsTunnelDetector()
    rows.append(("dns_tunnel alone (per message, pre-paired)",
                 rate(total, lambda: [fresh.inspect(t) for t in items if fresh.applies(t)])))
    print(f"{'stage':40} {'msgs/s':>10} {'vs dpkt':>8}")
    for label, value in rows:
        print(f"{label:40} {value:10,.0f} {value / ref:8.2f}")
    print(f"  windows scored {detector.scored}, alerts {found[0]}, target >= 13,000 msgs/s through "
          f"parse + pairing + dns_tunnel: {'met' if rows[3][1] >= 13000 else 'NOT met'}")
    replay_rate(paths, lambda: [_Null()], 1)  # warm-up: imports, regex compiles, caches
    base = replay_rate(paths, lambda: [], 3)
    pairing = replay_rate(paths, lambda: [_Null()], 3)
    tunnel = replay_rate(paths, lambda: [DnsTunnelDetector()], 3)
    print(f"replay of the captures x3 (packets/s): no detector {base:,.0f}; DNS pairing only "
          f"{pairing:,.0f} ({pairing / base:.2f}); dns_tunnel {tunnel:,.0f} ({tunnel / base:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
