"""Decoder: link types and encapsulations seen on mirror ports; snaplen; malformed frames."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlp.decode.decoder import Decoder
from dlp.decode.packet import ip_text
from tools import pcapgen as g

SEG = g.tcp(40000, 80, 1000, 2000, "PA", b"hello world")


def inner_ipv4(payload=SEG, src="10.1.1.1", dst="10.2.2.2"):
    return g.ipv4(src, dst, g.PROTO_TCP, payload)


def eth(ethertype, payload, vlans=None):
    return g.ether(g.CLIENT_MAC, g.SERVER_MAC, ethertype, payload, vlans)


def decode(frame, linktype=1, wirelen=None):
    d = Decoder()
    pkt = d.decode(linktype, frame, wirelen or len(frame), 1_000_000)
    return pkt, d


def check(pkt, src="10.1.1.1", dst="10.2.2.2", vlan=()):
    assert pkt is not None
    assert (ip_text(pkt.src), pkt.sport, ip_text(pkt.dst), pkt.dport) == (src, 40000, dst, 80)
    assert pkt.payload == b"hello world" and pkt.vlan == vlan and pkt.missing == 0


def test_ethernet_ipv4_tcp():
    pkt, _ = decode(eth(g.ETH_IPV4, inner_ipv4()))
    check(pkt)
    assert (pkt.seq, pkt.ack, pkt.flags & 0xFF) == (1000, 2000, 0x18)


@pytest.mark.parametrize("tags", [[0], [100], [1, 10], [5, 6, 7, 8]])
def test_vlan_and_qinq_any_depth(tags):
    check(decode(eth(g.ETH_IPV4, inner_ipv4(), vlans=tags))[0], vlan=tuple(tags))


def test_mpls_then_ipv4_and_pseudowire_ethernet():
    check(decode(eth(g.ETH_MPLS, g.mpls([16, 17], inner_ipv4())))[0])
    pw = g.mpls([20], b"\0\0\0\0" + eth(g.ETH_IPV4, inner_ipv4()))  # control word + Ethernet
    check(decode(eth(g.ETH_MPLS, pw))[0])


def test_ipv6_with_extension_headers():
    seg = g.tcp(40000, 80, 1000, 2000, "PA", b"hello world")
    pkt6 = g.ipv6("2001:db8::1", "2001:db8::2", g.PROTO_TCP, seg,
                  ext_headers=[g.ipv6_opts_header(g.PROTO_HOPOPTS), g.ipv6_opts_header(g.PROTO_DSTOPTS)])
    check(decode(eth(g.ETH_IPV6, pkt6))[0], src="2001:db8::1", dst="2001:db8::2")


def test_linux_sll_sll2_raw_and_null():
    ip4 = inner_ipv4()
    sll = struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0800) + ip4
    check(decode(sll, linktype=113)[0])
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 8) + ip4
    check(decode(sll2, linktype=276)[0])
    check(decode(ip4, linktype=101)[0])
    check(decode(struct.pack("<I", 2) + ip4, linktype=0)[0])  # BSD loopback, host order
    check(decode(struct.pack("!I", 2) + ip4, linktype=0)[0])
    check(decode(struct.pack("!I", 2) + ip4, linktype=108)[0])  # OpenBSD loop, network order


def test_gre_erspan_vxlan_give_inner_addresses():
    outer = lambda proto, body: eth(g.ETH_IPV4, g.ipv4("192.0.2.1", "192.0.2.2", proto, body))
    inner_frame = eth(g.ETH_IPV4, inner_ipv4(), vlans=[30])
    check(decode(outer(g.PROTO_GRE, g.gre(g.ETH_IPV4, inner_ipv4())))[0])
    check(decode(outer(g.PROTO_GRE, g.gre(g.ETH_TEB, inner_frame, key=5)))[0], vlan=(30,))
    check(decode(outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN2, inner_frame)))[0], vlan=(30,))  # type I
    untagged = eth(g.ETH_IPV4, inner_ipv4())
    pkt = decode(outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN2, g.erspan2(7, 23, untagged), seq=1)))[0]
    check(pkt, vlan=(23,))  # the session's VLAN comes from the ERSPAN header
    pkt = decode(outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN2, g.erspan2(7, 30, inner_frame), seq=1)))[0]
    check(pkt, vlan=(30,))  # tag kept in the mirrored frame: counted once
    assert pkt.tunnel == "ethernet"
    check(decode(outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN3, g.erspan3(7, 0, inner_frame))))[0], vlan=(30,))
    sub = g.erspan3(7, 0, inner_frame, platform=b"\x00" * 8)
    check(decode(outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN3, sub)))[0], vlan=(30,))
    vx = g.udp(5555, g.PORT_VXLAN, g.vxlan(42, inner_frame))
    check(decode(outer(g.PROTO_UDP, vx))[0], vlan=(30,))


def test_ipv4_fragments_reassemble_in_any_order():
    big = g.tcp(40000, 80, 1000, 2000, "PA", b"x" * 3000)
    frags = g.fragment_ipv4(g.ipv4("10.1.1.1", "10.2.2.2", g.PROTO_TCP, big, ident=9), 512)
    d = Decoder()
    out = [d.decode(1, eth(g.ETH_IPV4, f), len(f) + 14, i) for i, f in enumerate(reversed(frags))]
    assert out[:-1] == [None] * (len(frags) - 1)
    assert out[-1].payload == b"x" * 3000 and d.defrag.pending() == 0


def test_ipv6_fragments_reassemble():
    big = g.tcp(40000, 80, 1000, 2000, "PA", b"y" * 2500)
    frags = g.fragment_ipv6(g.ipv6("2001:db8::1", "2001:db8::2", g.PROTO_TCP, big), 600)
    d = Decoder()
    out = [d.decode(1, eth(g.ETH_IPV6, f), len(f) + 14, 0) for f in frags]
    assert out[-1] is not None and out[-1].payload == b"y" * 2500


def test_overlapping_fragments_first_wins_and_event():
    body = g.udp(1000, 53, b"A" * 64)
    first = g.ipv4("10.1.1.1", "10.2.2.2", g.PROTO_UDP, body, ident=5)
    frags = g.fragment_ipv4(first, 40)
    evil = bytearray(frags[-1])  # same offset, different bytes
    evil[-5:] = b"EVIL!"
    struct.pack_into("!H", evil, 10, 0)
    d = Decoder()
    results = [d.decode(1, eth(g.ETH_IPV4, bytes(f)), 0, 0) for f in [frags[-1], bytes(evil)] + frags[:-1]]
    pkt = [p for p in results if p is not None][0]
    assert pkt.payload == b"A" * 64
    assert d.events["ipv4.frag_overlap_different_data"] == 1


def test_snaplen_cut_payload_is_missing_not_data():
    frame = eth(g.ETH_IPV4, inner_ipv4(g.tcp(40000, 80, 1, 1, "PA", b"z" * 1000)))
    cut = frame[:100]
    pkt, d = decode(cut, wirelen=len(frame))
    assert pkt is not None and len(pkt.payload) == 100 - 54 and pkt.missing == 1000 - 46
    assert not d.errors


def test_bogus_ip_length_is_counted_not_parsed():
    ip4 = bytearray(inner_ipv4())
    struct.pack_into("!H", ip4, 2, 1400)  # claims more than the frame holds
    pkt, d = decode(eth(g.ETH_IPV4, bytes(ip4)))
    assert pkt is None and d.errors["ipv4.trunc_pkt"] == 1


def test_non_ip_is_not_inspected_not_an_error():
    pkt, d = decode(eth(0x0806, b"\x00" * 28))  # ARP
    assert pkt is None and d.skipped["unsupported.ethertype"] == 1 and not d.errors


def test_bad_checksums_are_accepted():
    seg = g.tcp(40000, 80, 1000, 2000, "PA", b"hello world", bad_csum=True)
    check(decode(eth(g.ETH_IPV4, g.ipv4("10.1.1.1", "10.2.2.2", g.PROTO_TCP, seg)))[0])


LINKTYPES = st.sampled_from([0, 1, 101, 108, 113, 276, 228, 229, 147])


@settings(max_examples=3000, deadline=None)
@given(linktype=LINKTYPES, frame=st.binary(max_size=200))
def test_fuzz_random_bytes_never_raise(linktype, frame):
    d = Decoder()
    d.decode(linktype, frame, len(frame) + 10, 0)


@settings(max_examples=2000, deadline=None)
@given(cut=st.integers(0, 200), flips=st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=6),
       which=st.integers(0, 4))
def test_fuzz_mutated_valid_frames_never_raise(cut, flips, which):
    inner = eth(g.ETH_IPV4, inner_ipv4(), vlans=[3])
    frames = [
        eth(g.ETH_IPV4, inner_ipv4()),
        eth(g.ETH_IPV4, g.ipv4("1.1.1.1", "2.2.2.2", g.PROTO_GRE, g.gre(g.ETH_ERSPAN3, g.erspan3(1, 2, inner)))),
        eth(g.ETH_IPV4, g.ipv4("1.1.1.1", "2.2.2.2", g.PROTO_UDP, g.udp(1, g.PORT_VXLAN, g.vxlan(1, inner)))),
        eth(g.ETH_IPV6, g.ipv6("2001:db8::1", "2001:db8::2", g.PROTO_TCP, SEG,
                               ext_headers=[g.ipv6_frag_header(0, True, 7)])),
        eth(g.ETH_MPLS, g.mpls([1, 2], inner_ipv4()), vlans=[1, 2]),
    ]
    frame = bytearray(frames[which][: max(cut, 1)])
    for pos, val in flips:
        if pos < len(frame):
            frame[pos] = val
    d = Decoder()
    d.decode(1, bytes(frame), len(frame), 0)


def _fields(pkt):
    if pkt is None:
        return None
    return (pkt.src, pkt.dst, pkt.proto, pkt.sport, pkt.dport, pkt.payload, pkt.missing, pkt.vlan,
            pkt.tunnel, pkt.wirelen)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=120), ulen_delta=st.integers(-20, 20), padding=st.integers(0, 12),
       dport=st.sampled_from([53, 4789, 5353, 40000]))
def test_the_udp_fast_path_decodes_as_the_general_path(payload, ulen_delta, padding, dport):
    """Untagged Ethernet/IPv4/UDP takes a shortcut (the DNS hot path): any UDP length field,
    Ethernet padding or VXLAN port must give what the general decoder gives, errors included."""
    frame = bytearray(g.ip_frame("10.0.0.1", "10.0.0.2", g.PROTO_UDP, g.udp(5353, dport, payload)))
    ulen = max(0, 8 + len(payload) + ulen_delta)
    struct.pack_into("!H", frame, 14 + 20 + 4, ulen)
    frame = bytes(frame) + b"\0" * padding
    fast, general = Decoder(), Decoder()
    got = fast.decode(1, frame, len(frame), 1)
    general._depth = 0
    try:
        want = general._ipv4(frame, 14, 0, 1, ())
        if want is not None:
            want.wirelen = len(frame)
    except Exception as exc:  # noqa: BLE001 - the general path names the problem: the fast one must too
        want = None
        assert got is None and sum(fast.errors.values()) + sum(fast.skipped.values()) == 1, exc
    assert _fields(got) == _fields(want)
