"""Per-direction TCP stream reassembly.

Sequence numbers become 64-bit stream offsets (unwrapped around the delivery point, so wrap-
around at 2**32 is invisible to consumers). In-order bytes are delivered at once; segments
ahead of a hole wait in a bounded, sorted pending list.

Overlap policy: FIRST WINS. Bytes already delivered or already pending are kept; a later
segment covering them with different bytes is the `overlap_different_data` anomaly (the
injection and evasion signature). This matches Windows/BSD receivers and Suricata's default.
Delivered bytes that the peer has not yet acknowledged are remembered (bounded by
`history_limit`) so such overlaps can be compared.

Holes become gaps: when the peer acknowledges past them (the receiver got bytes we did not
see), when pending data exceeds `depth`, when the stream closes, or when a snaplen cut
a segment short. The consumer is told how many bytes are missing, then gets what follows.
"""

from __future__ import annotations

from bisect import bisect_right, insort

M32 = 0xFFFFFFFF
HALF = 1 << 31
MIDSTREAM_ANCHOR_SEGMENTS = 4
MIDSTREAM_ANCHOR_BYTES = 64 * 1024
MAX_OOB_MARKS = 64  # pending urgent bytes per direction (a flood of URG segments is bounded)
ACK_HOLE_CONFIRMATIONS = 3  # peer ACKs past a hole before it is declared (SPAN reordering)


class Memory:
    """Global account of buffered stream bytes, shared by all reassemblers."""

    __slots__ = ("used", "limit", "peak")

    def __init__(self, limit: int):
        self.used = 0
        self.limit = limit
        self.peak = 0

    def add(self, n: int) -> None:
        self.used += n
        if self.used > self.peak:
            self.peak = self.used


class StreamSink:
    """What a reassembler reports to (implemented by the TCP tracker)."""

    def stream_data(self, data: bytes) -> None: ...
    def stream_gap(self, length: int) -> None: ...
    def stream_event(self, name: str) -> None: ...


