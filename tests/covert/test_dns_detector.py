"""dns_tunnel detector on DnsTransaction items built here: windows, scoring schedule,
prefilter, one alert per (client, domain) per window, the covert object, samples cut short,
allow list, LRU cap, hostile names, and rules validation with FILE:LINE."""

from __future__ import annotations

import base64
import random

import pytest

from detectors.base import DnsTransaction, FlowInfo
from detectors.dns_tunnel import DnsTunnelDetector, DnsTunnelParams
from dlp import rules
from dlp.app.dns.message import Message, Question, Record
from dlp.errors import ConfigError
from tests.covert.session_items import run as feed  # applies() then inspect() per item

TXT, A = 16, 1


def txn(name: bytes, ts: int, client: str = "10.0.0.5", qtype: int = TXT, rdata: bytes = b"\x05hello",
        rcode: int = 0, answered: bool = True) -> DnsTransaction:
    flow = FlowInfo(1, "UDP", client, 40000, "10.0.0.53", 53)
    question = Question(name, qtype, 1)
    query = Message(1, False, 0, 0, 0x0100, (question,), (), (), ())
    response = None
    if answered:
        answers = (Record(name, qtype, 1, 0, rdata),) if rcode == 0 else ()
        response = Message(1, True, 0, rcode, 0x8180 | rcode, (question,), answers, (), ())
    return DnsTransaction(flow, ts, query, response, 40, 60)


