"""The flow table: packets in, stream events out.

Consumers implement `StreamConsumer` (dlp/stream/consumer.py) and receive, per flow:
on_open, in-order on_data chunks and on_gap per direction, on_datagram for UDP/ICMP, and
on_close. They never see packets or segments.

A bypassed flow may also be offloaded (`set_offload`): something below the engine (the
kernel, dlp/live/offload.py) then drops its packets before capture, except SYN/FIN/RST. The
engine asks the offload for what it dropped (`sync`) before it uses the flow again: before a
packet of it, before timing it out, and when it ends.

Flows live in one LRU ordering per timeout class, so expiry only looks at the oldest flows of
each class. Limits: `max_flows` (the oldest flow is evicted, closed flows first) and the
stream memcap (buffered bytes of the oldest flows are released as gaps).
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from dlp.config import EngineConfig
from dlp.decode.packet import ACK, FIN, ICMP, ICMP6, RST, SYN, TCP, UDP, Packet
from dlp.flow.flow import Flow
from dlp.flow.tcp import TcpConn, track
from dlp.flow.tcp_state import State
from dlp.stream.reassembly import Memory

US = 1_000_000
LATE_SYN_WINDOW = 1 << 20  # a SYN this close to a stream's first byte belongs to it
CLOSED_STATES = (State.CLOSING, State.CLOSED, State.RESET)
EVICTION_ORDER = ("tcp_closed", "tcp_new", "udp_new", "icmp_new", "udp_established",
                  "icmp_established", "tcp_established")
# ICMP types whose flows are keyed like a request/response (echo, timestamp, info...)
ICMP_REPLY_TYPES = {0, 14, 16, 18, 129}


class FlowEngine:
    def __init__(self, cfg: EngineConfig, consumer):
        self.cfg = cfg
        self.consumer = consumer
        self.flows: dict[tuple, Flow] = {}
        t = cfg.timeouts
        self.timeouts = {name: getattr(t, name) * US for name in EVICTION_ORDER}
        self.lru: dict[str, OrderedDict] = {name: OrderedDict() for name in EVICTION_ORDER}
        self.mem = Memory(cfg.stream_memcap)
        self.events: Counter = Counter()  # engine anomalies and counters by name
        self.flows_total = 0
        self.flows_closed = Counter()  # by reason
        self.now = 0
        self._next_expiry = 0
        self._use_vlan = cfg.vlan_tracking
        self._midstream = cfg.midstream
        self._on_event = getattr(consumer, "on_event", None)  # session moments and anomalies
        self._bypass: list[Flow] = []  # flows whose bytes no consumer wants any more
        self.offload = None  # drops bypassed flows' packets before capture (set_offload)

    # -- packets -------------------------------------------------------------------
    def process(self, pkt: Packet) -> None:
        ts = pkt.ts
        if ts > self.now:
            self.now = ts
            if ts >= self._next_expiry:
                self.expire(ts)
                self._next_expiry = ts + US
        proto = pkt.proto
        src, dst = pkt.src, pkt.dst
        if proto == TCP or proto == UDP:
            sp, dp = pkt.sport, pkt.dport
        else:  # ICMP: echo flows are keyed by identifier
            sp = dp = pkt.icmp_id
        # direction-independent key: lower (address, port) first
        if src < dst or (src == dst and sp <= dp):
            key = (src, sp, dst, dp, proto, pkt.vlan if self._use_vlan else ())
        else:
            key = (dst, dp, src, sp, proto, pkt.vlan if self._use_vlan else ())
        flow = self.flows.get(key)
        if flow is None:
            flow = self._open(key, pkt)
        else:
            if flow.offloaded and proto == TCP and pkt.flags & (SYN | FIN | RST):
                self._unseen(flow, pkt)  # (its other packets still coming up left before it went down)
            if proto == TCP and pkt.flags & (SYN | ACK) == SYN and self._reused(flow, pkt):
                self._close(flow, "fin" if flow.state == State.CLOSED else "rst"
                            if flow.state == State.RESET else "reused")
                flow = self._open(key, pkt)
        if proto == TCP:
            d = 0 if pkt.sport == flow.cport and src == flow.cli else 1
        else:
            d = _direction(flow, pkt)
        flow.pkts[d] += 1
        flow.bytes[d] += pkt.wirelen
        flow.last = ts
        flow.lru.move_to_end(key)
        if proto == TCP:
            flow.tcp_flags[d] |= pkt.flags & 0xFF
            state = flow.state
            track(flow, pkt, d, self._midstream)
            if flow.state != state:
                self._reclass(flow)
                if flow.state == State.ESTABLISHED and self._on_event is not None:
                    self._on_event(flow, d, "tcp.established")
            if self._bypass:
                self._apply_bypass()
            if self.mem.used > self.mem.limit:
                self._relieve_memory()
        else:
            if flow.pkts[1 - d] and flow.tclass.endswith("_new"):
                self._reclass(flow)
            if pkt.payload or pkt.missing:
                self.consumer.on_datagram(flow, d, pkt.payload, pkt)

    def set_consumer(self, consumer) -> None:
        """Replace what receives the stream events (flows already open keep the old one)."""
        self.consumer = consumer
        self._on_event = getattr(consumer, "on_event", None)

    def request_bypass(self, flow: Flow) -> None:
        """A consumer wants no more of this TCP flow's bytes (asked while bytes are being
        delivered, so it takes effect after the current packet): reassembly stops, packets
        and bytes are still counted and the session still tracked (Suricata's bypass)."""
        self._bypass.append(flow)

    def set_offload(self, offload) -> None:
        """Something that can drop a bypassed flow's packets before capture, with:
        `start(flow) -> bool` (False: it cannot take the flow, e.g. its table is full),
        `sync(flow) -> bool` (adds what it dropped to the flow's counts, moves `flow.last` and
        the TCP frontier; True when it dropped something since the last sync) and
        `stop(flow)` (the flow ended: forget it) and `sync_all()` (every flow it holds, before
        a stats event)."""
        self.offload = offload

    def _apply_bypass(self) -> None:
        for flow in self._bypass:
            if flow.tcp is not None and not flow.ended and not flow.bypassed:
                flow.bypassed = True
                for ep in flow.tcp.ep:
                    ep.reasm.bypass()
                self.events["flow.bypassed"] += 1
                if self.offload is not None:
                    if self.offload.start(flow):
                        flow.offloaded = True
                        self.events["flow.offloaded"] += 1
                    else:
                        self.events["flow.offload_refused"] += 1
        self._bypass.clear()

    def _unseen(self, flow: Flow, pkt: Packet) -> None:
        """A SYN/FIN/RST of an offloaded flow came up: first count what went by below us. A
        FIN or RST takes the flow back, so the closing ACKs come up too."""
        self.offload.sync(flow)
        if pkt.flags & (FIN | RST):
            self.offload.stop(flow)
            flow.offloaded = False


    def _open(self, key: tuple, pkt: Packet) -> Flow:
        if len(self.flows) >= self.cfg.max_flows:
            self._evict_one()
        flow = Flow(key, pkt, _sender_is_client(pkt))
        flow.notify = self._on_event
        if pkt.proto == TCP:
            flow.tcp = TcpConn(flow, self.consumer, self.events, self.mem, self.cfg)
            flow.tclass = "tcp_new"
        else:
            flow.tclass = "icmp_new" if pkt.proto in (ICMP, ICMP6) else "udp_new"
        self.flows[key] = flow
        flow.lru = self.lru[flow.tclass]
        flow.lru[key] = flow
        self.flows_total += 1
        self.consumer.on_open(flow)
        return flow

    def _reused(self, flow: Flow, pkt: Packet) -> bool:
        """A new SYN on a finished connection (or with a new ISN) is a new connection."""
        if flow.state not in CLOSED_STATES and flow.state != State.FIN_WAIT:
            return False
        client = flow.tcp.ep[0]
        if client.isn is not None:
            return client.isn != pkt.seq
        reasm = client.reasm  # no SYN seen yet: is this one late, or a new connection?
        if reasm.base is None or pkt.src != flow.cli:
            return True
        return abs(reasm.offset((pkt.seq + 1) & 0xFFFFFFFF) - reasm.start) > LATE_SYN_WINDOW

    def _reclass(self, flow: Flow) -> None:
        if flow.proto == TCP:
            state = flow.state
            if state in CLOSED_STATES:
                tclass = "tcp_closed"
            elif state in (State.ESTABLISHED, State.FIN_WAIT):
                tclass = "tcp_established"
            else:
                tclass = "tcp_new"
        else:
            tclass = flow.tclass.replace("_new", "_established")
        if tclass != flow.tclass:
            del flow.lru[flow.key]
            flow.tclass = tclass
            flow.lru = self.lru[tclass]
            flow.lru[flow.key] = flow

    # -- ending flows ----------------------------------------------------------------
    def expire(self, now: int) -> None:
        """Close every flow idle longer than its class's timeout."""
        for name, lru in self.lru.items():
            limit = now - self.timeouts[name]
            while lru:
                flow = next(iter(lru.values()))
                if flow.last > limit:
                    break
                if flow.offloaded and self.offload.sync(flow) and flow.last > limit:
                    lru.move_to_end(flow.key)  # busy, only not in front of us
                    continue
                self._close(flow, self._reason(flow, "timeout"))

    def _evict_one(self) -> None:
        for name in EVICTION_ORDER:
            lru = self.lru[name]
            if lru:
                self.events["flow.evicted"] += 1
                flow = next(iter(lru.values()))
                self._close(flow, self._reason(flow, "evicted"))
                return

    def _relieve_memory(self) -> None:
        """Over the stream memcap: release buffered bytes of the oldest flows as gaps."""
        self.events["tcp.memcap_release"] += 1
        target = self.mem.limit * 9 // 10
        for name in EVICTION_ORDER:
            if name.startswith("tcp"):
                for flow in list(self.lru[name].values()):
                    if self.mem.used <= target:
                        return
                    for ep in flow.tcp.ep:
                        ep.reasm.release_pending()

    @staticmethod
    def _reason(flow: Flow, default: str) -> str:
        if flow.proto == TCP:
            if flow.state == State.CLOSED:
                return "fin"
            if flow.state == State.RESET:
                return "rst"
        return default

    def _close(self, flow: Flow, reason: str) -> None:
        if flow.offloaded:
            self.offload.sync(flow)
            self.offload.stop(flow)
        del self.flows[flow.key]
        del flow.lru[flow.key]
        flow.reason = reason
        if flow.tcp is not None:
            flow.tcp.finish()
        flow.ended = True
        self.flows_closed[reason] += 1
        self.consumer.on_close(flow)

    def shutdown(self) -> None:
        """End of capture: close every flow still open."""
        for flow in list(self.flows.values()):
            self._close(flow, self._reason(flow, "end_of_capture"))


def _sender_is_client(pkt: Packet) -> bool:
    """Who opened the conversation, judged from its first packet."""
    if pkt.proto == TCP:
        flags = pkt.flags
        if flags & SYN:
            return not flags & ACK  # a SYN/ACK comes from the server
        if flags & RST:
            return False
    elif pkt.proto in (ICMP, ICMP6):
        return pkt.sport not in ICMP_REPLY_TYPES
    # midstream or datagram: the well-known port is the server's
    if pkt.sport < 1024 <= pkt.dport:
        return False
    return True


def _direction(flow: Flow, pkt: Packet) -> int:
    """0 when the packet goes client to server, 1 when server to client."""
    if pkt.proto in (ICMP, ICMP6):
        if flow.cli == flow.srv:
            return 1 if pkt.sport in ICMP_REPLY_TYPES else 0
        return 0 if pkt.src == flow.cli else 1
    return 0 if pkt.sport == flow.cport and pkt.src == flow.cli else 1
