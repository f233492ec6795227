"""Key-log decryption on a live packet stream, for `dlp run --keylog` (the capture daemon).

The daemon keeps its own flows; for each captured packet it asks TlsPacketSelector whether
the packet belongs to a TLS connection (decided by the connection's first payload: a
ClientHello) and, if so, hands it to LiveTlsDecryptor. That writes the packets as a pcap
stream into a tshark reading its stdin (`-i -`, line-buffered output, key log re-read by
tshark for each new TLS session, so keys the proxy appends later are found). A reader
thread parses tshark's lines (dlp/tls/tshark.py) into a queue; the daemon's own thread
calls poll() and passes each item to a DecryptedConnection (dlp/tls/keylog.py) of its
flow, so detectors never run on the reader thread.

    selector, live = TlsPacketSelector(), LiveTlsDecryptor(keylog, linktype)
    live.start()
    ...per packet:  if selector.wants(pkt): live.packet(ts_us, frame, wirelen)
    ...periodically: for stream, tup, direction, data in live.poll(): ...
    live.close(); for item in live.poll(): ...   # the rest

Memory is bounded: the selector remembers at most `max_flows` connections (oldest first
out), the queue is unbounded only in the sense that poll() drains it.
"""

from __future__ import annotations

import queue
import subprocess
import tempfile
import threading
from collections import OrderedDict

from dlp.decode.packet import TCP
from dlp.tls import tshark
from dlp.tls.clienthello import is_client_hello
from dlp.tls.fragments import FrameDecoder

UNDECIDED, TLS, OTHER = 0, 1, 2


class TlsPacketSelector:
    """Which packets belong to TLS connections: from the ClientHello on (tshark does not
    need the TCP handshake), every packet of the connection in both directions."""

    def __init__(self, max_flows: int = 200_000):
        self.max_flows = max_flows
        self.flows: OrderedDict = OrderedDict()  # direction-independent key -> state

    def wants(self, pkt) -> bool:
        if pkt.proto != TCP:
            return False
        key = _conversation(pkt.src, pkt.sport, pkt.dst, pkt.dport)
        state = self.flows.get(key, UNDECIDED)
        if state == UNDECIDED and pkt.payload:
            state = TLS if is_client_hello(pkt.payload) else OTHER
            self._remember(key, state)
        elif state == UNDECIDED:
            self._remember(key, state)
        return state == TLS

    def is_tls(self, flow) -> bool:
        """Was this engine flow's connection chosen (still remembered)?"""
        return self.flows.get(_conversation(*flow.sides())) == TLS

    def _remember(self, key, state: int) -> None:
        self.flows[key] = state
        self.flows.move_to_end(key)
        if len(self.flows) > self.max_flows:
            self.flows.popitem(last=False)


def _conversation(src: bytes, sport: int, dst: bytes, dport: int) -> tuple:
    """The same key for both directions."""
    a, b = (src, sport), (dst, dport)
    return (a, b) if a <= b else (b, a)


class LiveTlsDecryptor:
    def __init__(self, keylog: str, linktype: int):
        self.keylog, self.linktype = keylog, linktype
        self.proc: subprocess.Popen | None = None
        self.items: queue.Queue = queue.Queue()
        self.parser = tshark.Decrypted()
        self._reader: threading.Thread | None = None
        self._stderr = tempfile.TemporaryFile()

    def start(self) -> None:
        self.proc = subprocess.Popen(tshark.tshark_command(self.keylog, ["-i", "-"], live=True),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self.proc.stdin.write(tshark.pcap_header(self.linktype))
        self.proc.stdin.flush()
        self._reader = threading.Thread(target=self._read, name="dlp-tls-live", daemon=True)
        self._reader.start()

    def packet(self, ts_us: int, frame: bytes, wirelen: int) -> None:
        """One packet of a TLS connection (as the selector chose). Blocks if tshark lags."""
        self.proc.stdin.write(tshark.pcap_record(ts_us, frame, wirelen))

    def flush(self) -> None:
        """Push buffered packets to tshark now (e.g. once per capture batch)."""
        self.proc.stdin.flush()

    def poll(self) -> list:
        """Decrypted items so far: (tcp stream, connection tuple, direction, bytes); direction
        tshark.END (no bytes) says the connection ended."""
        out = []
        while True:
            try:
                out.append(self.items.get_nowait())
            except queue.Empty:
                return out

    def close(self, timeout: float = 30.0) -> int:
        """End of capture: tshark finishes what it was given; returns its exit code."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        self._stderr.close()
        return code

    def _read(self) -> None:
        for raw in self.proc.stdout:
            for item in self.parser.line(raw):
                self.items.put(item)


class _TeeDecoder:
    """The pipeline's decoder, plus: packets of TLS connections also go to the decryptor
    (a reassembled one as all its fragments' frames). No second decode: the pipeline's own
    decoded packet is looked at."""

    def __init__(self, decoder, on_tls_packet):
        self._decoder = decoder
        self._frames = FrameDecoder(decoder)
        self._on_tls_packet = on_tls_packet
        self.selector = TlsPacketSelector()

    def decode(self, linktype: int, frame: bytes, wirelen: int, ts: int):
        pkt, records = self._frames.decode(linktype, frame, wirelen, ts)
        if pkt is not None and pkt.proto == TCP and self.selector.wants(pkt):
            for record_ts, record_frame, record_wirelen in records:
                self._on_tls_packet(record_ts, linktype, record_frame, record_wirelen)
        return pkt

    def __getattr__(self, name):  # errors, skipped, events: the real decoder's counters
        return getattr(self._decoder, name)
