"""Check tools/pcapgen.py against tshark and dpkt: every encapsulation decodes, no malformed
frames, all checksums good, fragments reassemble.

    python -m tools.selftest_pcapgen [OUT.pcap]

Reads and writes local files only (tshark runs with -n: no name resolution).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile

import tools.pcapgen as g

C4, S4 = "10.0.0.1", "10.0.0.2"
C6, S6 = "2001:db8::1", "2001:db8::2"
HTTP_REQ = b"GET /index.html HTTP/1.1\r\nHost: example.test\r\n\r\n"


def http_response(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def build(rng: random.Random) -> list[tuple]:
    """A few dozen frames covering every builder; returns (ts, frame[, wirelen]) in time order."""
    out = []
    body = b"<html>" + b"x" * 5000 + b"</html>"
    # plain IPv4 conversation with sequence wraparound in both directions
    conv = g.TcpConversation((C4, 40000), (S4, 80), client_isn=2**32 - 10, server_isn=2**32 - 3000,
                             mss=1448, rng=rng)
    out += conv.handshake() + conv.client_send(HTTP_REQ) + conv.server_send(http_response(body)) + conv.close()
    # IPv6 conversation on QinQ, ACK every 2 segments, then a RST
    conv6 = g.TcpConversation((C6, 40001), (S6, 80), vlans=[100, 200], ack_every=2, rng=rng,
                              ts=conv.ts)
    out += conv6.handshake() + conv6.client_send(HTTP_REQ) + conv6.server_send(http_response(body))
    out += conv6.rst("client")
    t = conv6.ts

    def add(frame):
        nonlocal t
        t += 0.001
        out.append((t, frame))

    dnsq = g.dns_query("www.example.test", "A", qid=0x1234)
    dnsr = g.dns_response("www.example.test", "A", qid=0x1234, answers=["192.0.2.7", "192.0.2.8"])
    add(g.ip_frame(C4, S4, g.PROTO_UDP, g.udp(5353, 53, dnsq), vlans=[42]))
    add(g.ip_frame(S4, C4, g.PROTO_UDP, g.udp(53, 5353, dnsr), g.SERVER_MAC, g.CLIENT_MAC, vlans=[42]))
    txt = g.dns_response("t.example.test", "TXT", qid=7, answers=["v=spf1 -all"])
    add(g.ip_frame(C6, S6, g.PROTO_UDP, g.udp(53, 5353, txt)))
    add(g.ip_frame(C4, S4, g.PROTO_ICMP, g.icmp_echo(8, 1, 1, b"ping" * 8)))
    add(g.ip_frame(C6, S6, g.PROTO_ICMPV6, g.icmpv6_echo(128, 1, 1, b"ping6" * 8)))
    # MPLS
    inner = g.ipv4(C4, S4, g.PROTO_UDP, g.udp(1000, 53, dnsq))
    add(g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_MPLS, g.mpls([16, 17], inner)))
    # GRE: IP-in-GRE, with key+seq, with checksum, and Ethernet-in-GRE
    seg = conv.segment("client", 0, b"retransmitted bytes", "PA")[1]
    for kw in ({}, {"key": 7, "seq": 1}, {"csum": True}):
        add(g.ip_frame("192.0.2.1", "192.0.2.2", g.PROTO_GRE, g.gre(g.ETH_IPV4, inner, **kw)))
    add(g.ip_frame("192.0.2.1", "192.0.2.2", g.PROTO_GRE, g.gre(g.ETH_TEB, seg)))
    # ERSPAN II and III around a full TCP frame
    add(g.ip_frame("192.0.2.1", "192.0.2.2", g.PROTO_GRE, g.gre(g.ETH_ERSPAN2, g.erspan2(5, 10, seg), seq=1)))
    add(g.ip_frame("192.0.2.1", "192.0.2.2", g.PROTO_GRE,
                   g.gre(g.ETH_ERSPAN3, g.erspan3(6, 10, seg, timestamp=12345, hw_id=3))))
    # VXLAN carrying the same frame
    add(g.ip_frame("192.0.2.1", "192.0.2.2", g.PROTO_UDP, g.udp(49152, g.PORT_VXLAN, g.vxlan(4242, seg))))
    # IPv4 fragments (out of order) of a big UDP datagram
    big4 = g.ipv4(C4, S4, g.PROTO_UDP, g.udp(7000, 7001, bytes(range(256)) * 12), ident=99)
    frags4 = g.fragment_ipv4(big4, 1000)
    for f in reversed(frags4):
        add(g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_IPV4, f))
    # IPv6 fragments with a hop-by-hop header in front; and an atomic fragment
    big6 = g.ipv6(C6, S6, g.PROTO_UDP, g.udp(7000, 7001, bytes(range(256)) * 12),
                  ext_headers=[g.ipv6_opts_header(g.PROTO_HOPOPTS)])
    for f in g.fragment_ipv6(big6, 1232, ident=0xABCD):
        add(g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_IPV6, f))
    add(g.ip_frame(C6, S6, g.PROTO_ICMPV6, g.icmpv6_echo(128, 2, 2, b"atomic"),
                   ext_headers=[g.ipv6_frag_header(0, False, 5)]))
    # TLS hellos on 443
    tconv = g.TcpConversation((C4, 40002), (S4, 443), rng=rng, ts=t)
    out += tconv.handshake() + tconv.client_send(g.tls_client_hello("secret.example.test", rng))
    out += tconv.server_send(g.tls_server_hello(rng) + g.tls_record(23, rng.randbytes(3000)))
    out += tconv.close("server")
    # payloads chosen so the computed checksum is 0 (TCP sends 0x0000, UDP 0xffff)
    for proto, make in ((g.PROTO_TCP, lambda p: g.tcp(1, 2, 3, 4, "PA", p)), (g.PROTO_UDP, lambda p: g.udp(1, 2, p))):
        probe = g.ipv4(C4, S4, proto, make(b"\0\0"))
        csum = probe[20 + (16 if proto == g.PROTO_TCP else 6):][:2]
        add(g.ip_frame(C4, S4, proto, make(csum)))
    # a snaplen-truncated record (96 of 1514 bytes captured)
    big = tconv.segment("server", 0, rng.randbytes(1460))
    out.append((tconv.ts, big[1][:96], len(big[1])))
    return sorted(out, key=lambda p: p[0])


def tshark(path: str, *args: str) -> list[str]:
    cmd = ["tshark", "-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
    return [l for l in res.stdout.splitlines() if l.strip()]


def check_tshark(path: str, n: int) -> None:
    bad = tshark(path, "-Y", "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0 "
                 "|| tcp.checksum == 0xffff || ip.checksum == 0xffff || icmp.checksum == 0xffff "
                 "|| udp.checksum.status == 0 || ip.checksum.status == 0 || icmp.checksum.status == 0 "
                 "|| icmpv6.checksum.status == 0")
    assert not bad, "tshark flags:\n" + "\n".join(bad)
    tcp_frames = tshark(path, "-Y", "tcp && frame.cap_len == frame.len", "-T", "fields", "-e", "tcp.checksum.status")
    assert tcp_frames and all(set(l.split(",")) == {"1"} for l in tcp_frames), tcp_frames
    assert len(tshark(path, "-Y", "http.request")) >= 2
    assert len(tshark(path, "-Y", "http.response")) >= 2
    assert tshark(path, "-Y", "tls.handshake.extensions_server_name == \"secret.example.test\"")
    assert tshark(path, "-Y", "ip.fragment.count == 4 && udp.port == 7001")
    assert tshark(path, "-Y", "ipv6.fragment.count == 3 && udp.port == 7001")
    for flt in ("vxlan.vni == 4242", "erspan.spanid == 5", "erspan.spanid == 6", "mpls.label == 17",
                "gre.key == 7", "vlan.id == 200", "dns.a == 192.0.2.8", "icmpv6.echo.sequence_number == 1",
                "tcp.analysis.retransmission"):
        assert tshark(path, "-Y", flt), f"nothing matches {flt}"
    assert len(tshark(path, "-Y", "frame.cap_len == 96 && frame.len == 1514")) == 1
    assert tshark(path, "-Y", "tcp.checksum == 0 && tcp.checksum.status == 1")
    assert tshark(path, "-Y", "udp.checksum == 0xffff && udp.checksum.status == 1")
    assert len(tshark(path)) == n


def check_dpkt(path: str) -> None:
    import dpkt
    tcp_n = 0
    with open(path, "rb") as fh:
        for _ts, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            pkt = eth.data
            if len(buf) - 14 < getattr(pkt, "len", 0):
                continue  # snaplen-truncated: the checksum cannot be checked
            if isinstance(pkt, dpkt.ip.IP) and isinstance(pkt.data, dpkt.tcp.TCP):
                seg = pkt.data
                seg_bytes = bytes(seg)
                pkt.sum = 0
                pkt.data.sum = 0
                fresh = dpkt.ip.IP(bytes(pkt))  # dpkt recomputes both checksums on pack
                assert fresh.data.sum == dpkt.tcp.TCP(seg_bytes).sum, "TCP checksum differs from dpkt's"
                tcp_n += 1
    assert tcp_n > 0


def main(argv: list[str]) -> int:
    path = argv[0] if argv else tempfile.mktemp(suffix=".pcap")
    pkts = build(random.Random(1))
    n = g.write_pcap(path, pkts)
    if shutil.which("tshark"):
        check_tshark(path, n)
    else:
        print("tshark not found: skipped")
    check_dpkt(path)
    print(f"ok: {n} frames in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
