"""`dlp run --keylog`: a Pipeline whose TLS connections are also decrypted as they pass.

Drop-in for the daemon's worker (`LiveKeylogPipeline(ruleset, writer, keylog)` instead of
`Pipeline(ruleset, writer)`); everything else is the worker's as before:

* packets of TLS connections (first payload a ClientHello, any port) are copied, as the
  pipeline decodes them, into a tshark reading a pcap stream (dlp/tls/live.py);
* after each feed() (a capture batch) the decrypted bytes that came back are handed to the
  dispatcher as the stream of the engine's own flow (DecryptedConnection), so alerts carry
  its 5-tuple and flow id; a connection ends at RST/both FINs;
* finish() lets tshark finish and inspects the rest.

Flows are matched by 5-tuple (oldest first when a tuple was reused); at most MAX_PENDING TLS
flows wait for their decrypted bytes (oldest dropped and counted: tls.keylog_pending_dropped).
Packets of a second link type on the same worker are counted (tls.keylog_linktype_mixed),
not decrypted: one tshark reads one pcap stream.
"""

from __future__ import annotations

from collections import OrderedDict

from dlp.pipeline import Pipeline
from dlp.tls import tshark
from dlp.tls.keylog import DecryptedConnection, check_keylog, decrypted_dispatcher
from dlp.tls.live import LiveTlsDecryptor, _TeeDecoder
from dlp.tls.spotter import TlsFlowSpotter

MAX_PENDING = 100_000


class _PendingFlows(TlsFlowSpotter):
    """The spotter, keeping TLS flows by tuple until tshark's stream for them shows up."""

    def __init__(self):
        super().__init__()
        self.by_tuple: OrderedDict = OrderedDict()  # tuple -> [TlsFlow, ...]
        self.dropped = 0

    def found(self, tls) -> None:
        self.by_tuple.setdefault(tls.tuple, []).append(tls)
        if len(self.by_tuple) > MAX_PENDING:
            self.by_tuple.popitem(last=False)
            self.dropped += 1

    def take(self, tup):
        flows = self.by_tuple.get(tup)
        if not flows:
            return None
        tls = flows.pop(0)
        if not flows:
            del self.by_tuple[tup]
        return tls


class LiveKeylogPipeline(Pipeline):
    def __init__(self, ruleset, eve_writer, keylog: str, streams_dir: str | None = None):
        self.keylog = check_keylog(keylog)
        super().__init__(ruleset, eve_writer, streams_dir)
        self.pending = _PendingFlows()
        self.add_consumer(self.pending)
        self.decoder = _TeeDecoder(self.decoder, self._tls_packet)
        self.live: LiveTlsDecryptor | None = None
        self.conns: dict[int, DecryptedConnection | None] = {}
        self.decrypted = None  # the dispatcher of decrypted streams, made on first use

    def _tls_packet(self, ts: int, linktype: int, frame: bytes, wirelen: int) -> None:
        if self.live is None:
            self.live = LiveTlsDecryptor(self.keylog, linktype)
            self.live.start()
        if linktype != self.live.linktype:
            self.engine.events["tls.keylog_linktype_mixed"] += 1
            return
        self.live.packet(ts, frame, wirelen)

    def feed(self, records, housekeeping=None, packet_time_stats: bool = True) -> None:
        try:
            super().feed(records, housekeeping, packet_time_stats)
        finally:
            if self.live is not None:
                self.live.flush()
                self.pump()

    def pump(self) -> None:
        """Inspect what tshark has decrypted so far (called after each batch)."""
        events = self.engine.events
        self.decrypted = decrypted_dispatcher(self, self.decrypted)  # follows rules reloads
        for stream, tup, direction, data in self.live.poll():
            if stream not in self.conns:
                if direction == tshark.END:
                    continue
                tls = self.pending.take(tup)
                self.conns[stream] = tls and DecryptedConnection(tls.flow, self.decrypted, events,
                                                                 tls.client_direction)
                events["tls.keylog_decrypted" if tls else "tls.keylog_unmatched"] += 1
            conn = self.conns[stream]
            if conn is None:
                continue
            if direction == tshark.END:
                conn.end()
                self.conns[stream] = None
            else:
                conn.data(direction, data)
        # streams that ended stay as None so a late packet of theirs is not a new connection;
        # bounded like the pending flows
        while len(self.conns) > MAX_PENDING:
            conn = self.conns.pop(next(iter(self.conns)))
            if conn is not None:
                conn.end()

    def finish(self):
        if self.live is not None:
            self.live.close()
            self.pump()
            for conn in self.conns.values():
                if conn is not None:
                    conn.end()
            self.conns.clear()
        self.engine.events["tls.keylog_pending_dropped"] += self.pending.dropped
        return super().finish()
