"""Corpus suite, DNS tunnels: the public captures and name lists in ../shared/data/covert
(read in place; never trained on) through the default rules. Other tools than training
(dnscat2, DNSExfiltrator, sods, dnstt) must be caught on their tunnel domains, nothing else
may alert; the known gaps are strict xfails, so closing one is noticed. models/dns_tunnel.md
lists the same results with times and query counts."""

from __future__ import annotations

import glob
import os
import random
from collections import Counter

import pytest

from detectors.covert import public
from detectors.covert.dns_features import NameScorer
from detectors.covert.psl import default_list
from detectors.dns_tunnel import DnsTunnelDetector
from tests.covert.test_dns_detector import feed, txn
from tests.covert.test_dns_pcaps import dns_alerts
from tests.corpus.test_public_pcaps import PUBLIC

pytestmark = pytest.mark.corpus

COVERT = os.environ.get("DLP_SHARED_COVERT", os.path.join(os.path.dirname(os.path.dirname(PUBLIC)), "data", "covert"))
CAPTURES = {c.name: c for c in public.captures(COVERT)}
KNOWN_GAPS = {  # capture: why the model misses it (see models/dns_tunnel.md)
    "exfil:MXSIZE-65-FLSIZE-28657.pcap": "DNSExfiltrator with 65-character requests: one 36-char label per "
                                         "query with a tiny answer, the shape of an anti-virus hash lookup",
}
EXFIL = sorted(glob.glob(os.path.join(COVERT, "exfil", "*.pcap")))


def test_covert_corpus_is_present():
    # CI lays ../shared beside the clone; a missing corpus is a failure, not a skip
    assert len(CAPTURES) == len(public.TUNNELS) and len(EXFIL) == 73, COVERT


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_public_tunnel_is_caught_on_its_domain_only(name, tmp_path, request):
    if name in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name]))
    cap = CAPTURES[name]
    alerts = dns_alerts(cap.path, tmp_path)
    domains = {d.decode() for d in cap.tunnel_domains}
    assert [a["covert"]["domain"] for a in alerts if a["covert"]["domain"] not in domains] == []
    assert alerts, f"{name}: no dns_tunnel alert"


def exfil_results(tmp_path) -> dict[str, list]:
    return {os.path.basename(p): dns_alerts(p, tmp_path) for p in EXFIL}


@pytest.fixture(scope="module")
def exfil(tmp_path_factory):
    return exfil_results(tmp_path_factory.mktemp("exfil"))


def test_dnsexfiltrator_long_requests_all_caught(exfil):
    """requestMaxSize 145 and up, or the tool's default: every transfer alerts."""
    long_runs = {n: a for n, a in exfil.items() if not n.startswith(("MXSIZE-65-", "MXSIZE-105-"))}
    assert len(long_runs) == 49
    assert [n for n, a in long_runs.items() if not a] == []


@pytest.mark.xfail(strict=True, reason="65- and 105-character requests: short single labels with tiny "
                                       "answers, scored like hash-reputation lookups (known gap)")
def test_dnsexfiltrator_short_requests_all_caught(exfil):
    short = {n: a for n, a in exfil.items() if n.startswith(("MXSIZE-65-", "MXSIZE-105-"))}
    assert [n for n, a in short.items() if not a] == []


def test_dnsexfiltrator_alerts_name_only_its_zone(exfil):
    domains = Counter(a["covert"]["domain"] for alerts in exfil.values() for a in alerts)
    assert set(domains) == {"captechutest.org"}


def names_csv(tool: str) -> list[bytes]:
    with open(os.path.join(COVERT, "names", "netrack", tool, "names.csv"), encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines()[1:]  # CRLF lines; "label,qname"
    return [line.split(",", 1)[1].rstrip(".").lower().encode() for line in lines]


@pytest.mark.parametrize("tool,zone", [("iodine", "hidemyself.org"), ("dns2tcp", "hidemyself.org"),
                                       ("dnscapy", "example.org")])
def test_labelled_tunnel_names_alert_on_their_zone(tool, zone):
    """Query names from real tunnel captures (netrack/learn, Apache-2.0), replayed one a
    second from one client with no answers: the pcaps themselves were not available."""
    det = DnsTunnelDetector()
    found = feed(det, [txn(n, i * 1_000_000, qtype=1, answered=False) for i, n in enumerate(names_csv(tool))])
    assert found and {f.objects["covert"]["domain"] for f in found} == {zone}


def test_labelled_benign_names_do_not_alert():
    det = DnsTunnelDetector()
    names = names_csv("plain")
    assert feed(det, [txn(n, i * 100_000, qtype=1, rdata=bytes(4)) for i, n in enumerate(names)]) == []


def benign_list(name: str) -> list[bytes]:
    with open(os.path.join(COVERT, "benign", name), encoding="utf-8", errors="replace") as fh:
        return [line.strip().lower().encode() for line in fh if line.strip()]


def tunnel_subdomains() -> list[bytes]:
    psl = default_list()
    out = []
    for tool in ("iodine", "dns2tcp", "dnscapy"):
        for name in names_csv(tool):
            sub = name[: max(0, len(name) - len(psl.registered_domain(name)) - 1)]
            if sub:
                out.append(sub)
    return out


def test_hostname_bigrams_rank_an_independent_benign_list_above_tunnel_names():
    """The bigram table was built from the OpenDNS lists; the Alexa top 100k (2016) is
    independent. A random Alexa label must look more like a hostname than a random tunnel
    subdomain nearly always (AUC)."""
    scorer = NameScorer()
    benign = [scorer.likelihood([d.split(b".")[0]]) for d in benign_list("top-100000-domains.txt")]
    tunnel = [scorer.likelihood(sub.split(b".")) for sub in tunnel_subdomains()]
    rng = random.Random(0)
    pairs = [(rng.choice(benign), rng.choice(tunnel)) for _ in range(100_000)]
    auc = sum(b > t for b, t in pairs) / len(pairs)
    assert auc >= 0.97, auc


def test_alexa_list_browsed_by_one_client_does_not_alert():
    """One client resolving every name of the Alexa top 100k and its www host, 10 ms apart:
    the domains with several list entries (blogspot.com, ...) form windows that get scored.
    (The OpenDNS lists built the bigram table, so they are not an independent test.)"""
    name = "top-100000-domains.txt"
    det = DnsTunnelDetector()
    items = [txn(prefix + d, i * 10_000, qtype=1, rdata=bytes(4))
             for i, d in enumerate(benign_list(name)) for prefix in (b"www.", b"")]
    assert feed(det, items) == []
    assert det.scored > 0  # some windows were judged, not all skipped
