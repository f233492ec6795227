"""TCP session tracking: sequence space, validation of control segments, and the
bridge from segments to per-direction reassembly.

The state itself changes only through `tcp_state.transition`. This module decides which event
a segment raises and whether a control segment is believable: an RST must fall in the
sender's sequence window (RFC 5961) or, before the handshake completes, acknowledge the SYN;
a control segment whose TCP timestamps could not come from the real endpoint (echoing a value
the peer never sent, or using timestamps the peer did not negotiate) is ignored, as the real
receiver would drop it (PAWS, RFC 7323). That defeats the classic spoofed-RST/FIN evasions.
"""

from __future__ import annotations

from dlp.decode.packet import ACK, FIN, RST, SYN, URG
from dlp.flow.flow import Flow
from dlp.flow.tcp_state import BOTH_FIN, Ev, State, event_for, invalid_flags, transition
from dlp.stream.reassembly import M32, Memory, Reassembler

RESERVED_BITS = 0xE00  # the three reserved header bits, kept above the flag byte
ESTABLISHED = int(State.ESTABLISHED)
SLOW_PATH_FLAGS = SYN | FIN | RST | URG | ACK | RESERVED_BITS


class Endpoint:
    """One side's sending state, and the reassembler for the bytes it sends."""

    __slots__ = ("flow", "direction", "consumer", "events", "reasm", "isn", "syn_ts",
                 "tsval", "tsval_first", "win", "wscale", "fin_sent", "fin_end", "fin_acked",
                 "bytes_out")

    def __init__(self, flow: Flow, direction: int, consumer, events, mem: Memory, cfg):
        self.flow = flow
        self.direction = direction
        self.consumer = consumer
        self.events = events
        self.reasm = Reassembler(self, mem, cfg.reassembly_depth, cfg.overlap_history,
                                 urgent_oob=cfg.urgent_policy == "oob")
        self.isn: int | None = None
        self.syn_ts: bool | None = None  # did its SYN carry the timestamp option?
        self.tsval: int | None = None
        self.tsval_first: int | None = None
        self.win = 65535
        self.wscale = 0
        self.fin_sent = False
        self.fin_end: int | None = None  # sequence number just after its FIN
        self.fin_acked = False
        self.bytes_out = 0

    # StreamSink: what reassembly reports
    def stream_data(self, data: bytes) -> None:
        self.bytes_out += len(data)
        self.consumer.on_data(self.flow, self.direction, data)

    def stream_gap(self, length: int) -> None:
        self.events["tcp.reassembly_gap"] += 1
        self.flow.anomaly("stream.reassembly_seq_gap", self.direction)
        self.consumer.on_gap(self.flow, self.direction, length)

    def stream_event(self, name: str) -> None:
        self.events["tcp." + name] += 1
        if name not in ("retransmission", "keepalive", "retransmission_unchecked"):
            self.flow.anomaly("stream." + name, self.direction)


class TcpConn:
    """Both endpoints of one TCP connection."""

    __slots__ = ("ep",)

    def __init__(self, flow: Flow, consumer, events, mem: Memory, cfg):
        self.ep = (Endpoint(flow, 0, consumer, events, mem, cfg),
                   Endpoint(flow, 1, consumer, events, mem, cfg))

    def finish(self) -> None:
        for ep in self.ep:
            ep.reasm.finish()

    def unseen_progress(self, direction: int, next_seq: int) -> None:
        """Segments of a bypassed flow went by without us (dropped before capture): the sender
        reached `next_seq`. Move its sequence frontier there so the in-window checks of a later
        RST or data stay right, and forget its timestamps (their echoes would look forged)."""
        ep = self.ep[direction]
        ep.reasm.add(next_seq, b"")
        ep.tsval = ep.tsval_first = None

    @property
    def buffered(self) -> int:
        return self.ep[0].reasm.buffered + self.ep[1].reasm.buffered


