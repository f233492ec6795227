"""EVE output: Suricata's field names and formats, Community ID v1 vectors."""

from __future__ import annotations

import json
import re

import pytest

from dlp.config import EngineConfig
from dlp.flow.engine import FlowEngine
from dlp.outputs import eve
from dlp.outputs.community_id import community_id
from tests.helpers import ACK, FIN, PSH, SYN, Recorder, addr, seg

# Published vectors (community-id-spec baseline, also in Zeek's test suite)
VECTORS = [
    ("1.2.3.4", "5.6.7.8", 6, 1122, 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM="),
    ("1.2.3.4", "5.6.7.8", 17, 1122, 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
    ("1.2.3.4", "5.6.7.8", 1, 8, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
    ("fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 58, 128, 129, 0,
     "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
    ("1.2.3.4", "5.6.7.8", 6, 1122, 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    ("1.2.3.4", "5.6.7.8", 17, 1122, 3344, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    ("1.2.3.4", "5.6.7.8", 1, 8, 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
]


@pytest.mark.parametrize("src,dst,proto,sport,dport,seed,expected", VECTORS)
def test_community_id_vectors_both_directions(src, dst, proto, sport, dport, seed, expected):
    assert community_id(addr(src), addr(dst), proto, sport, dport, seed) == expected
    if proto in (6, 17):
        assert community_id(addr(dst), addr(src), proto, dport, sport, seed) == expected


def test_icmp_reply_hashes_like_request():
    assert community_id(addr("5.6.7.8"), addr("1.2.3.4"), 1, 0, 0) == "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="


def test_timestamp_is_suricata_format():
    assert eve.timestamp(1_795_758_241_123_456) == "2026-11-27T05:44:01.123456+0000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000", eve.timestamp(0))


def _closed_flow(vlan=()):
    rec = Recorder()
    engine = FlowEngine(EngineConfig(), rec)
    c, s = "192.0.2.10", "198.51.100.7"
    for p in [seg(c, 40000, s, 80, SYN, seq=1, ts=1_000_000, vlan=vlan),
              seg(s, 80, c, 40000, SYN | ACK, seq=10, ack=2, ts=1_000_100, vlan=vlan),
              seg(c, 40000, s, 80, ACK | PSH, seq=2, ack=11, payload=b"hi", ts=1_000_200, vlan=vlan),
              seg(c, 40000, s, 80, FIN | ACK, seq=4, ack=11, ts=1_000_300, vlan=vlan),
              seg(s, 80, c, 40000, FIN | ACK, seq=11, ack=5, ts=1_000_400, vlan=vlan),
              seg(c, 40000, s, 80, ACK, seq=5, ack=12, ts=2_500_000, vlan=vlan)]:
        engine.process(p)
    engine.shutdown()
    return rec.closed[0]


def test_flow_event_fields():
    event = eve.flow_event(_closed_flow(vlan=(7, 20)))
    json.dumps(event)
    assert event["event_type"] == "flow"
    assert isinstance(event["flow_id"], int) and 0 < event["flow_id"] < 2**53
    assert (event["src_ip"], event["src_port"], event["dest_ip"], event["dest_port"]) == \
        ("192.0.2.10", 40000, "198.51.100.7", 80)
    assert event["proto"] == "TCP" and event["vlan"] == [7, 20]
    assert event["community_id"] == community_id(addr("192.0.2.10"), addr("198.51.100.7"), 6, 40000, 80)
    f = event["flow"]
    assert (f["pkts_toserver"], f["pkts_toclient"]) == (4, 2)
    assert f["state"] == "closed" and f["reason"] == "timeout" and f["age"] == 1
    assert event["tcp"]["state"] == "closed" and event["tcp"]["syn"] and event["tcp"]["fin"]
    assert event["dlp"]["close_reason"] == "fin" and event["dlp"]["stream_bytes"] == [2, 0]


def test_alert_src_is_sender_of_the_bytes():
    from detectors.base import Finding

    flow = _closed_flow()
    finding = Finding("content", 5, "sig", "cat", 2, direction=1)
    event = eve.alert_event(flow, finding, flow.last)
    assert event["src_ip"] == "198.51.100.7" and event["src_port"] == 80
    assert event["direction"] == "to_client"
    a = event["alert"]
    assert (a["signature_id"], a["severity"], a["action"], a["detector"]) == (5, 2, "allowed", "content")