class Reassembler:
    __slots__ = (
        "sink", "mem", "depth", "history_limit", "anchored", "base", "delivered", "start",
        "pending", "pending_bytes", "history", "history_bytes", "fin_off", "gaps",
        "gap_bytes", "ack_holes", "finished", "urgent_oob", "oob", "bypassed",
    )

    def __init__(self, sink: StreamSink, mem: Memory, depth: int, history_limit: int,
                 urgent_oob: bool = False):
        self.sink = sink
        self.mem = mem
        self.depth = depth
        self.history_limit = history_limit
        self.anchored = False
        self.base: int | None = None  # sequence number of stream offset 0
        self.delivered = 0  # next stream offset to deliver
        self.start = 0  # offset of the first byte of this stream
        # (offset, data, missing tail); () until first needed: most streams never hold a
        # segment, and 100k concurrent flows make empty lists add up
        self.pending: list[tuple[int, bytes, int]] | tuple = ()
        self.pending_bytes = 0
        self.history: list[tuple[int, bytes]] | tuple = ()  # delivered, not yet acknowledged
        self.history_bytes = 0
        self.fin_off: int | None = None
        self.gaps = 0
        self.gap_bytes = 0
        self.ack_holes = 0
        self.finished = False
        self.urgent_oob = urgent_oob
        self.oob: set[int] | None = None  # offsets of urgent bytes taken out of band
        self.bypassed = False  # bytes no longer kept: only the sequence frontier moves

    # -- anchoring ---------------------------------------------------------------
    def anchor_syn(self, isn: int) -> None:
        """The SYN fixes the stream start: offset 0 is ISN+1."""
        if self.anchored:
            return
        if self.base is not None:
            shift = _signed((isn + 1 - self.base) & M32)
            self.pending = [(o - shift, d, m) for o, d, m in self.pending]
        self.base = (isn + 1) & M32
        self.delivered = self.start = 0
        self.anchored = True
        self._flush()

    def _anchor_midstream(self, at: int | None = None) -> None:
        """Start a stream whose SYN was not seen at its earliest buffered byte."""
        if at is None:
            at = self.pending[0][0] if self.pending else self.delivered
        self.delivered = self.start = at
        self.anchored = True
        self._flush()

    def offset(self, seq: int) -> int:
        """Stream offset of a sequence number, unwrapped near the delivery point."""
        if self.base is None:
            self.base = seq
        return self.delivered + _signed((seq - self.base - self.delivered) & M32)

    # -- input -------------------------------------------------------------------
    def add(self, seq: int, data: bytes, missing: int = 0) -> None:
        """A segment's payload (and how many bytes after it the snaplen cut)."""
        if self.bypassed:  # keep the frontier, so window checks stay right; keep no bytes
            end = self.offset(seq) + len(data) + missing
            if end > self.delivered:
                self.delivered = end
            return
        if self.anchored and not self.pending and not missing:
            # fast path: the next in-order segment, nothing waiting
            delivered = self.delivered
            if (seq - self.base - delivered) & M32 == 0:
                self._deliver(delivered, data, 0)
                return
        off = self.offset(seq)
        if not self.anchored:
            self._insert(off, data, missing)
            if len(self.pending) >= MIDSTREAM_ANCHOR_SEGMENTS or self.pending_bytes >= MIDSTREAM_ANCHOR_BYTES:
                self._anchor_midstream()
            return
        delivered = self.delivered
        end = off + len(data)
        if end <= delivered:
            if missing == 0 and len(data) <= 1 and end == delivered:
                self.sink.stream_event("keepalive")
                return
            self._compare_old(off, data)
            return
        if off < delivered:
            self._compare_old(off, data[: delivered - off])
            data = data[delivered - off :]
            off = delivered
        if off == delivered and not (self.pending and self.pending[0][0] < end):
            self._deliver(off, data, missing)
            if self.pending:
                self._flush()
        else:
            self._insert(off, data, missing)
            if off == delivered:
                self._flush()
            elif self.pending_bytes > self.depth:
                self.sink.stream_event("reassembly_depth_reached")
                self._gap_to_first_pending()

    def urgent(self, seq: int, pointer: int) -> None:
        """An URG segment: under the out-of-band policy the byte before the urgent pointer
        (RFC 6093's reading, as Linux and BSD implement it) never reaches the stream."""
        if not self.urgent_oob or pointer <= 0 or self.base is None:
            return
        off = self.offset((seq + pointer - 1) & M32)
        if off >= self.delivered:
            if self.oob is None:
                self.oob = set()
            if len(self.oob) < MAX_OOB_MARKS:
                self.oob.add(off)
                self.sink.stream_event("urgent_oob")

    def fin(self, seq: int, payload_len: int) -> None:
        """The sender's FIN: the stream ends at this offset."""
        fin_off = self.offset(seq) + payload_len
        if self.fin_off is None or fin_off < self.fin_off:
            self.fin_off = fin_off

    def acked(self, ack: int) -> None:
        """The peer acknowledged up to `ack`: drop history, and find holes it proves."""
        base = self.base
        if base is None or self.bypassed:
            return
        delivered = self.delivered
        rel = (ack - base - delivered) & M32
        if rel == 0 and self.anchored:  # fast path: everything delivered is acknowledged
            if self.history:
                self.mem.add(-self.history_bytes)
                self.history.clear()
                self.history_bytes = 0
            return
        ack_off = delivered + (rel - (1 << 32) if rel >= HALF else rel)
        if self.history and ack_off > self.history[0][0]:
            self._trim_history(ack_off)
        if not self.anchored:
            if self.pending and ack_off >= self.pending[0][0]:
                self._anchor_midstream()
            return
        limit = ack_off if self.fin_off is None else min(ack_off, self.fin_off)
        if limit > self.delivered and (not self.pending or self.pending[0][0] > self.delivered):
            self.ack_holes += 1
            if self.ack_holes >= ACK_HOLE_CONFIRMATIONS:
                first = self.pending[0][0] if self.pending else limit
                self._gap(min(first, limit) - self.delivered)
                self._flush()

    def finish(self) -> None:
        """Stream over (close, timeout, eviction): deliver what is left, holes as gaps."""
        if self.finished:
            return
        if self.bypassed:
            self.finished = True
            return
        if not self.anchored and self.pending:
            self._anchor_midstream()
        while self.pending:
            self._gap_to_first_pending()
        if self.fin_off is not None and self.fin_off > self.delivered and self.base is not None:
            self._gap(self.fin_off - self.delivered)
        self._trim_history(None)
        self.finished = True

    def bypass(self) -> None:
        """Nobody wants this stream's bytes any more (an app layer that gave up, no raw-stream
        detector): drop what is held and keep no more; `add` only moves the sequence frontier
        (the in-window checks of RSTs and data need it), nothing is delivered, no gap reported."""
        if self.finished or self.bypassed:
            return
        self.mem.add(-(self.pending_bytes + self.history_bytes))
        self.pending, self.pending_bytes = (), 0
        self.history, self.history_bytes = (), 0
        if not self.anchored:
            self.anchored = True
        self.bypassed = True

    def release_pending(self) -> int:
        """Memory pressure: deliver pending data now, holes as gaps. Returns bytes freed."""
        freed = self.pending_bytes + self.history_bytes
        if not self.anchored and self.pending:
            self._anchor_midstream()
        while self.pending:
            self._gap_to_first_pending()
        self._trim_history(None)
        return freed

    @property
    def buffered(self) -> int:
        return self.pending_bytes + self.history_bytes

    # -- internals ---------------------------------------------------------------
    def _deliver(self, off: int, data: bytes, missing: int) -> None:
        if data:
            self.delivered = off + len(data)
            self.ack_holes = 0
            if self.oob:
                self.sink.stream_data(self._without_oob(off, data))
            else:
                self.sink.stream_data(data)
            if self.history_limit:
                if self.history:
                    self.history.append((off, data))
                else:
                    self.history = [(off, data)]
                self.history_bytes += len(data)
                self.mem.add(len(data))
                if self.history_bytes > self.history_limit:
                    self._trim_history(self.delivered - self.history_limit)
        if missing:
            self.sink.stream_event("snaplen_truncated")
            self._gap(missing)

    def _without_oob(self, off: int, data: bytes) -> bytes:
        end = off + len(data)
        marks = sorted(o for o in self.oob if off <= o < end)
        if not marks:
            return data
        self.oob.difference_update(marks)
        out, pos = bytearray(), off
        for mark in marks:
            out += data[pos - off : mark - off]
            pos = mark + 1
        out += data[pos - off :]
        return bytes(out)

    def _gap(self, length: int) -> None:
        if length <= 0:
            return
        self.gaps += 1
        self.gap_bytes += length
        self.delivered += length
        self.ack_holes = 0
        self.sink.stream_gap(length)

    def _gap_to_first_pending(self) -> None:
        self._gap(self.pending[0][0] - self.delivered)
        self._flush()

    def _flush(self) -> None:
        """Deliver pending segments that now start at or before the delivery point."""
        pending = self.pending
        while pending and pending[0][0] <= self.delivered:
            off, data, missing = pending.pop(0)
            self.pending_bytes -= len(data)
            self.mem.add(-len(data))
            end = off + len(data)
            if end <= self.delivered:
                if end + missing > self.delivered:
                    self._gap(end + missing - self.delivered)
                continue
            self._deliver(self.delivered, data[self.delivered - off :], missing)

    def _insert(self, off: int, data: bytes, missing: int) -> None:
        """Keep the parts of a future segment no pending segment already covers."""
        if not self.pending:
            self.pending = []
        pending = self.pending
        i = bisect_right(pending, off, key=lambda p: p[0])
        if i and pending[i - 1][0] + len(pending[i - 1][1]) > off:
            i -= 1
        pieces = []
        pos = off
        end = off + len(data)
        while i < len(pending) and pending[i][0] < end:
            p_off, p_data, _m = pending[i]
            p_end = p_off + len(p_data)
            if p_off > pos:
                pieces.append((pos, data[pos - off : p_off - off]))
            lo, hi = max(p_off, pos), min(p_end, end)
            if lo < hi:
                self._check_same(p_data[lo - p_off : hi - p_off], data[lo - off : hi - off])
            pos = max(pos, p_end)
            i += 1
        if pos < end:
            pieces.append((pos, data[pos - off :]))
        for j, (p_off, p_data) in enumerate(pieces):
            tail = missing if j == len(pieces) - 1 and p_off + len(p_data) == end else 0
            insort(pending, (p_off, p_data, tail), key=lambda p: p[0])
            self.pending_bytes += len(p_data)
            self.mem.add(len(p_data))
        if not pieces and missing and not data:
            insort(pending, (off, b"", missing), key=lambda p: p[0])

    def _compare_old(self, off: int, data: bytes) -> None:
        """A retransmission of delivered bytes: same bytes or an overlap anomaly."""
        end = off + len(data)
        compared = False
        for h_off, h_data in self.history:
            h_end = h_off + len(h_data)
            if h_end <= off or h_off >= end:
                continue
            lo, hi = max(h_off, off), min(h_end, end)
            self._check_same(h_data[lo - h_off : hi - h_off], data[lo - off : hi - off])
            compared = True
        self.sink.stream_event("retransmission" if compared or not data else "retransmission_unchecked")

    def _check_same(self, kept: bytes, new: bytes) -> None:
        if kept != new:
            self.sink.stream_event("overlap_different_data")

    def _trim_history(self, upto: int | None) -> None:
        """Forget delivered segments that end at or before `upto` (all when None)."""
        history = self.history
        n = 0
        freed = 0
        for off, data in history:
            if upto is not None and off + len(data) > upto:
                break
            n += 1
            freed += len(data)
        if n:
            del history[:n]
            self.history_bytes -= freed
            self.mem.add(-freed)


def _signed(x: int) -> int:
    return x - (1 << 32) if x >= HALF else x
