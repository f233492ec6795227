"""Parsing tshark's per-packet lines (dlp/tls/tshark.py): orientation from the ClientHello,
several records per packet, tunnels, connection ends, junk."""

from __future__ import annotations

from dlp.tls.tshark import END, FIELDS, Decrypted


def line(stream="0", src="10.0.0.2", sport="40000", dst="10.0.0.1", dport="443", hs="", data="",
         fin="0", rst="0", v6=False) -> bytes:
    values = {"tcp.stream": stream, "ip.src": "" if v6 else src, "ipv6.src": src if v6 else "",
              "tcp.srcport": sport, "ip.dst": "" if v6 else dst, "ipv6.dst": dst if v6 else "",
              "tcp.dstport": dport, "tls.handshake.type": hs, "data.data": data,
              "tcp.flags.fin": fin, "tcp.flags.reset": rst}
    return "\t".join(values[f] for f in FIELDS).encode() + b"\n"


def reply(**kw) -> bytes:
    return line(src="10.0.0.1", sport="443", dst="10.0.0.2", dport="40000", **kw)


def test_orientation_records_and_end_after_both_fins():
    p = Decrypted()
    tup = ("10.0.0.2", 40000, "10.0.0.1", 443)
    assert p.line(line(hs="1")) == []
    assert p.line(line(data="6869,2121")) == [(0, tup, 0, b"hi!!")]  # two records, in order
    assert p.line(reply(hs="2,11,14,20")) == []
    assert p.line(reply(data="6f6b", fin="1")) == [(0, tup, 1, b"ok")]
    assert p.line(line(fin="1")) == [(0, tup, END, b"")]
    assert p.line(line(data="6869")) == []  # after the end: nothing
    assert p.bad_lines == 1


def test_rst_ends_and_ipv6_and_tunnels_take_the_inner_values():
    p = Decrypted()
    p.line(line(stream="3", src="fd00::2", dst="fd00::1", hs="1", v6=True))
    tup = ("fd00::2", 40000, "fd00::1", 443)
    assert p.line(line(stream="3", src="fd00::1", sport="443", dst="fd00::2", dport="40000", data="41",
                       v6=True)) == [(3, tup, 1, b"A")]
    assert p.line(line(stream="3", src="fd00::2", dst="fd00::1", rst="True", v6=True)) == [(3, tup, END, b"")]
    q = Decrypted()
    q.line(line(src="192.0.2.1,10.0.0.2", dst="192.0.2.9,10.0.0.1", sport="4789,40000", dport="4789,443", hs="1"))
    assert q.clients[0] == ("10.0.0.2", 40000, "10.0.0.1", 443)


def test_junk_lines_are_counted_not_raised():
    p = Decrypted()
    p.line(line(hs="1"))
    for junk in (b"", b"Running as user root\n", b"x\ty\n", line(data="zz"), line(stream="9", data="41")):
        assert p.line(junk) == []
    assert p.bad_lines == 5
