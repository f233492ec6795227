"""The decoded packet: what the flow engine needs from a frame, and nothing more."""

from __future__ import annotations

import socket

# TCP flag bits
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
PROTO_NAMES = {TCP: "TCP", UDP: "UDP", ICMP: "ICMP", ICMP6: "IPv6-ICMP"}


class Packet:
    """One decoded layer-4 packet (innermost addresses when tunnelled).

    `payload` is the captured layer-4 payload; `missing` counts payload bytes that were on the
    wire but cut by the snaplen: they are missing data, never data.
    For ICMP, sport/dport carry type/code and `icmp_id` the echo identifier.
    """

    __slots__ = (
        "ts", "wirelen", "vlan", "src", "dst", "proto", "sport", "dport",
        "flags", "seq", "ack", "win", "tsval", "tsecr", "wscale", "urg",
        "payload", "missing", "icmp_id", "tunnel",
    )

    def __init__(self, ts: int, wirelen: int, vlan: tuple, src: bytes, dst: bytes, proto: int,
                 sport: int = 0, dport: int = 0, flags: int = 0, seq: int = 0, ack: int = 0,
                 win: int = 0, payload: bytes = b""):
        self.ts = ts  # microseconds since the epoch
        self.wirelen = wirelen
        self.vlan = vlan
        self.src = src
        self.dst = dst
        self.proto = proto
        self.sport = sport
        self.dport = dport
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.win = win
        self.tsval = None
        self.tsecr = None
        self.wscale = None
        self.urg = 0
        self.payload = payload
        self.missing = 0
        self.icmp_id = 0
        self.tunnel = None

    def __repr__(self) -> str:  # for test failures and debugging only
        return (
            f"Packet({ip_text(self.src)}:{self.sport} > {ip_text(self.dst)}:{self.dport} "
            f"proto={self.proto} flags={self.flags:#x} seq={self.seq} ack={self.ack} "
            f"len={len(self.payload)} missing={self.missing} vlan={self.vlan})"
        )


def ip_text(addr: bytes) -> str:
    """Standard text form of a raw address (IPv6 compressed, as inet_ntop writes it)."""
    return socket.inet_ntop(socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)
