"""Generate the golden cases in pcaps/golden/<case>/: input.pcap and expected.json.

The expectations come from what the generator sent (the bytes each side wrote, the holes it
made), never from running the engine, so a golden test checks the engine against the truth.
Run `make goldens` (python -m tools.make_goldens) and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil

from tools import pcapgen as g

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pcaps", "golden")
C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)


def body(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = [b"alpha", b"bravo", b"charlie", b"delta", b"echo", b"foxtrot", b"\r\n", b"1234"]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + b" "
    return bytes(out[:n])


def request(n: int, seed: int) -> bytes:
    data = body(n, seed)
    return b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(data) + data


def response(n: int, seed: int) -> bytes:
    data = body(n, seed)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data


def side(data: bytes, gaps=()) -> dict:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "gaps": list(gaps)}


def flow(client, server, up: bytes, down: bytes, reason="fin", proto="TCP", vlan=(), up_gaps=(),
         down_gaps=(), anomalies=()):
    return {"client": list(client), "server": list(server), "proto": proto, "vlan": list(vlan),
            "toserver": side(up, up_gaps), "toclient": side(down, down_gaps), "reason": reason,
            "anomalies": sorted(anomalies)}


def conversation(up: bytes, down: bytes, **kw):
    conv = g.TcpConversation(client=kw.pop("client", C), server=kw.pop("server", S), **kw)
    pkts = conv.handshake() + conv.client_send(up) + conv.server_send(down) + conv.close()
    return conv, pkts


# -- cases -------------------------------------------------------------------------------------

def case_reorder_duplicates_retransmissions():
    """Segments shuffled within windows, SPAN duplicates, overlapping retransmissions."""
    up, down = request(20000, 1), response(30000, 2)
    conv = g.TcpConversation(client=C, server=S, mss=700, rng=random.Random(3))
    pkts = conv.handshake() + conv.client_send(up, ack=False) + [conv.ack(1)]
    data = conv.server_send(down, ack=False) + [conv.ack(0)]
    rng = random.Random(4)
    for i in range(0, len(data) - 8, 8):  # shuffle within windows of 8 segments
        window = data[i : i + 8]
        rng.shuffle(window)
        data[i : i + 8] = window
    extra = []
    for k in range(0, len(down), 2100):  # retransmissions spanning segment boundaries
        extra.append(conv.segment(1, k + 350, down[k + 350 : k + 1600]))
    dups = [p for p in data if rng.random() < 0.3]
    server = data + extra + dups
    rng.shuffle(server[len(data):])
    pkts += server + conv.close()
    return pkts, [flow(C, S, up, down)]


def case_overlap_different_data():
    """A retransmission that rewrites already-sent bytes: first data wins, anomaly raised."""
    up = request(3000, 5)
    conv = g.TcpConversation(client=C, server=S, mss=1000)
    pkts = conv.handshake() + conv.client_send(up, ack=False)
    evil = bytearray(up[1000:1500])
    evil[10:14] = b"EVIL"
    pkts += [conv.segment(0, 1000, bytes(evil))] + [conv.ack(1)] + conv.close()
    return pkts, [flow(C, S, up, b"", anomalies=["stream.overlap_different_data"])]


def case_sequence_wraparound():
    """Both directions cross 2**32 in the middle of the transfer."""
    up, down = request(50000, 6), response(80000, 7)
    _, pkts = conversation(up, down, client_isn=2**32 - 20000, server_isn=2**32 - 1000)
    return pkts, [flow(C, S, up, down)]


def case_lost_segment_gap():
    """One server segment never captured; the client ACKs past it: a gap of its size."""
    up, down = request(500, 8), response(10000, 9)
    conv = g.TcpConversation(client=C, server=S, mss=1000)
    pkts = conv.handshake() + conv.client_send(up) + conv.server_send(down)
    lost = [p for p in pkts if len(p[1]) > 1000][3]  # the 4th full segment
    pkts.remove(lost)
    pkts += conv.close()
    seen = down[:3000] + down[4000:]
    return pkts, [flow(C, S, up, seen, down_gaps=[1000], anomalies=["stream.reassembly_seq_gap"])]


def case_port_reuse():
    """Two connections on the same 4-tuple, one after the other: two flows."""
    up1, down1, up2, down2 = request(800, 10), response(900, 11), request(700, 12), response(600, 13)
    _, a = conversation(up1, down1, client_isn=1000, server_isn=5000)
    _, b = conversation(up2, down2, client_isn=900000, server_isn=700000, ts=1_700_000_005.0)
    return a + b, [flow(C, S, up1, down1), flow(C, S, up2, down2)]


def case_keepalive_and_zero_window():
    """Keep-alive probes (seq-1, one garbage byte) and a zero-window probe change nothing."""
    up, down = request(3000, 14), response(2000, 15)
    conv = g.TcpConversation(client=C, server=S, mss=1000)
    pkts = conv.handshake() + conv.client_send(up)
    pkts += [conv.segment(0, len(up) - 1, b"\x00", flags="A")] * 3  # keep-alives
    pkts += conv.server_send(down[:1000])
    pkts += [conv.segment(0, len(up), b"", flags="A", window=0)]  # client window closes
    pkts += [conv.segment(1, 1000, down[1000:1001], flags="A")] * 2  # zero-window probes
    pkts += [conv.segment(0, len(up), b"", flags="A", ack=conv.seq(1, 1000))]
    pkts += conv.server_send(down[1000:]) + conv.close()
    return pkts, [flow(C, S, up, down)]


def case_rst_injection():
    """An RST far outside the window is ignored; the session goes on and ends by FIN."""
    up, down = request(2000, 16), response(2000, 17)
    conv = g.TcpConversation(client=C, server=S, mss=1000)
    pkts = conv.handshake() + conv.client_send(up)
    pkts += [conv.segment(1, 50_000_000, b"", flags="R")]
    pkts += conv.server_send(down) + conv.close()
    return pkts, [flow(C, S, up, down, anomalies=["tcp.rst_out_of_window"])]


def case_midstream():
    """Capture starts in the middle: no handshake, first packets are server data."""
    up, down = request(1500, 18), response(6000, 19)
    conv = g.TcpConversation(client=C, server=S, mss=1000)
    conv.handshake()
    conv.off[0] = 700  # bytes sent before the capture started
    conv.off[1] = 900
    pkts = conv.server_send(down) + conv.client_send(up) + conv.close()
    return pkts, [flow(C, S, up, down)]


def _tunnelled(wrap):
    up, down = request(4000, 20), response(5000, 21)
    _, pkts = conversation(up, down)
    return [(ts, wrap(frame)) for ts, frame in pkts], up, down


def _outer(proto, payload):
    return g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_IPV4, g.ipv4("192.0.2.1", "192.0.2.2", proto, payload))


def case_tunnels():
    """The same conversation inside QinQ, MPLS, GRE, ERSPAN II and III, and VXLAN: the inner
    addresses and the same streams every time; VLANs from the tags and ERSPAN headers."""
    wraps = [
        ((10, 20), lambda f: g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.vlan_tpid([10, 20]),
                                     g.vlan([10, 20], g.ETH_MPLS, g.mpls([100, 200], f[14:])))),
        ((), lambda f: _outer(g.PROTO_GRE, g.gre(g.ETH_IPV4, f[14:], key=7))),
        ((33,), lambda f: _outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN2, g.erspan2(1, 33, f), seq=1))),
        ((44,), lambda f: _outer(g.PROTO_GRE, g.gre(g.ETH_ERSPAN3, g.erspan3(2, 44, f)))),
        ((), lambda f: _outer(g.PROTO_UDP, g.udp(33333, g.PORT_VXLAN, g.vxlan(5, f)))),
    ]
    pkts, flows = [], []
    for i, (vlan, wrap) in enumerate(wraps):
        client = ("10.0.%d.1" % (i + 1), 41000 + i)
        up, down = request(4000, 20 + i), response(5000, 40 + i)
        _, conv = conversation(up, down, client=client)
        pkts += [(ts + i, wrap(frame)) for ts, frame in conv]
        flows.append(flow(client, S, up, down, vlan=vlan))
    return pkts, flows


def case_ip_fragments():
    """TCP segments fragmented at the IP layer (IPv4 out of order, IPv6 with extension headers)."""
    up, down = request(6000, 22), response(3000, 23)
    conv, pkts = conversation(up, down)
    out = []
    for ts, frame in pkts:
        if len(frame) > 600:
            frags = g.fragment_ipv4(frame[14:], 256)
            for f in reversed(frags):
                out.append((ts, g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_IPV4, f)))
        else:
            out.append((ts, frame))
    c6, s6 = ("2001:db8::1", 40001), ("2001:db8::2", 80)
    up6, down6 = request(4000, 24), response(4000, 25)
    conv6, pkts6 = conversation(up6, down6, client=c6, server=s6, ts=1_700_000_010.0)
    for ts, frame in pkts6:
        if len(frame) > 600:
            for f in g.fragment_ipv6(frame[14:], 400):
                out.append((ts, g.ether(g.CLIENT_MAC, g.SERVER_MAC, g.ETH_IPV6, f)))
        else:
            out.append((ts, frame))
    return out, [flow(C, S, up, down), flow(c6, s6, up6, down6)]


def case_interleaved_flows():
    """Forty connections at once, their packets interleaved."""
    rng = random.Random(26)
    lanes, flows = [], []
    for i in range(40):
        client = ("10.1.%d.%d" % (i // 200, i % 200 + 1), 30000 + i)
        up, down = request(rng.randrange(100, 5000), 100 + i), response(rng.randrange(100, 20000), 200 + i)
        _, pkts = conversation(up, down, client=client, ts=1_700_000_000.0)
        lanes.append(pkts)
        flows.append(flow(client, S, up, down))
    out, t = [], 1_700_000_000.0
    while any(lanes):
        lane = rng.choice([l for l in lanes if l])
        _ts, frame = lane.pop(0)
        t += 0.0001
        out.append((t, frame))
    return out, flows


def case_udp_and_icmp():
    """A DNS query and answer, and a ping: datagram flows."""
    q = g.dns_query("www.example.com", "A", qid=7)
    a = g.dns_response("www.example.com", "A", qid=7, answers=["93.184.216.34"])
    t = 1_700_000_000.0
    pkts = [(t, g.ip_frame("10.0.0.1", "10.0.0.53", g.PROTO_UDP, g.udp(5353, 53, q))),
            (t + 0.01, g.ip_frame("10.0.0.53", "10.0.0.1", g.PROTO_UDP, g.udp(53, 5353, a))),
            (t + 0.02, g.ip_frame("10.0.0.1", "10.0.0.9", g.PROTO_ICMP, g.icmp_echo(8, 1, 1, b"p" * 48))),
            (t + 0.03, g.ip_frame("10.0.0.9", "10.0.0.1", g.PROTO_ICMP, g.icmp_echo(0, 1, 1, b"p" * 48)))]
    return pkts, [flow(("10.0.0.1", 5353), ("10.0.0.53", 53), b"", b"", reason="end_of_capture", proto="UDP"),
                  flow(("10.0.0.1", 8), ("10.0.0.9", 0), b"", b"", reason="end_of_capture", proto="ICMP")]


def case_snaplen_truncated():
    """Captured with a 200-byte snaplen: payload beyond it is missing data, not data."""
    up, down = request(3000, 27), response(3000, 28)
    _, pkts = conversation(up, down, mss=1000)
    return pkts, None  # expectations computed in write_case from the cut


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def write_case(name: str, fn) -> None:
    random.seed(name)  # generated ISNs and IP ids are the same on every run
    pkts, flows = fn()
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    snaplen = 200 if name == "snaplen_truncated" else None
    with g.PcapWriter(os.path.join(d, "input.pcap"), snaplen=snaplen or 262144) as w:
        for ts, frame in pkts:
            if snaplen and len(frame) > snaplen:
                w.write(ts, frame[:snaplen], wirelen=len(frame))
            else:
                w.write(ts, frame)
    if flows is None:  # snaplen: each data segment keeps its first 200 - 54 bytes
        keep = snaplen - 54
        sent = [request(3000, 27), response(3000, 28)]
        seen = [b"".join(d[i : i + keep] for i in range(0, len(d), 1000)) for d in sent]
        gaps = [[n for i in range(0, len(d), 1000) if (n := min(1000, len(d) - i) - keep) > 0]
                for d in sent]
        flows = [flow(C, S, seen[0], seen[1], up_gaps=gaps[0], down_gaps=gaps[1],
                      anomalies=["stream.reassembly_seq_gap", "stream.snaplen_truncated"])]
    doc = {"description": (fn.__doc__ or "").strip(), "flows": flows}
    with open(os.path.join(d, "expected.json"), "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")


def main() -> None:
    for name, fn in CASES.items():
        write_case(name, fn)
        print("wrote", os.path.join(OUT, name))


if __name__ == "__main__":
    main()
