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
A TLS flow's EVE record waits for its decrypted connection to end (dlp/tls/records.py), at
most RECORD_HOLD_US of packet time after its last packet, so `flow.alerted` includes the
decrypted alerts. TLS flows are never bypassed (kernel bypass would keep their packets from
tshark).
Packets of a second link type on the same worker are counted (tls.keylog_linktype_mixed),
not decrypted: one tshark reads one pcap stream.
"""

from __future__ import annotations

from collections import OrderedDict

from dlp.pipeline import Pipeline
from dlp.tls.keylog import DecryptedStreams, check_keylog, decrypted_dispatcher
from dlp.tls.live import LiveTlsDecryptor, _TeeDecoder
from dlp.tls.records import FlowRecordHold
from dlp.tls.spotter import TlsFlowSpotter

MAX_PENDING = 100_000
RECORD_HOLD_US = 60_000_000  # tshark lags the capture by far less, unless it is overloaded


class _PendingFlows(TlsFlowSpotter):
    """The spotter, keeping TLS flows by tuple until tshark's stream for them shows up."""

    def __init__(self, records: FlowRecordHold):
        super().__init__(records)
        self.by_tuple: OrderedDict = OrderedDict()  # tuple -> [TlsFlow, ...]
        self.dropped = 0

    def found(self, tls) -> None:
        self.by_tuple.setdefault(tls.tuple, []).append(tls)
        if len(self.by_tuple) > MAX_PENDING:
            _, flows = self.by_tuple.popitem(last=False)
            self.dropped += 1
            for dropped in flows:  # no decrypted stream will name them now
                self.records.release(dropped.flow)

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
        self.records = FlowRecordHold.install(self)
        self.pending = _PendingFlows(self.records)
        self.add_consumer(self.pending)
        self.decoder = _TeeDecoder(self.decoder, self._tls_packet)
        self.live: LiveTlsDecryptor | None = None
        self.tls_streams: DecryptedStreams | None = None  # made on first use
        # detection finds nothing to inspect in an encrypted stream and would bypass it, and a
        # bypassed flow's packets may be dropped in the kernel (dlp/live/ebpf.py): tshark needs
        # them all
        self.keeps_packets.append(self.decoder.selector.is_tls)

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
        if self.tls_streams is None:
            self.tls_streams = DecryptedStreams(self.pending.take, decrypted_dispatcher(self),
                                          self.engine.events, self.records)
        decrypted_dispatcher(self, self.tls_streams.dispatcher)  # follows rules reloads
        for item in self.live.poll():
            self.tls_streams.item(*item)
        self.tls_streams.forget_oldest(MAX_PENDING)
        self.records.release_stale(self.engine.now, RECORD_HOLD_US)

    def finish(self):
        if self.live is not None:
            self.live.close()
            self.pump()
            self.tls_streams.end_all()
        self.records.release_all()
        self.engine.events["tls.keylog_pending_dropped"] += self.pending.dropped
        return super().finish()
