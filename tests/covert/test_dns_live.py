"""Live: a fresh iodine session (NULL records, through dnsmasq) and a fresh dns2tcp session
beside ordinary lookups, recorded in new network namespaces with tcpdump, then replayed with
the default rules: both tunnels' domains alert, the ordinary lookups do not. Exercises the
real tools every run (~20 s, root)."""

from __future__ import annotations

import random

from tests.covert.test_dns_pcaps import dns_alerts
from tools.covert_dns import benign, tunnels
from tools.covert_dns.lab import DnsLab
from tools.covert_dns.record import dig_batch

ZONES = {"t.live-iodine.example": tunnels.IODINE_PORT, "d.live-d2t.example": tunnels.DNS2TCP_PORT}


def test_live_tunnels_alert_and_ordinary_lookups_do_not(tmp_path):
    pcap = str(tmp_path / "live.pcap")
    rng = random.Random(7)
    domains, words = benign.load_words([])  # the built-in list: no dependency on ../shared
    with DnsLab("dlp4dv", forward=ZONES, seconds=120) as lab:
        with lab.capture(pcap):
            dig_batch(lab, benign.queries("browse", "a", rng, domains, words, n=60))
            dig_batch(lab, benign.queries("dnsbl", "a", rng, domains, words, n=30))
            tunnels.iodine(lab, "t.live-iodine.example", "NULL", "base32", pings=6)
            tunnels.dns2tcp(lab, "d.live-d2t.example", "TXT", size=4000)
    alerts = dns_alerts(pcap, tmp_path)
    assert sorted(a["covert"]["domain"] for a in alerts) == ["live-d2t.example", "live-iodine.example"]
