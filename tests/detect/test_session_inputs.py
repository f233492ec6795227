"""Detection stage: the dns, icmp and flow inputs reach detectors that ask for them, built from
real engine events (packets -> FlowEngine -> DetectionDispatcher)."""

from __future__ import annotations

from detectors.base import DnsTransaction, FlowEvent, IcmpMessage
from dlp.app.dispatch import DetectionDispatcher
from dlp.config import EngineConfig
from dlp.decode.packet import ICMP, Packet
from dlp.flow.engine import FlowEngine
from tests.helpers import ACK, FIN, PSH, SYN, Collect, addr, seg, udp
from tools.pcapgen import dns_query, dns_response

US = 1_000_000


def run(packets, *inputs):
    det = Collect(*inputs)
    dispatcher = DetectionDispatcher([det], lambda *a: None)
    engine = FlowEngine(EngineConfig(), dispatcher)
    for pkt in packets:
        engine.process(pkt)
    engine.shutdown()
    return det.items, dispatcher


def icmp(src, dst, type_, ident, seq, payload, ts):
    p = Packet(ts, 42 + len(payload), (), addr(src), addr(dst), ICMP)
    p.sport, p.dport, p.icmp_id, p.seq, p.payload = type_, 0, ident, seq, payload
    return p


def test_dns_query_pairs_with_response_and_orients_from_the_asker():
    pkts = [udp("10.0.0.2", 40000, "10.0.0.53", 53, dns_query("a.example.com", "TXT", qid=7), ts=US),
            udp("10.0.0.53", 53, "10.0.0.2", 40000,
                dns_response("a.example.com", "TXT", qid=7, answers=["hello"]), ts=US + 2500)]
    items, _ = run(pkts, "dns")
    assert len(items) == 1
    tx = items[0]
    assert isinstance(tx, DnsTransaction)
    assert tx.flow.src_ip == "10.0.0.2" and tx.flow.dest_port == 53
    assert tx.question.name == b"a.example.com" and tx.question.qtype == 16
    assert tx.rtt == 2500 and tx.query_size > 0 and tx.response_size > tx.query_size


def test_unanswered_query_and_answer_without_query():
    pkts = [udp("10.0.0.2", 40000, "10.0.0.53", 53, dns_query("lost.example.com", qid=1), ts=US),
            udp("10.0.0.53", 53, "10.0.0.9", 41000,
                dns_response("nobody.example.com", qid=2, answers=["1.2.3.4"]), ts=2 * US)]
    items, dispatcher = run(pkts, "dns")
    by_name = {tx.question.name: tx for tx in items}
    lost, nobody = by_name[b"lost.example.com"], by_name[b"nobody.example.com"]
    assert lost.response is None and lost.query is not None
    assert nobody.query is None and nobody.flow.src_ip == "10.0.0.9"  # the receiver asked
    assert dispatcher.events["dns.answer_without_query"] == 1


def test_dns_over_tcp_frames_pair_and_malformed_messages_are_counted():
    q, r = dns_query("t.example.com", qid=3), dns_response("t.example.com", qid=3, answers=["1.1.1.1"])
    c, s = "10.0.0.2", "10.0.0.53"
    pkts = [seg(c, 5000, s, 53, SYN, seq=100, ts=US), seg(s, 53, c, 5000, SYN | ACK, seq=900, ack=101, ts=US),
            seg(c, 5000, s, 53, ACK, seq=101, ack=901, ts=US),
            seg(c, 5000, s, 53, PSH | ACK, seq=101, ack=901, ts=US,
                payload=len(q).to_bytes(2, "big") + q + b"\x00\x03abc"),
            seg(s, 53, c, 5000, PSH | ACK, seq=901, ack=101 + len(q) + 7, ts=US + 10,
                payload=len(r).to_bytes(2, "big") + r),
            seg(c, 5000, s, 53, FIN | ACK, seq=101 + len(q) + 7, ack=903 + len(r), ts=US + 20)]
    items, dispatcher = run(pkts, "dns")
    assert [tx.transport for tx in items] == ["tcp"]
    assert items[0].response is not None and items[0].rtt == 10
    assert dispatcher.events["dns.too_short"] == 1


def test_non_dns_ports_are_not_parsed_as_dns():
    items, _ = run([udp("10.0.0.2", 40000, "10.0.0.3", 5300, dns_query("x.example.com"), ts=US)], "dns")
    assert items == []


def test_icmp_messages_carry_type_ident_seq_payload():
    pkts = [icmp("10.0.0.2", "10.0.0.3", 8, 77, 1, b"ping-data", US),
            icmp("10.0.0.3", "10.0.0.2", 0, 77, 1, b"ping-data", US + 100)]
    items, _ = run(pkts, "icmp")
    assert [type(m) for m in items] == [IcmpMessage, IcmpMessage]
    assert [(m.direction, m.type, m.ident, m.seq, m.payload) for m in items] == [
        (0, 8, 77, 1, b"ping-data"), (1, 0, 77, 1, b"ping-data")]
    assert items[0].is_echo_request and items[1].is_echo_reply and not items[0].is_error


def test_flow_events_open_established_anomaly_close():
    c, s = "10.0.0.2", "10.0.0.80"
    pkts = [seg(c, 5000, s, 80, SYN, seq=100, ts=US), seg(s, 80, c, 5000, SYN | ACK, seq=900, ack=101, ts=US),
            seg(c, 5000, s, 80, ACK, seq=101, ack=901, ts=US),
            seg(c, 5000, s, 80, SYN | FIN | ACK, seq=101, ack=901, ts=US + 5),
            seg(c, 5000, s, 80, FIN | ACK, seq=101, ack=901, ts=US + 9),
            seg(s, 80, c, 5000, FIN | ACK, seq=901, ack=102, ts=US + 10),
            seg(c, 5000, s, 80, ACK, seq=102, ack=902, ts=US + 11)]
    items, _ = run(pkts, "flow")
    assert all(isinstance(e, FlowEvent) for e in items)
    kinds = [e.kind for e in items]
    assert kinds[0] == "open" and items[0].first_flags & 0xFF == SYN
    assert "established" in kinds and kinds[-1] == "close"
    anomalies = [e for e in items if e.kind == "anomaly"]
    assert anomalies and all(e.name.startswith("tcp.") for e in anomalies)
    close = items[-1]
    assert close.reason == "fin" and close.pkts == (5, 2) and close.flow.dest_port == 80


def test_detectors_without_these_inputs_get_nothing_new():
    pkts = [udp("10.0.0.2", 40000, "10.0.0.53", 53, dns_query("a.example.com"), ts=US)]
    items, _ = run(pkts, "http")
    assert items == []
