"""The kernel bypass on a real kernel: crafted frames go from one end of a veth pair (client
namespace) to the other (server namespace), where packet sockets carry the bypass program,
a classic filter, or nothing. What each socket receives is compared.

Frames are addressed to a MAC no interface has, so the namespaces' IP stacks ignore them;
each carries a marker `#n#` (in its payload, or in Ethernet padding) that names it on
receipt. A last "sentinel" frame on a plain socket says every earlier frame has been
through every socket's filter. Needs root (setns, bpf(2)); traffic stays in the namespaces.
"""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import time

import pytest

from dlp.live import ebpf
from dlp.live.bpf_asm import Asm, R2, R0
from dlp.live.capture import ETH_P_ALL, _attach_bpf, compile_bpf
from tests.helpers import addr
from tests.live.test_daemon_capture import _in_ns
from tools.netns import TestNet
from tools.pcapgen import (CLIENT_MAC, ETH_ARP, PROTO_FRAGMENT, PROTO_ICMP, PROTO_ICMPV6,
                           PROTO_TCP, PROTO_UDP, ether, icmp_echo, icmpv6_echo, ip_frame,
                           ipv6_frag_header, tcp, udp)

SENTINEL_TYPE = 0x88B5  # IEEE "local experimental" ethertype: no filter below keeps it
SENTINEL = ether(CLIENT_MAC, "02:00:00:00:00:02", SENTINEL_TYPE, b"end" * 20)
OUR_MAC = bytes.fromhex(CLIENT_MAC.replace(":", ""))
A4, B4 = "10.1.2.3", "10.9.9.9"
A6, B6 = "2001:db8::1", "2001:db8::2"


@pytest.fixture(scope="module")
def net():
    with TestNet() as n:
        yield n


