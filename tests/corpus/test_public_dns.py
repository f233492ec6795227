"""Corpus suite, DNS: every DNS message in the public captures parses (or, cut by the
snaplen, is a named DnsError); DNS over TCP frames as expected."""

from __future__ import annotations

import os

import pytest

from dlp.app.dns.message import DnsError, TcpFramer, parse
from tests.corpus.test_public_pcaps import PUBLIC
from tests.replaylib import replay

pytestmark = pytest.mark.corpus

UDP_CASES = {  # capture: DNS messages over UDP in it
    "dns-duplicate-responses": 3, "dns-icmp-mix": 10, "dns-udp-corrupt": 2, "encap-gre-ssh-dns": 2,
    "ipv6-fragmented-dns": 5, "tunnel-dns-dns2tcp": 26, "tunnel-dns-dnscat2": 24,
    "tunnel-dns-dnsexfiltrator": 28, "tunnel-dns-iodine": 24, "tunnel-dns-sods": 986,
}


def udp_payloads(name: str) -> list[bytes]:
    flows = replay(os.path.join(PUBLIC, name + ".pcap")).flows
    return [d for f in flows if f.proto == 17 and 53 in (f.sport, f.cport)
            for d in f.datagrams[0] + f.datagrams[1]]


@pytest.mark.parametrize("name,count", sorted(UDP_CASES.items()))
def test_udp_dns_messages_parse(name, count):
    messages = [parse(p) for p in udp_payloads(name)]
    assert len(messages) == count


def test_snaplen_cut_response_is_a_named_error():
    (payload,) = udp_payloads("dns-truncated-tc")
    with pytest.raises(DnsError) as info:
        parse(payload)
    assert info.value.kind == "dns.truncated"


def test_fragmented_txt_answers():
    txt = [r.value for p in udp_payloads("ipv6-fragmented-dns") for r in parse(p).answers if r.rtype == 16]
    lengths = sorted(sum(len(s) for s in v) for v in txt)
    assert lengths == [190, 3081]  # the 323- and 3230-byte answers' TXT strings


def test_dns_over_tcp_twenty_pipelined_messages():
    (flow,) = [f for f in replay(os.path.join(PUBLIC, "dns-tcp-20-requests.pcap")).with_data()]
    queries = TcpFramer().feed(flow.stream(0))
    answers = TcpFramer().feed(flow.stream(1))
    assert len(queries) == 20 and len(answers) == 20
    assert all(not parse(q).response for q in queries) and all(parse(a).response for a in answers)
