"""Rewrites a key-log test capture so that TLS segments travel as IP fragments.

Every client -> server TCP segment of at least MIN_PAYLOAD bytes sent to one of the TLS
servers (ClientHellos and uploads, card uploads included) is split into IP fragments of
FRAGMENT bytes, sent last fragment first (a receiver must reassemble by offset, not by order);
everything else is copied as it is. With `ipv6`, every IPv4 packet first becomes IPv6
(10.213.7.x -> fd00::x; TCP checksums are left as they were: neither tshark nor dlp checks
them) and segments are split with fragment headers. Deterministic: fragment ids count up.
"""

from __future__ import annotations

import struct

from dlp.capture.pcapfile import CaptureFile
from tools import pcapgen
from tools.mitm_capture import SERVERS

ETH_IPV4, ETH_IPV6 = b"\x08\x00", b"\x86\xdd"
MIN_PAYLOAD = 300
FRAGMENT = 256


def fragment_tls_segments(src: str, dst: str, ipv6: bool = False) -> int:
    """Writes the rewritten capture to `dst`; returns how many segments were fragmented."""
    fragmented, ident = 0, 0
    with CaptureFile(src) as cap, pcapgen.PcapWriter(dst) as out:
        for ts, linktype, frame, wirelen in cap:
            assert linktype == 1 and wirelen == len(frame)  # tcpdump on a veth: whole Ethernet frames
            if frame[12:14] != ETH_IPV4:
                out.write(ts / 1e6, frame)
                continue
            eth, packet = frame[:12], frame[14:14 + struct.unpack_from("!H", frame, 16)[0]]
            if ipv6:
                packet = _as_ipv6(packet)
            if _is_tls_upload_segment(packet, ipv6):
                fragmented, ident = fragmented + 1, ident + 1
                pieces = (pcapgen.fragment_ipv6(packet, FRAGMENT, ident=ident) if ipv6
                          else pcapgen.fragment_ipv4(_with_ident(packet, ident), FRAGMENT))
            else:
                pieces = [packet]
            for piece in reversed(pieces):
                out.write(ts / 1e6, eth + (ETH_IPV6 if ipv6 else ETH_IPV4) + piece)
    return fragmented


def _is_tls_upload_segment(packet: bytes, ipv6: bool) -> bool:
    if ipv6:
        proto, tcp = packet[6], packet[40:]
    else:
        ihl = (packet[0] & 0x0F) * 4
        proto, tcp = packet[9], packet[ihl:]
    if proto != pcapgen.PROTO_TCP:
        return False
    dport = struct.unpack_from("!H", tcp, 2)[0]
    return dport in SERVERS and len(tcp) - (tcp[12] >> 4) * 4 >= MIN_PAYLOAD


def _with_ident(packet: bytes, ident: int) -> bytes:
    """Own fragment id, and DF cleared (the sender now fragments)."""
    return packet[:4] + struct.pack("!HH", ident, 0) + packet[8:]


def _as_ipv6(packet: bytes) -> bytes:
    """An IPv4 packet without options, as IPv6 between fd00::<last octet> addresses."""
    assert packet[0] == 0x45, "IPv4 options are not expected in these captures"
    src, dst = (f"fd00::{packet[offset + 3]}" for offset in (12, 16))
    return pcapgen.ipv6(src, dst, packet[9], packet[20:])
