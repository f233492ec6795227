"""Shared test helpers: hand-made packets and a consumer that records stream events."""

from __future__ import annotations

import socket

from dlp.decode.packet import ACK, FIN, PSH, RST, SYN, TCP, UDP, Packet

__all__ = ["ACK", "FIN", "PSH", "RST", "SYN", "Collect", "Recorder", "seg", "udp", "addr"]


def addr(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


def seg(src: str, sport: int, dst: str, dport: int, flags: int, seq: int = 0, ack: int = 0,
        payload: bytes = b"", ts: int = 0, tsval=None, tsecr=None, win: int = 65535,
        vlan: tuple = ()) -> Packet:
    p = Packet(ts, 54 + len(payload), vlan, addr(src), addr(dst), TCP)
    p.sport, p.dport, p.flags, p.seq, p.ack, p.win = sport, dport, flags, seq, ack, win
    p.payload, p.tsval, p.tsecr = payload, tsval, tsecr
    return p


def udp(src: str, sport: int, dst: str, dport: int, payload: bytes, ts: int = 0) -> Packet:
    p = Packet(ts, 42 + len(payload), (), addr(src), addr(dst), UDP)
    p.sport, p.dport, p.payload = sport, dport, payload
    return p


class Recorder:
    """A StreamConsumer that keeps everything it is told."""

    def __init__(self):
        self.streams: dict[tuple[int, int], bytearray] = {}
        self.gaps: list[tuple[int, int, int]] = []
        self.datagrams: list[tuple[int, int, bytes]] = []
        self.opened: list = []
        self.closed: list = []

    def on_open(self, flow):
        self.opened.append(flow)

    def on_data(self, flow, direction, data):
        self.streams.setdefault((flow.flow_id, direction), bytearray()).extend(data)

    def on_gap(self, flow, direction, length):
        self.gaps.append((flow.flow_id, direction, length))

    def on_datagram(self, flow, direction, payload, pkt):
        self.datagrams.append((flow.flow_id, direction, payload))

    def on_close(self, flow):
        self.closed.append(flow)

    def stream(self, flow, direction) -> bytes:
        return bytes(self.streams.get((flow.flow_id, direction), b""))


class Collect:
    """A detector taking the given input kinds ("http", "dns", "flow"...): it keeps every
    item it is shown in `items` and finds nothing."""

    name = "collect"

    def __init__(self, *inputs):
        self.inputs = frozenset(inputs)
        self.items = []

    def applies(self, item):
        return True

    def inspect(self, item):
        self.items.append(item)
        return []
