"""Record the DNS tunnel / benign captures of pcaps/covert/ and write its manifest.json.

    sudo .venv/bin/python -m tools.covert_dns.record            # every capture (~8 min)
    sudo .venv/bin/python -m tools.covert_dns.record iodine-null-base32 benign-ptr-a
    sudo .venv/bin/python -m tools.covert_dns.record --out /tmp/x --list

Each capture is made in its own pair of network namespaces (tools/covert_dns/lab.py): real
iodine, dns2tcp, dig and the slow exfiltration script (tools/covert_dns/exfil.py) as clients,
dnsmasq as the resolver, iodined/dns2tcpd/the benign responder behind it. Nothing leaves the
namespaces. The split is by tool variant and by domain, never by packet: held-out captures
use record types, encodings, zones and benign domains that no training capture has.
Benign names come from the public-domain OpenDNS lists (../shared/data/covert/benign) when
present, else a built-in list. Tunnel captures carry a little benign browsing too (labelled
benign by domain: only the tunnel's registered domain is positive).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from dataclasses import asdict, dataclass, field

from tools.covert_dns import benign, tunnels
from tools.covert_dns.lab import DnsLab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("DLP_SHARED_COVERT", os.path.join(ROOT, "..", "shared", "data", "covert"))
BENIGN_LISTS = {"a": "benign/opendns-top-domains.txt", "b": "benign/opendns-random-domains.txt"}


@dataclass(frozen=True)
class Scenario:
    name: str
    split: str  # train | heldout
    kind: str  # iodine | dns2tcp | exfil | benign
    family: str
    zone: str = ""  # the tunnel's zone (tunnels); its registered domain is the positive label
    args: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "benign" if self.kind == "benign" else "tunnel"

    @property
    def tunnel_domains(self) -> list[str]:
        return [".".join(self.zone.split(".")[-2:])] if self.zone else []


def _iodine(name, split, rtype, enc, zone):
    return Scenario(name, split, "iodine", f"iodine {rtype}/{enc}", zone, {"rtype": rtype, "encoding": enc})


def _exfil(name, split, family, zone, gaps, labels, queries=60, **more):
    args = {"min_gap": gaps[0], "max_gap": gaps[1], "label_min": labels[0], "label_max": labels[1],
            "max_queries": queries, **more}
    return Scenario(name, split, "exfil", family, zone, args)


SCENARIOS = [
    _iodine("iodine-null-base32", "train", "NULL", "base32", "t1.tun-a.example"),
    _iodine("iodine-txt-base64", "train", "TXT", "base64", "t.tun-b.example"),
    _iodine("iodine-cname-base128", "train", "CNAME", "base128", "x.tun-c.example"),
    Scenario("dns2tcp-txt", "train", "dns2tcp", "dns2tcp TXT", "d2t.tun-d.example", {"rtype": "TXT"}),
    _exfil("exfil-fast", "train", "scripted exfil base32/A (fast pace)", "ex.tun-e.example", (0.2, 1.0), (8, 16)),
    _exfil("exfil-hex-txt", "train", "scripted exfil hex/TXT", "h.tun-l.example", (0.1, 0.6), (10, 30),
           encoding="hex", qtype="TXT"),
    _exfil("exfil-b64-long", "train", "scripted exfil base64url/TXT, long names", "b.tun-m.example",
           (0.05, 0.3), (60, 180), encoding="base64url", qtype="TXT", bytes=6000),
    _exfil("exfil-hex-cname", "train", "scripted exfil hex/CNAME, fixed 30", "c.tun-n.example",
           (0.05, 0.3), (30, 30), encoding="hex", qtype="CNAME", bytes=1000),
    _iodine("iodine-mx-base64u", "heldout", "MX", "base64u", "m.tun-f.example"),
    _iodine("iodine-srv-base32", "heldout", "SRV", "base32", "s.tun-g.example"),
    _iodine("iodine-private-base128", "heldout", "PRIVATE", "base128", "p.tun-h.example"),
    _iodine("iodine-txt-raw", "heldout", "TXT", "raw", "r.tun-i.example"),
    Scenario("dns2tcp-key", "heldout", "dns2tcp", "dns2tcp KEY", "d.tun-j.example", {"rtype": "KEY"}),
    _exfil("exfil-slow", "heldout", "slow exfil (2-10 s jitter)", "upd.tun-k.example", (2.0, 10.0), (6, 12), 40),
] + [Scenario(f"benign-{fam}-{v}", "train" if v == "a" else "heldout", "benign", f"benign {fam}", "",
              {"family": fam, "variant": v})
     for fam in ("browse", "cdn", "ptr", "services", "dnsbl", "antivirus") for v in ("a", "b")]


def dig_batch(lab: DnsLab, pairs: list[tuple[str, str]]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".dig", delete=False) as fh:
        fh.writelines(f"{name} {qtype}\n" for name, qtype in pairs)
    try:
        lab.run_client(["dig", f"@{lab.server_ip}", "-f", fh.name, "+tries=1", "+time=2", "+short"],
                       timeout=30 + 2 * len(pairs))
    finally:
        os.unlink(fh.name)


def run(scenario: Scenario, pcap: str, tag: str) -> None:
    rng = random.Random(scenario.name)
    variant = scenario.args.get("variant", "a" if scenario.split == "train" else "b")
    domains, words = benign.load_words([os.path.join(SHARED, BENIGN_LISTS[variant])])
    forward = {scenario.zone: tunnels.DNS2TCP_PORT if scenario.kind == "dns2tcp" else tunnels.IODINE_PORT} \
        if scenario.kind in ("iodine", "dns2tcp") else {}
    with DnsLab(tag, forward=forward) as lab:
        with lab.capture(pcap):
            if scenario.kind == "benign":
                dig_batch(lab, benign.queries(scenario.args["family"], variant, rng, domains, words, n=240))
                return
            dig_batch(lab, benign.queries("browse", variant, rng, domains, words, n=15))
            if scenario.kind == "iodine":
                tunnels.iodine(lab, scenario.zone, scenario.args["rtype"], scenario.args["encoding"])
            elif scenario.kind == "dns2tcp":
                tunnels.dns2tcp(lab, scenario.zone, scenario.args["rtype"])
            else:
                a = scenario.args
                lab.run_client(["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "tools.covert_dns.exfil",
                                "--server", lab.server_ip, "--zone", scenario.zone,
                                "--min-gap", str(a["min_gap"]), "--max-gap", str(a["max_gap"]),
                                "--label-min", str(a["label_min"]), "--label-max", str(a["label_max"]),
                                "--max-queries", str(a["max_queries"]), "--seconds", "500",
                                "--encoding", a.get("encoding", "base32"), "--qtype", a.get("qtype", "A"),
                                "--bytes", str(a.get("bytes", 400))],
                               timeout=600)


def manifest_entry(s: Scenario, path: str) -> dict:
    entry = asdict(s)
    entry.update(path=path, label=s.label, tunnel_domains=s.tunnel_domains)
    return entry


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="record pcaps/covert/ captures")
    ap.add_argument("names", nargs="*", help="scenarios to record (default: all)")
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps", "covert"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--tag", default="dlp4d")
    args = ap.parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:26} {s.split:8} {s.family}")
        return 0
    chosen = [s for s in SCENARIOS if not args.names or s.name in args.names]
    for i, s in enumerate(chosen):
        os.makedirs(os.path.join(args.out, s.split), exist_ok=True)
        pcap = os.path.join(args.out, s.split, s.name + ".pcap")
        run(s, pcap, f"{args.tag}{i % 10}")
        os.chmod(pcap, 0o644)
        print(f"{pcap}: {os.path.getsize(pcap)} bytes", flush=True)
    entries = [manifest_entry(s, f"{s.split}/{s.name}.pcap") for s in SCENARIOS
               if os.path.exists(os.path.join(args.out, s.split, s.name + ".pcap"))]
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump({"about": "tools/covert_dns/record.py; paths relative to this file", "captures": entries},
                  fh, indent=1)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
