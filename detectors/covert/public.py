"""The public tunnel captures in ../shared/data/covert (read in place, never copied: most
have no licence) with their tunnel zones from its MANIFEST.md: an independent evaluation of
the DNS tunnel model on other tools (dnscat2, DNSExfiltrator, sods, dnstt) than it was
trained on. Used by `dlp train --public DIR` and tests/corpus/test_covert_dns_corpus.py."""

from __future__ import annotations

import os

from detectors.covert.training import Capture

# (path under the folder, family, tunnel registered domains)
TUNNELS = (
    ("tunnels/dnscat2.pcap", "dnscat2 MX/TXT/CNAME (dmachard)", ("biillpi.com",)),
    ("tunnels/dnsextrator.pcap", "DNSExfiltrator TXT (dmachard)", ("hsc.fr",)),
    ("tunnels/dns2tcp.pcap", "dns2tcp TXT (dmachard)", ("hsc.fr",)),
    ("tunnels/iodine.pcap", "iodine handshake only (dmachard)", ("biillpi.com",)),
    ("tunnels/sods.pcap", "sods CNAME/A/TXT/NULL (dmachard)", ("hsc.fr",)),
    ("tunnels/elisaud/dnscat2.pcap", "dnscat2 encrypted, Windows suffix (elisaUD)", ("cyberops.com", "dccore200.local")),
    ("tunnels/elisaud/dnscat2_un.pcap", "dnscat2 plain, Windows suffix (elisaUD)", ("cyberops.com", "dccore200.local")),
    ("tunnels/endpositive/packets-dns2tcp-20240910-154930.pcap", "dns2tcp TXT (EndPositive)", ("hsc.fr",)),
    ("tunnels/endpositive/packets-dnstt-20240910-154444.pcap", "dnstt TXT (EndPositive)", ("example.com",)),
    ("exfil/MXSIZE-65-FLSIZE-28657.pcap", "DNSExfiltrator TXT, 65-char requests (tomaspena53)", ("captechutest.org",)),
    ("exfil/MXSIZE-225-FLSIZE-10946.pcap", "DNSExfiltrator TXT, 225-char requests (tomaspena53)", ("captechutest.org",)),
    ("exfil/MXSIZE-NL-FLSIZE-144.pcap", "DNSExfiltrator TXT, default size (tomaspena53)", ("captechutest.org",)),
)


def captures(root: str) -> list[Capture]:
    """The public tunnel captures present under `root`."""
    out = []
    for rel, family, domains in TUNNELS:
        path = os.path.join(root, rel)
        if os.path.exists(path):
            out.append(Capture(path, "public", "tunnel", family, tuple(d.encode() for d in domains),
                               rel.replace("/", ":")))
    return out
