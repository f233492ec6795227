"""icmp_tunnel end to end on the committed captures (pcaps/icmp/, tools/covert_net/icmp.py)
with the default rules: ptunnel-ng alerts (magic, and behaviour without its magic);
ordinary pings, flood ping and path-MTU discovery raise nothing."""

from __future__ import annotations

import os

import dpkt
import pytest

from tests.covert.session_items import ROOT, alerts, replay_events, signatures

ICMP = os.path.join(ROOT, "pcaps", "icmp")
MAGIC, BEHAVIOUR = "DLP ICMP tunnel magic number (ptunnel)", "DLP ICMP tunnel: echo payloads carry data"


def icmp_messages(pcap: str) -> list[tuple[int, int, int]]:
    """(type, code, payload length) of every ICMP message, read by dpkt (not by us)."""
    out = []
    with open(pcap, "rb") as fh:
        for _ts, buf in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.icmp.ICMP):
                body = ip.data.data  # Echo (id, seq, data) for echoes, else the quoted packet
                size = len(body.data) if isinstance(body, dpkt.icmp.ICMP.Echo) else len(body)
                out.append((ip.data.type, ip.data.code, size))
    return out


def test_ptunnel_ng_default_magic():
    events = replay_events(os.path.join(ICMP, "ptunnel_ng.pcap"))
    assert {e["alert"]["detector"] for e in alerts(events)} == {"icmp_tunnel"}
    assert signatures(events)[MAGIC] == 1
    magic = next(e for e in alerts(events) if e["alert"]["signature"] == MAGIC)
    assert magic["proto"] == "ICMP" and magic["alert"]["signature_id"] == 2600001
    assert magic["covert"]["magic"] == "0xDEADC0DE" and magic["covert"]["type"] == "icmp_tunnel"
    # the tunnelled download is random bytes: the behaviour rule sees it too
    behaviour = next(e for e in alerts(events) if e["alert"]["signature"] == BEHAVIOUR)
    assert "random_payload" in behaviour["covert"]["indicators"]


def test_ptunnel_ng_with_a_custom_magic_is_caught_by_behaviour():
    events = replay_events(os.path.join(ICMP, "ptunnel_ng_custom_magic.pcap"))
    assert signatures(events) == {BEHAVIOUR: 1}
    indicators = alerts(events)[0]["covert"]["indicators"]
    assert "unsolicited_replies" in indicators or "reply_differs" in indicators


@pytest.mark.parametrize("name", ["ping_benign.pcap", "pmtu.pcap"])
def test_ordinary_icmp_raises_nothing(name):
    assert alerts(replay_events(os.path.join(ICMP, name))) == []


def test_the_benign_captures_hold_what_they_claim():
    pings = icmp_messages(os.path.join(ICMP, "ping_benign.pcap"))
    sizes = {n for t, _c, n in pings if t == 8}
    assert {56, 8, 1000, 1472, 32} <= sizes  # iputils sizes and the Windows-style 32 bytes (-s 4000 is fragmented)
    assert sum(1 for t, _c, _n in pings if t == 8) >= 300  # the flood
    pmtu = icmp_messages(os.path.join(ICMP, "pmtu.pcap"))
    assert (3, 4) in {(t, c) for t, c, _n in pmtu}  # fragmentation needed
    assert any(t == 8 and n == 1472 for t, _c, n in pmtu) and any(t == 0 for t, _c, _n in pmtu)