def tunnel_names(n: int, zone: bytes = b"t.evil-tunnel.example", seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        data = base64.b32encode(rng.randbytes(rng.randrange(70, 110))).rstrip(b"=").lower()
        labels = [data[j:j + 57] for j in range(0, len(data), 57)]
        out.append(b".".join(labels) + b".%x." % i + zone)
    return out


@pytest.fixture(scope="module")
def detector_params():
    return DnsTunnelParams()


def test_tunnel_alerts_once_per_window_with_covert_object(detector_params):
    det = DnsTunnelDetector(detector_params)
    items = [txn(n, 1_000_000 * i, rdata=b"\xff" + bytes(255)) for i, n in enumerate(tunnel_names(40))]
    found = feed(det, items)
    assert len(found) == 1
    f = found[0]
    assert f.detector == "dns_tunnel" and f.signature_id == 2630001
    cov = f.objects["covert"]
    assert cov["domain"] == "evil-tunnel.example" and cov["client"] == "10.0.0.5"
    assert cov["queries"] == 5 and cov["score"] >= det.threshold
    assert cov["bytes_out"] == sum(len(n) - len(b".evil-tunnel.example") for n in tunnel_names(5))
    assert cov["bytes_in"] == 5 * 256
    assert 1 <= len(cov["sample"]) <= 3
    for s in cov["sample"]:  # the leaked data is cut: 24 subdomain characters, then a count
        head, _, rest = s.partition("…(+")
        assert len(head) == 24 and rest.endswith(").evil-tunnel.example")


def test_next_window_alerts_again(detector_params):
    det = DnsTunnelDetector(detector_params)
    names = tunnel_names(20)
    first = [txn(n, 1_000_000 * i) for i, n in enumerate(names[:10])]
    later = [txn(n, 400_000_000 + 1_000_000 * i) for i, n in enumerate(names[10:])]
    assert len(feed(det, first)) == 1
    assert len(feed(det, later)) == 1  # 300 s later: a new window


def test_clients_are_separate_windows(detector_params):
    det = DnsTunnelDetector(detector_params)
    names = tunnel_names(10)
    items = [txn(n, i, client=c) for i, n in enumerate(names) for c in ("10.0.0.5", "10.0.0.6")]
    assert sorted(f.objects["covert"]["client"] for f in feed(det, items)) == ["10.0.0.5", "10.0.0.6"]


def test_repeated_names_fail_the_prefilter_and_are_never_scored(detector_params):
    det = DnsTunnelDetector(detector_params)
    names = [b"www.example-shop.com", b"api.example-shop.com", b"img.example-shop.com"]
    items = [txn(names[i % 3], i * 1000, qtype=A, rdata=bytes(4)) for i in range(200)]
    assert feed(det, items) == []
    assert det.scored == 1  # at 5 queries 3 of 5 names differ; after that never again


def test_ordinary_browsing_never_alerts(detector_params):
    det = DnsTunnelDetector(detector_params)
    subs = [b"www", b"mail", b"api", b"static", b"cdn", b"login", b"docs", b"news", b"shop", b"m"]
    items = [txn(s + b"." + d, i, qtype=A, rdata=bytes(4))
             for i, (s, d) in enumerate((s, d) for d in (b"example.com", b"bbc.co.uk", b"wikipedia.org")
                                        for s in subs)]
    assert feed(det, items) == []
    assert det.scored > 0  # ten distinct names per domain: scored, and judged benign


@pytest.mark.parametrize("allow", ["evil-tunnel.example", "t.evil-tunnel.example", "*.t.evil-tunnel.example"])
def test_allow_domains_are_never_scored(allow):
    det = DnsTunnelDetector(DnsTunnelParams(allow_domains=(allow,)))
    assert feed(det, [txn(n, i) for i, n in enumerate(tunnel_names(30))]) == []
    assert det.scored == 0


def test_allow_entry_covers_only_its_own_zone():
    det = DnsTunnelDetector(DnsTunnelParams(allow_domains=("avqs.evil-tunnel.example",)))
    assert len(feed(det, [txn(n, i) for i, n in enumerate(tunnel_names(30))])) == 1


def test_threshold_override_silences(detector_params):
    det = DnsTunnelDetector(DnsTunnelParams(threshold=1.0))
    scores = []
    original = det.score
    det.score = lambda w: scores.append(original(w)) or scores[-1]
    found = feed(det, [txn(n, i) for i, n in enumerate(tunnel_names(30))])
    assert found == [] or all(s >= 1.0 for s in scores)


def test_window_count_is_capped_least_recently_used_first():
    det = DnsTunnelDetector(DnsTunnelParams(max_windows=3))
    for i in range(10):
        det.inspect(txn(b"x.domain%d.com" % i, i))
    assert len(det.tracker.windows) == 3 and det.tracker.evicted == 7
    assert [k[1] for k in det.tracker.windows] == [b"domain7.com", b"domain8.com", b"domain9.com"]


def test_window_queries_are_capped_and_expire():
    det = DnsTunnelDetector(DnsTunnelParams(max_window_queries=8, window_seconds=10))
    for i in range(30):
        det.inspect(txn(b"a%d.example.org" % i, i * 100_000))
    (window,) = det.tracker.windows.values()
    assert len(window.queries) == 8 and window.total == 30


@pytest.mark.parametrize("name", [b"", b".", b"\xff\xfe\x80.\x00.example.com", b"a" * 63 + b"." + b"b" * 63,
                                  b"com", b"*.example.com", b"xn--p1ai"])
def test_hostile_and_odd_names_do_not_raise(name, detector_params):
    det = DnsTunnelDetector(detector_params)
    for i in range(12):
        det.inspect(txn(name + b"%d" % i if name else name, i))


def test_unanswered_and_answer_only_transactions():
    det = DnsTunnelDetector()
    flow = FlowInfo(1, "UDP", "10.0.0.5", 40000, "10.0.0.53", 53)
    q = Question(b"x.example.com", A, 1)
    answer_only = DnsTransaction(flow, 1, None, Message(1, True, 0, 0, 0x8180, (q,), (), (), ()))
    assert det.applies(answer_only)
    det.inspect(answer_only)
    unanswered = txn(b"y.example.com", 2, answered=False)
    det.inspect(unanswered)
    (window,) = det.tracker.windows.values()
    assert window.total == 2 and window.queries[-1].answered is False
    empty = DnsTransaction(flow, 3, Message(1, False, 0, 0, 0, (), (), (), ()), None)
    assert not det.applies(empty)


RULES = """version: 1
detectors:
  dns_tunnel:
    enabled: true
    {knob}
"""


@pytest.mark.parametrize("knob,message", [
    ("threshold: 1.5", "threshold must be above 0"),
    ("min_queries: 0", "min_queries must be positive"),
    ("min_unique_share: 2", "min_unique_share must be between 0 and 1"),
    ("allow_domains: ['a b']", "not a host name"),
    ("window_seconds: soon", "must be an integer"),
    ("severity: 9", "severity must be 1"),
])
def test_rules_errors_name_file_and_line(knob, message):
    with pytest.raises(ConfigError) as info:
        rules.parse(RULES.format(knob=knob), "my.yaml")
    assert str(info.value).startswith("my.yaml:") and message in str(info.value)


def test_missing_model_is_a_clear_error():
    with pytest.raises(ConfigError, match="cannot read model"):
        DnsTunnelDetector(DnsTunnelParams(model_path="/nonexistent/model.skops"))
