"""DNS message parsing: record types, compression, hostile bytes, TCP framing."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from dlp.app.dns.message import DnsError, TcpFramer, parse, read_name, type_name
from tools import pcapgen as g


def test_query_and_answer():
    q = parse(g.dns_query("WWW.Example.COM", "A", qid=7))
    assert not q.response and q.id == 7 and q.questions[0].name == b"www.example.com"
    a = parse(g.dns_response("www.example.com", "A", qid=7, answers=["93.184.216.34"]))
    assert a.response and a.rcode == 0 and a.answers[0].value == "93.184.216.34"


def _rr(name: bytes, rtype: int, rdata: bytes, rclass: int = 1, ttl: int = 60) -> bytes:
    return name + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def _msg(answers: list[bytes], additional: list[bytes] = (), flags: int = 0x8180) -> bytes:
    head = struct.pack("!HHHHHH", 1, flags, 1, len(answers), 0, len(additional))
    question = b"\x01t\x07example\x03com\x00" + struct.pack("!HH", 16, 1)
    return head + question + b"".join(answers) + b"".join(additional)


PTR = b"\xc0\x0c"  # compression pointer to the question name


def test_record_types_decoded():
    data = _msg([
        _rr(PTR, 16, b"\x05hello\x05world"),
        _rr(PTR, 28, bytes(15) + b"\x01"),
        _rr(PTR, 15, b"\x00\x0a" + PTR),
        _rr(PTR, 33, struct.pack("!HHH", 1, 2, 443) + PTR),
        _rr(PTR, 10, b"\x00\xff raw tunnel bytes"),
        _rr(PTR, 65, b"\x00\x01" + b"\x00"),
        _rr(PTR, 0xFF00, b"private"),
    ], additional=[_rr(b"\x00", 41, struct.pack("!HH", 10, 2) + b"ab", rclass=1232, ttl=0x8000)])
    m = parse(data)
    values = [r.value for r in m.answers]
    assert values[0] == (b"hello", b"world") and values[1] == "::1"
    assert values[2] == (10, b"t.example.com") and values[3] == (1, 2, 443, b"t.example.com")
    assert values[4] is None and m.answers[4].rdata.startswith(b"\x00\xff")
    assert values[5] == (1, b"") and m.answers[6].rdata == b"private" and type_name(0xFF00) == "TYPE65280"
    assert m.edns == {"udp_size": 1232, "ext_rcode": 0, "version": 0, "do": True, "options": [(10, b"ab")]}


def test_raw_8bit_labels_stay_bytes():
    name, _ = read_name(b"\x04J\xe4ge\x03com\x00", 0)
    assert name == b"j\xe4ge.com"


def test_compression_loop_is_an_error_not_a_hang():
    data = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    try:
        parse(data)
    except DnsError as exc:
        assert exc.kind == "dns.name_loop"
    else:
        raise AssertionError("loop not detected")


def test_bad_rdata_costs_only_its_decoding():
    m = parse(_msg([_rr(PTR, 15, b"\x00"), _rr(PTR, 1, b"\x01\x02\x03\x04")]))
    assert m.answers[0].value is None and m.answers[1].value == "1.2.3.4"


def test_tcp_framing_any_split():
    msgs = [g.dns_query(f"host{i}.example.com", "A", qid=i) for i in range(5)]
    stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    for cut in (1, 2, 3, 7, 50, len(stream)):
        framer, out = TcpFramer(), []
        for i in range(0, len(stream), cut):
            out += framer.feed(stream[i : i + cut])
        assert out == msgs


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_a_message_or_dns_error(data):
    try:
        parse(data)
    except DnsError:
        pass


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 200), st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=8))
def test_mutated_answers_never_raise_anything_else(cut, flips):
    base = bytearray(_msg([_rr(PTR, 15, b"\x00\x0a" + PTR), _rr(PTR, 16, b"\x03abc")]))
    for pos, val in flips:
        if pos < len(base):
            base[pos] = val
    try:
        parse(bytes(base[: max(cut, 12)]))
    except DnsError:
        pass
