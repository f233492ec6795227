"""Flow records: one bidirectional conversation, as the later stages see it."""

from __future__ import annotations

import hashlib
import struct
from collections import Counter

from dlp.decode.packet import PROTO_NAMES
from dlp.flow.tcp_state import State

TOSERVER, TOCLIENT = 0, 1


class Flow:
    """A conversation keyed by 5-tuple (+ VLAN). Direction 0 is client to server.

    Later stages get this object with stream events; they read it, never change it
    (except `app`, the app layer's own per-flow state).
    """

    __slots__ = (
        "key", "flow_id", "proto", "vlan", "cli", "srv", "cport", "sport", "start", "last",
        "pkts", "bytes", "state", "reason", "tcp", "tclass", "anomalies", "app", "tcp_flags",
        "midstream", "alerted", "tunnel", "icmp_type", "icmp_code", "ended", "lru", "community_id",
        "first_flags", "notify", "info", "bypassed", "offloaded", "unseen",
    )

    def __init__(self, key: tuple, pkt, client_is_src: bool):
        self.key = key
        self.proto = pkt.proto
        self.vlan = pkt.vlan
        if client_is_src:
            self.cli, self.cport, self.srv, self.sport = pkt.src, pkt.sport, pkt.dst, pkt.dport
        else:
            self.cli, self.cport, self.srv, self.sport = pkt.dst, pkt.dport, pkt.src, pkt.sport
        self.start = self.last = pkt.ts
        self.flow_id = flow_id_for(key, pkt.ts)
        self.pkts = [0, 0]
        self.bytes = [0, 0]
        self.state = State.NONE
        self.reason: str | None = None
        self.tcp = None
        self.tclass = ""
        self.anomalies: Counter | None = None
        self.app = None
        self.tcp_flags = [0, 0]
        self.midstream = False
        self.alerted = False
        self.tunnel = pkt.tunnel
        self.icmp_type = pkt.sport if pkt.proto in (1, 58) else None
        self.icmp_code = pkt.dport if pkt.proto in (1, 58) else None
        self.ended = False
        self.lru = None  # the engine's LRU ordering this flow sits in (by timeout class)
        self.community_id: str | None = None  # filled in by the EVE writer when first needed
        self.first_flags = pkt.flags & 0xFFF if pkt.proto == 6 else 0
        self.notify = None  # the engine's consumer.on_event: anomalies reach detection too
        self.info = None  # detection's FlowInfo, made when first needed
        self.bypassed = False  # no consumer wanted its bytes any more: reassembly stopped
        self.offloaded = False  # bypassed, and its packets are now dropped before capture
        self.unseen: list[int] | None = None  # per direction: packets counted but dropped before capture

    def anomaly(self, name: str, direction: int = TOSERVER) -> None:
        """Record an anomaly of this flow (`direction`: who sent the packet that raised it)."""
        if self.anomalies is None:
            self.anomalies = Counter()
        self.anomalies[name] += 1
        if self.notify is not None:
            self.notify(self, direction, name)

    @property
    def proto_name(self) -> str:
        return PROTO_NAMES.get(self.proto, str(self.proto))

    def sides(self, direction: int = TOSERVER) -> tuple[bytes, int, bytes, int]:
        """(src, src_port, dest, dest_port) of bytes sent in `direction` (raw addresses)."""
        if direction == TOSERVER:
            return self.cli, self.cport, self.srv, self.sport
        return self.srv, self.sport, self.cli, self.cport


def flow_id_for(key: tuple, ts: int) -> int:
    """A stable integer id (as Suricata's flow_id: positive, fits in a JSON double)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(key[0] + key[2] + struct.pack("!HHBq", key[1] & 0xFFFF, key[3] & 0xFFFF, key[4], ts))
    h.update(repr(key[5]).encode())
    return int.from_bytes(h.digest(), "big") & ((1 << 51) - 1)
