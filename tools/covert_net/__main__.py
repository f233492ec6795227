"""python -m tools.covert_net [icmp|spi|beacon|all] [--out DIR]: re-record the captures
(root; about 90 s for all). DIR defaults to pcaps/; each kind goes to DIR/<kind>/."""

from __future__ import annotations

import argparse
import os
import sys

from tools.covert_net import beacon, icmp, spi
from tools.covert_net.lab import record_set

KINDS = {"icmp": icmp.CAPTURES, "spi": spi.CAPTURES, "beacon": beacon.CAPTURES}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.covert_net", description=__doc__)
    ap.add_argument("kind", nargs="?", default="all", choices=[*KINDS, "all"])
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps"))
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespaces, tcpdump, raw sockets)", file=sys.stderr)
        return 2
    for kind, captures in KINDS.items():
        if args.kind in (kind, "all"):
            for path in record_set(os.path.join(args.out, kind), captures):
                print(f"{path}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