# -- sending and receiving -------------------------------------------------------------
def _packet_socket(dev: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((dev, ETH_P_ALL))
    sock.setblocking(False)
    return sock


def receivers(net, count: int) -> list[socket.socket]:
    """`count` packet sockets on the server's interface, inside its namespace."""
    return _in_ns(net.server_ns, lambda: [_packet_socket(net.server_dev) for _ in range(count)])


def _send_all(dev: str, frames: list[bytes]) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one CPU: one receive queue, in order
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((dev, 0))
        for frame in frames:
            sock.send(frame)


def _ours(sock: socket.socket) -> list[bytes]:
    """Our frames queued on a socket (not the namespaces' own chatter), sentinel excluded."""
    out = []
    while True:
        try:
            frame = sock.recv(65536)
        except BlockingIOError:
            return out
        if frame[6:12] == OUR_MAC and frame[12:14] != SENTINEL_TYPE.to_bytes(2, "big"):
            out.append(frame)


def exchange(net, frames: list[bytes], sockets: list[socket.socket]) -> list[list[bytes]]:
    """Send `frames` from the client; what each socket received of them, in order."""
    [monitor] = receivers(net, 1)
    with monitor:
        _in_ns(net.client_ns, _send_all, net.client_dev, frames + [SENTINEL])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            select.select([monitor], [], [], 0.2)
            try:
                frame = monitor.recv(65536)
            except BlockingIOError:
                continue
            if frame[12:14] == SENTINEL_TYPE.to_bytes(2, "big"):
                return [_ours(s) for s in sockets]
    raise AssertionError("the sentinel frame never arrived")


def marks(frames: list[bytes]) -> list[int]:
    """The frames' markers (the last one in each), -1 for a frame cut before it."""
    return [int(found[-1]) if (found := re.findall(rb"#(\d+)#", f)) else -1 for f in frames]


def mark(n: int) -> bytes:
    return f"#{n}#".encode()


def seg(n: int, src, sport, dst, dport, flags="PA", seq=1000, payload=None, **frame_kw) -> bytes:
    """A TCP frame marked n (payload is the marker unless given)."""
    body = mark(n) if payload is None else payload
    return ip_frame(src, dst, PROTO_TCP, tcp(sport, dport, seq, 1, flags, body), **frame_kw)


# -- the bypass itself ------------------------------------------------------------------
def test_kernel_reports_bypass_available():
    assert ebpf.available() is None


def test_bypassed_direction_is_dropped_and_counted(net):
    bypass = ebpf.KernelBypass()
    [sock] = receivers(net, 1)
    with bypass, sock:
        bypass.attach(sock)
        flow = (addr(A4), 40000, addr(B4), 443)
        before = [seg(1, A4, 40000, B4, 443), seg(2, B4, 443, A4, 40000)]
        assert marks(exchange(net, before, [sock])[0]) == [1, 2]
        assert bypass.add(*flow) and len(bypass) == 1
        assert bypass.counters(*flow) == (0, 0, 0, 0)

        seq = 0xFFFFFF00  # the sequence number wraps within the dropped data
        dropped = [seg(3, A4, 40000, B4, 443, seq=seq, payload=mark(3) + b"x" * 196),
                   seg(4, A4, 40000, B4, 443, seq=seq + 200, payload=mark(4) + b"y" * 296)]
        # a pure ACK with Ethernet padding: next_seq follows the IP length, not the frame's
        ack = seg(5, A4, 40000, B4, 443, flags="A", seq=seq + 500, payload=b"") + mark(5) + b"\0\0"
        dropped.append(ack)
        passing = [seg(6, B4, 443, A4, 40000),               # the other direction
                   seg(7, A4, 40000, B4, 443, flags="S"),     # session open and close
                   seg(8, A4, 40000, B4, 443, flags="FA"),
                   seg(9, A4, 40000, B4, 443, flags="R"),
                   seg(10, A4, 40001, B4, 443),               # another flow
                   ip_frame(A4, B4, PROTO_UDP, udp(40000, 443, mark(11)))]  # same ports, UDP
        t0 = time.monotonic_ns()
        got = exchange(net, dropped + passing, [sock])[0]
        t1 = time.monotonic_ns()
        assert marks(got) == [6, 7, 8, 9, 10, 11]
        packets, nbytes, last_ns, next_seq = bypass.counters(*flow)
        assert (packets, nbytes) == (3, sum(len(f) for f in dropped))
        assert t0 <= last_ns <= t1
        assert next_seq == (seq + 500) % 2**32

        bypass.remove(*flow)
        bypass.remove(*flow)  # absent: no error
        assert len(bypass) == 0 and bypass.counters(*flow) is None
        assert marks(exchange(net, dropped[:1], [sock])[0]) == [3]


def test_after_a_fin_or_rst_of_either_side_the_flow_is_no_longer_dropped(net):
    """The closing ACKs must reach the engine even when they leave before the worker has
    taken the flow back, and even when the peer's last ACK reaches the filter before the copy
    of its own FIN (two CPUs): a FIN or RST of either side ends the bypass of both."""
    bypass = ebpf.KernelBypass()
    [sock] = receivers(net, 1)
    with bypass, sock:
        bypass.attach(sock)
        client, server = (addr(A4), 40000, addr(B4), 443), (addr(B4), 443, addr(A4), 40000)
        other = (addr(A4), 40001, addr(B4), 443)
        for key in (client, server, other):
            assert bypass.add(*key)
        frames = [seg(1, A4, 40000, B4, 443), seg(2, B4, 443, A4, 40000),        # dropped
                  seg(3, B4, 443, A4, 40000, flags="FA"),                          # server closes
                  seg(4, B4, 443, A4, 40000, flags="A", payload=b"") + mark(4),    # then both
                  seg(5, A4, 40000, B4, 443),                                      # directions
                  seg(6, A4, 40000, B4, 443, flags="A", payload=b"") + mark(6),    # come up
                  seg(7, A4, 40001, B4, 443)]                                      # another flow: still dropped
        assert marks(exchange(net, frames, [sock])[0]) == [3, 4, 5, 6]
        assert bypass.counters(*client)[0] == 1 and bypass.counters(*server)[0] == 1
        assert bypass.counters(*other)[0] == 1
        bypass.remove(*client)
        bypass.remove(*server)
        # an RST from the client of the other flow ends it too, its server's side included
        frames = [seg(8, A4, 40001, B4, 443, flags="R"), seg(9, B4, 443, A4, 40001)]
        assert marks(exchange(net, frames, [sock])[0]) == [8, 9]


def test_ipv6_udp_and_vlan_tagged_flows(net):
    bypass = ebpf.KernelBypass()
    [sock] = receivers(net, 1)
    with bypass, sock:
        bypass.attach(sock)
        v6 = (addr(A6), 5000, addr(B6), 80)
        dns = (addr(A4), 53000, addr(B4), 53, PROTO_UDP)
        tagged = (addr(A4), 41000, addr(B4), 8443)
        for flow in (v6, dns, tagged):
            assert bypass.add(*flow)
        v6_frames = [seg(1, A6, 5000, B6, 80, seq=7, payload=mark(1) + b"z" * 50)]
        dns_frames = [ip_frame(A4, B4, PROTO_UDP, udp(53000, 53, mark(2)))]
        # one 802.1Q tag (the kernel moves it into the skb's metadata) and two stacks (the
        # outer tag moves, the inner one, 802.1Q or 802.1ad, stays in the data: skipped)
        inner_ad = seg(9, A4, 41000, B4, 8443, vlans=[200])
        inner_ad = inner_ad[:12] + struct.pack("!HHH", 0x8100, 100, 0x88A8) + inner_ad[14:]
        tagged_frames = [seg(3, A4, 41000, B4, 8443, vlans=[100]),
                         seg(4, A4, 41000, B4, 8443, vlans=[100, 200]), inner_ad]
        passing = [seg(5, B6, 80, A6, 5000), seg(6, A6, 5000, B6, 80, flags="S"),
                   ip_frame(B4, A4, PROTO_UDP, udp(53, 53000, mark(7))),
                   seg(8, B4, 8443, A4, 41000, vlans=[100])]
        got = exchange(net, v6_frames + dns_frames + tagged_frames + passing, [sock])[0]
        assert marks(got) == [5, 6, 7, 8]
        assert bypass.counters(*v6)[:2] == (1, len(v6_frames[0]))
        assert bypass.counters(*v6)[3] == 7 + len(mark(1)) + 50
        assert bypass.counters(*dns)[:2] == (1, len(dns_frames[0]))
        assert bypass.counters(*dns)[3] == 0  # no sequence numbers in UDP
        # skb->len, like the ring's tp_len, does not count the tag the kernel took out
        assert bypass.counters(*tagged)[:2] == (3, sum(len(f) - 4 for f in tagged_frames))


def test_keyed_by_vlan_the_same_tuple_on_another_vlan_is_another_flow(net):
    """A routed flow mirrored on two VLANs is two flows to the engine (VLAN tracking): the
    table keyed by the outer VLAN id drops only the one that was added."""
    bypass = ebpf.KernelBypass(vlan_in_key=True)
    [sock] = receivers(net, 1)
    with bypass, sock:
        bypass.attach(sock)
        tuple_ = (addr(A4), 41000, addr(B4), 8443)
        assert bypass.add(*tuple_, vlan=100)
        frames = [seg(1, A4, 41000, B4, 8443, vlans=[100]),          # dropped
                  seg(2, A4, 41000, B4, 8443, vlans=[200]),          # another VLAN: passes
                  seg(3, A4, 41000, B4, 8443),                       # untagged: passes
                  seg(4, A4, 41000, B4, 8443, vlans=[100, 200]),     # outer 100: dropped
                  seg(5, A4, 41000, B4, 8443, vlans=[200, 100])]     # outer 200: passes
        assert marks(exchange(net, frames, [sock])[0]) == [2, 3, 5]
        assert bypass.counters(*tuple_, vlan=100)[0] == 2
        assert bypass.counters(*tuple_) is None and bypass.counters(*tuple_, vlan=200) is None


def test_fragments_and_ipv6_extension_headers_are_never_dropped(net):
    bypass = ebpf.KernelBypass()
    [sock] = receivers(net, 1)
    with bypass, sock:
        bypass.attach(sock)
        assert bypass.add(addr(A4), 40000, addr(B4), 443)
        assert bypass.add(addr(A6), 40000, addr(B6), 443)
        frames = [seg(1, A4, 40000, B4, 443, more_frags=True),   # a first fragment
                  seg(2, A4, 40000, B4, 443, frag_offset=64),    # a later one
                  seg(3, A6, 40000, B6, 443, ext_headers=[ipv6_frag_header(0, more=True, ident=9)])]
        assert marks(exchange(net, frames, [sock])[0]) == [1, 2, 3]
        assert bypass.counters(addr(A4), 40000, addr(B4), 443)[0] == 0
        assert bypass.counters(addr(A6), 40000, addr(B6), 443)[0] == 0
        assert PROTO_FRAGMENT == frames[2][14 + 6]  # the frame does carry the extension header


def test_map_full_unknown_key_and_bad_input():
    with ebpf.KernelBypass(max_flows=4) as bypass:
        flows = [(addr(A4), 1000 + i, addr(B4), 80) for i in range(5)]
        assert [bypass.add(*f) for f in flows] == [True, True, True, True, False]
        assert len(bypass) == 4
        assert bypass.add(*flows[0])  # already there: counters restart, the count does not grow
        assert len(bypass) == 4
        assert bypass.counters(*flows[4]) is None
        bypass.remove(*flows[1])
        assert bypass.add(*flows[4]) and len(bypass) == 4
        with pytest.raises(ValueError, match="4 \\(IPv4\\) or both 16"):
            bypass.add(b"\x01\x02", 1, addr(B4), 2)
        with pytest.raises(ValueError, match="bad port"):
            bypass.add(addr(A4), 70000, addr(B4), 2)
    bypass.close()  # idempotent


def test_unsupported_classic_instruction_is_bypass_unavailable():
    random_load = [(0x20, 0, 0, 0xFFFFF000 + 56), (0x06, 0, 0, 0xFFFF)]  # ld #rand; ret
    with pytest.raises(ebpf.BypassUnavailable, match="SKF_AD_RANDOM"):
        ebpf.KernelBypass(user_filter=random_load)
    with pytest.raises(ebpf.BypassUnavailable, match="opcode 0x00ff"):
        ebpf.KernelBypass(user_filter=[(0xFF, 0, 0, 0), (0x06, 0, 0, 0)])
    with pytest.raises(ebpf.BypassUnavailable, match="jump past the end"):
        ebpf.KernelBypass(user_filter=[(0x15, 5, 0, 1), (0x06, 0, 0, 0)])


def test_verifier_refusal_carries_the_log():
    asm = Asm()
    asm.mov(R0, R2)  # R2 was never written: the verifier says so
    asm.exit()
    with pytest.raises(ebpf.BypassUnavailable, match="R2 !read_ok"):
        ebpf._load_socket_filter(asm.assemble())


# -- the user's filter inside the program -------------------------------------------------
EXPRESSIONS = [("tcp port 80", 0), ("not port 22", 0), ("udp or icmp", 0), ("vlan and tcp", 0),
               ("ip6 and tcp", 0), ("tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0", 0),
               ("net 10.0.0.0/8 and not host 10.1.2.3", 0), ("greater 100", 0), ("tcp", 96),
               ("", 96)]


def mixed_frames() -> list[bytes]:
    big = b"p" * 300
    frames = [
        seg(0, A4, 40000, B4, 80, flags="S"), seg(0, A4, 40000, B4, 80, payload=big),
        seg(0, B4, 80, A4, 40000), seg(0, A4, 40022, B4, 22, payload=big),
        seg(0, "10.200.0.1", 5555, B4, 443, flags="FA"),
        seg(0, "192.168.1.1", 5555, "192.168.1.2", 80, flags="R"),
        ip_frame(A4, B4, PROTO_UDP, udp(5353, 53, b"q")), ip_frame(A4, B4, PROTO_UDP, udp(22, 999, big)),
        ip_frame(A4, B4, PROTO_ICMP, icmp_echo(8, 1, 1, big)),
        seg(0, A6, 40000, B6, 80, payload=big), seg(0, A6, 40000, B6, 22, flags="S"),
        ip_frame(A6, B6, PROTO_UDP, udp(1000, 2000, b"v6")),
        ip_frame(A6, B6, PROTO_ICMPV6, icmpv6_echo(128, 1, 1, big)),
        seg(0, A4, 40000, B4, 80, vlans=[100], payload=big), seg(0, A6, 40000, B6, 443, vlans=[7]),
        seg(0, A4, 40000, B4, 80, vlans=[100, 200]), ip_frame(A4, B4, PROTO_UDP, udp(53, 53), vlans=[5]),
        ip_frame(A4, B4, PROTO_TCP, tcp(40000, 80, 1, 1, "PA", big), more_frags=True),
        ether(CLIENT_MAC, "02:00:00:00:00:02", ETH_ARP, b"\0" * 28),
        ip_frame(A4, B4, PROTO_UDP, udp(7, 7, b"e")),  # 100 bytes long: the edge of "greater 100"
    ]
    frames = [f + mark(i) for i, f in enumerate(frames)]  # the marker as trailing padding
    frames[-1] += b"\0" * (100 - len(frames[-1]))
    return frames


def test_translated_filters_match_the_classic_ones(net):
    programs = [_in_ns(net.server_ns, compile_bpf, net.server_dev, expr, snap)
                for expr, snap in EXPRESSIONS]
    classic = receivers(net, len(programs))
    translated = receivers(net, len(programs))
    bypasses = []
    try:
        for program, c_sock, e_sock in zip(programs, classic, translated):
            _attach_bpf(c_sock, program)
            bypasses.append(ebpf.KernelBypass(max_flows=16, user_filter=program))
            bypasses[-1].attach(e_sock)
        frames = mixed_frames()
        got = exchange(net, frames, classic + translated)
    finally:
        for s in classic + translated + bypasses:
            s.close()
    n = len(programs)
    for (expr, snap), by_classic, by_ebpf in zip(EXPRESSIONS, got[:n], got[n:]):
        assert by_ebpf == by_classic, f"{expr!r} -s {snap}"
    # the frames tell the expressions apart: each keeps some, drops some, and no two agree
    whole = [tuple(marks(g)) for (_expr, snap), g in zip(EXPRESSIONS, got[:n]) if not snap]
    assert all(0 < len(m) < len(frames) for m in whole) and len(set(whole)) == len(whole)
    tcp_96, all_96 = got[n - 2], got[n - 1]
    assert 0 < len(tcp_96) < len(frames) and any(len(f) == 96 for f in tcp_96)
    assert len(all_96) == len(frames) and max(len(f) for f in all_96) == 96


def test_bypass_runs_before_the_user_filter_and_snaplen(net):
    program = _in_ns(net.server_ns, compile_bpf, net.server_dev, "tcp or udp", 0)
    [sock] = receivers(net, 1)
    with ebpf.KernelBypass(user_filter=program, snaplen=80) as bypass, sock:
        bypass.attach(sock)
        assert bypass.add(addr(A4), 40000, addr(B4), 443)
        frames = [seg(1, A4, 40000, B4, 443, payload=mark(1) + b"d" * 100),
                  seg(2, B4, 443, A4, 40000, payload=mark(2) + b"d" * 100),
                  ip_frame(A4, B4, PROTO_ICMP, icmp_echo(8, 1, 1, mark(3)))]
        got = exchange(net, frames, [sock])[0]
        assert marks(got) == [2] and got[0] == frames[1][:80]
        assert bypass.counters(addr(A4), 40000, addr(B4), 443)[0] == 1
