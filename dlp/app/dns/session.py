"""DNS on one flow: messages in, query/response pairs out (sans-I/O).

A `DnsSession` is fed datagrams (UDP) or stream bytes (TCP, length-prefixed) per direction and
calls `emit(transaction)` with a `DnsTransaction` when a response meets its query, when a
response arrives that nobody asked for, and, at `end()`, for every query left unanswered.
Pairing is by (message id, first question) as resolvers match them (RFC 5452), on either
direction: the side that asks is whichever sends the query, so a flow seen from its middle
still pairs. Messages that do not parse are counted by anomaly name and never raise.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from detectors.base import DnsTransaction, FlowInfo, TOCLIENT, TOSERVER
from dlp.app.dns.message import DnsError, Message, TcpFramer, parse

MAX_PENDING = 256  # unanswered queries kept per flow: beyond, the oldest is reported unanswered


def _pair_key(msg: Message) -> tuple:
    q = msg.questions[0] if msg.questions else None
    return (msg.id, q.name, q.qtype) if q is not None else (msg.id, None, None)


class DnsSession:
    """The DNS conversation of one flow; `flow_info(direction)` gives the FlowInfo oriented
    from the sender of `direction` (the client is the side that queries)."""

    __slots__ = ("flow_info", "emit", "events", "transport", "pending", "framers")

    def __init__(self, flow_info, emit, events: Counter, transport: str = "udp"):
        self.flow_info = flow_info
        self.emit = emit
        self.events = events
        self.transport = transport
        self.pending: OrderedDict[tuple, tuple[int, int, Message, int]] = OrderedDict()
        self.framers = (TcpFramer(), TcpFramer()) if transport == "tcp" else None

    # -- input ---------------------------------------------------------------------
    def datagram(self, direction: int, payload: bytes, ts: int) -> None:
        self._message(direction, payload, ts)

    def data(self, direction: int, data: bytes, ts: int) -> None:
        try:
            messages = self.framers[direction].feed(data)
        except DnsError as exc:
            self.events[exc.kind] += 1
            return
        for raw in messages:
            self._message(direction, raw, ts)

    def gap(self, direction: int) -> None:
        self.framers[direction].gap()

    def end(self) -> None:
        """The flow is over: every query still waiting is reported unanswered."""
        while self.pending:
            self._unanswered(self.pending.popitem(last=False)[1])

    # -- pairing -------------------------------------------------------------------
    def _message(self, direction: int, raw: bytes, ts: int) -> None:
        try:
            msg = parse(raw)
        except DnsError as exc:
            self.events[exc.kind] += 1
            return
        self.events["dns.message"] += 1
        key = _pair_key(msg)
        if not msg.response:
            if key in self.pending:  # a retransmission: the first query's time stands
                self.events["dns.query_repeated"] += 1
                return
            if len(self.pending) >= MAX_PENDING:
                self.events["dns.pending_overflow"] += 1
                self._unanswered(self.pending.popitem(last=False)[1])
            self.pending[key] = (direction, ts, msg, len(raw))
            return
        query = self.pending.pop(key, None)
        if query is None:
            self.events["dns.answer_without_query"] += 1
            # the asker is the receiver of this response
            info = self.flow_info(1 - direction)
            self.emit(DnsTransaction(info, ts, None, msg, 0, len(raw), self.transport))
            return
        qdir, qts, qmsg, qsize = query
        self.emit(DnsTransaction(self.flow_info(qdir), qts, qmsg, msg, qsize, len(raw),
                                 self.transport, max(0, ts - qts)))

    def _unanswered(self, query) -> None:
        qdir, qts, qmsg, qsize = query
        self.emit(DnsTransaction(self.flow_info(qdir), qts, qmsg, None, qsize, 0, self.transport))


def oriented(info: FlowInfo, direction: int) -> FlowInfo:
    """`info` as seen from the sender of `direction` (client -> server when TOSERVER)."""
    if direction == TOSERVER:
        return info
    return FlowInfo(info.flow_id, info.proto, info.dest_ip, info.dest_port, info.src_ip,
                    info.src_port, info.vlan)


__all__ = ["DnsSession", "oriented", "TOCLIENT", "TOSERVER"]