def track(flow: Flow, pkt, d: int, midstream: bool) -> None:
    """Apply one segment (sent in direction `d`) to the connection."""
    flags = pkt.flags
    conn: TcpConn = flow.tcp
    ep, peer = conn.ep[d], conn.ep[1 - d]
    if flow.state == ESTABLISHED and flags & SLOW_PATH_FLAGS == ACK:
        # The common case, kept lean: data or a pure ACK inside an established session.
        # The table maps (ESTABLISHED, ACK_*) to ESTABLISHED and there is no control
        # segment to validate, so only the sequence space moves.
        if (pkt.payload or pkt.missing) and _data_out_of_window(ep, peer, pkt.seq):
            _reject(flow, ep, "tcp.data_out_of_window")
            return  # the receiver drops it (RFC 793): its data, ACK and window count for nothing
        tsval = pkt.tsval
        if tsval is not None:
            ep.tsval = tsval
            if ep.tsval_first is None:
                ep.tsval_first = tsval
        ep.win = pkt.win << ep.wscale
        if (pkt.payload or pkt.missing) and not ep.reasm.finished:
            ep.reasm.add(pkt.seq, pkt.payload, pkt.missing)
        peer.reasm.acked(pkt.ack)
        return
    bad = invalid_flags(flags)
    if bad is not None:
        ep.events[bad] += 1
        flow.anomaly(bad, d)
        if not flags & ACK:
            return  # no stack accepts these: nothing enters the stream
    if flags & RESERVED_BITS:
        flow.anomaly("tcp.reserved_flags", d)
    ev = event_for(flags, d == 0)
    state = flow.state
    if flags & (RST | SYN | FIN) and not _control_believable(flow, ep, peer, pkt, d, state):
        return
    if state == State.NONE and ev in (Ev.ACK_C, Ev.ACK_S, Ev.FIN_C, Ev.FIN_S):
        if not midstream:
            return
        flow.midstream = True
    new = transition(state, ev)
    if new is None:
        ep.events["tcp.invalid_transition"] += 1
        flow.anomaly(f"tcp.invalid_{state.name.lower()}_{ev.name.lower()}", d)
        return
    if pkt.tsval is not None:
        ep.tsval = pkt.tsval
        if ep.tsval_first is None:
            ep.tsval_first = pkt.tsval
    if flags & SYN:
        _syn(ep, pkt)
    ep.win = pkt.win << ep.wscale if not flags & SYN else pkt.win
    seq = (pkt.seq + 1) & M32 if flags & SYN else pkt.seq
    if flags & RST:
        if pkt.payload:
            ep.events["tcp.rst_with_data"] += 1
            flow.anomaly("stream.rst_with_data", d)
    elif (pkt.payload or pkt.missing) and not flags & SYN and _data_out_of_window(ep, peer, seq):
        _reject(flow, ep, "tcp.data_out_of_window")
    elif (pkt.payload or pkt.missing) and not ep.reasm.finished:
        if pkt.urg:
            ep.reasm.urgent(seq, pkt.urg)
        ep.reasm.add(seq, pkt.payload, pkt.missing)
    if flags & FIN and not flags & RST:
        ep.reasm.fin(seq, len(pkt.payload) + pkt.missing)
        if not ep.fin_sent:
            ep.fin_sent = True
            ep.fin_end = (seq + len(pkt.payload) + pkt.missing + 1) & M32
            if peer.fin_sent and new in BOTH_FIN:
                new = BOTH_FIN[new]
    if flags & ACK:
        peer.reasm.acked(pkt.ack)
        if peer.fin_sent and pkt.ack == peer.fin_end:
            peer.fin_acked = True
            if new == State.CLOSING and ep.fin_acked:
                new = transition(new, Ev.FINS_ACKED) or new
    flow.state = new
    if new == State.CLOSED:
        conn.finish()


def _syn(ep: Endpoint, pkt) -> None:
    if ep.isn is None:
        ep.isn = pkt.seq
        ep.syn_ts = pkt.tsval is not None
        if pkt.wscale is not None:
            ep.wscale = pkt.wscale
        ep.reasm.anchor_syn(pkt.seq)


def _control_believable(flow: Flow, ep: Endpoint, peer: Endpoint, pkt, d: int,
                        state: State) -> bool:
    """Would the real receiver accept this SYN/FIN/RST? If not, count it and ignore it."""
    flags = pkt.flags
    if pkt.tsval is not None and peer.syn_ts is False and ep.syn_ts is None:
        return _reject(flow, ep, "tcp.pkt_invalid_timestamp")  # peer never offered timestamps
    # Echo check only where forged control segments matter (resets, and before the session is
    # up): a FIN in an established session may echo a value the mirror has not shown us yet.
    if (pkt.tsecr and flags & ACK and peer.tsval is not None and not flow.midstream
            and (flags & RST or state < State.ESTABLISHED or state == State.RESET)
            and not _echoes(peer, pkt.tsecr)):
        return _reject(flow, ep, "tcp.pkt_invalid_timestamp")
    if flags & RST:
        return _rst_in_window(flow, ep, peer, pkt, state)
    if flags & SYN and flags & ACK and state == State.RESET:
        # a SYN/ACK after a reset: the reset was forged if this answers the original SYN
        if peer.isn is None or pkt.ack != (peer.isn + 1) & M32:
            return _reject(flow, ep, "tcp.synack_after_rst_invalid")
        flow.anomaly("tcp.synack_after_rst", d)
        ep.isn = None
    return True


def _rst_in_window(flow: Flow, ep: Endpoint, peer: Endpoint, pkt, state: State) -> bool:
    if state in (State.SYN_SENT, State.NONE) and peer.isn is not None and ep.isn is None:
        # answering a SYN: only an RST that acknowledges it is valid (RFC 793)
        if pkt.flags & ACK and pkt.ack == (peer.isn + 1) & M32:
            return True
        return _reject(flow, ep, "tcp.rst_invalid_ack")
    reasm = ep.reasm
    if reasm.base is None or not reasm.anchored:
        return True  # nothing known of this side's sequence space
    window = max(peer.win, 65535) * 2
    off = reasm.offset(pkt.seq)
    if -window <= off - reasm.delivered <= window:
        return True
    return _reject(flow, ep, "tcp.rst_out_of_window")


def _data_out_of_window(ep: Endpoint, peer: Endpoint, seq: int) -> bool:
    """Does data at `seq` start far outside what the receiver accepts (more than twice its
    advertised window, and at least the reassembly depth, ahead of or behind the delivery
    point)? Blind injection guesses the sequence number; real senders stay inside the window,
    and the reassembly depth is the slack for segments the mirror lost."""
    reasm = ep.reasm
    if not reasm.anchored:
        return False
    rel = (seq - reasm.base - reasm.delivered) & M32
    if rel == 0:
        return False  # the next in-order byte: the common case
    limit = max(peer.win * 2, reasm.depth)
    return limit < rel < (1 << 32) - limit


def _echoes(peer: Endpoint, tsecr: int) -> bool:
    """Could `tsecr` echo a timestamp the peer has sent (first..latest, wrap-aware)?"""
    first = peer.tsval_first if peer.tsval_first is not None else peer.tsval
    span = (peer.tsval - first) & M32
    return ((tsecr - first) & M32) <= span + 1000  # slack for reordering on the mirror


def _reject(flow: Flow, ep: Endpoint, name: str) -> bool:
    ep.events[name] += 1
    flow.anomaly(name, ep.direction)
    return False
