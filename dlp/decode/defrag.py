"""IPv4 and IPv6 fragment reassembly with bounded memory.

Overlap policy: first data wins (as BSD and Windows stacks, and Suricata's default); an overlap
whose bytes differ is an anomaly. Trackers expire after `timeout_us`; the number of trackers
and buffered bytes are capped, and reaching a cap drops the oldest tracker (counted).
"""

from __future__ import annotations

from collections import OrderedDict
from collections import Counter

MAX_IP_PAYLOAD = 65535


class _Tracker:
    __slots__ = ("pieces", "total", "first_ts", "nbytes", "header")

    def __init__(self, ts: int):
        self.pieces: list[tuple[int, bytes]] = []  # (offset, data), kept sorted
        self.total: int | None = None  # payload length, known once the last fragment arrived
        self.first_ts = ts
        self.nbytes = 0
        self.header = None  # caller's data from the offset-0 fragment


class Defragmenter:
    """Feed fragments; get the whole payload back when the last hole closes."""

    def __init__(self, events: Counter, timeout_us: int = 60_000_000,
                 max_trackers: int = 10_000, max_bytes: int = 32 * 1024 * 1024):
        self.events = events
        self.timeout_us = timeout_us
        self.max_trackers = max_trackers
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._trackers: OrderedDict[tuple, _Tracker] = OrderedDict()

    def add(self, key: tuple, ts: int, offset: int, more: bool, data: bytes, prefix: str,
            header=None):
        """Add one fragment. Returns (payload, header) when complete, else None."""
        self._expire(ts)
        end = offset + len(data)
        if end > MAX_IP_PAYLOAD:
            self.events[prefix + ".frag_pkt_too_large"] += 1
            return None
        if more and len(data) < 8:
            self.events[prefix + ".frag_too_small"] += 1
        tracker = self._trackers.get(key)
        if tracker is None:
            tracker = self._trackers[key] = _Tracker(ts)
        if offset == 0 and tracker.header is None:
            tracker.header = header
        if not more:
            if tracker.total is not None and tracker.total != end:
                self.events[prefix + ".frag_size_inconsistent"] += 1
            else:
                tracker.total = end
        elif tracker.total is not None and end > tracker.total:
            self.events[prefix + ".frag_size_inconsistent"] += 1
            return None
        data = self._trim_overlaps(tracker, offset, data, prefix)
        if data:
            tracker.pieces.append((offset, data))
            tracker.pieces.sort(key=lambda p: p[0])
            tracker.nbytes += len(data)
            self.nbytes += len(data)
        self._enforce_caps()
        if tracker.total is None or key not in self._trackers:
            return None
        return self._complete(key, tracker)

    def _trim_overlaps(self, tracker: _Tracker, offset: int, data: bytes, prefix: str) -> bytes:
        """Keep only the bytes of `data` no earlier fragment covers (first wins)."""
        for p_off, p_data in tracker.pieces:
            p_end = p_off + len(p_data)
            if p_end <= offset or p_off >= offset + len(data):
                continue
            lo, hi = max(p_off, offset), min(p_end, offset + len(data))
            if p_data[lo - p_off : hi - p_off] != data[lo - offset : hi - offset]:
                self.events[prefix + ".frag_overlap_different_data"] += 1
            else:
                self.events[prefix + ".frag_overlap"] += 1
            if lo == offset and hi == offset + len(data):
                return b""
            if lo == offset:  # covered at the front: keep the tail
                data, offset = data[hi - offset :], hi
            elif hi == offset + len(data):  # covered at the back: keep the head
                data = data[: lo - offset]
            else:  # a piece in the middle: keep the head here, the tail will be re-added
                tail_off, tail = hi, data[hi - offset :]
                data = data[: lo - offset]
                tail = self._trim_overlaps(tracker, tail_off, tail, prefix)
                if tail:
                    tracker.pieces.append((tail_off, tail))
                    tracker.nbytes += len(tail)
                    self.nbytes += len(tail)
        return data

    def _complete(self, key: tuple, tracker: _Tracker):
        pos = 0
        for off, data in tracker.pieces:
            if off > pos:
                return None
            pos = max(pos, off + len(data))
        if pos < tracker.total:
            return None
        del self._trackers[key]
        self.nbytes -= tracker.nbytes
        out = bytearray(tracker.total)
        for off, data in tracker.pieces:
            out[off : off + len(data)] = data[: max(0, tracker.total - off)]
        return bytes(out), tracker.header

    def _drop(self, key: tuple, event: str) -> None:
        tracker = self._trackers.pop(key)
        self.nbytes -= tracker.nbytes
        self.events[event] += 1

    def _expire(self, now: int) -> None:
        while self._trackers:
            key, tracker = next(iter(self._trackers.items()))
            if now - tracker.first_ts <= self.timeout_us:
                break
            self._drop(key, "defrag.timeout")

    def _enforce_caps(self) -> None:
        while self._trackers and (len(self._trackers) > self.max_trackers or self.nbytes > self.max_bytes):
            self._drop(next(iter(self._trackers)), "defrag.memcap")

    def pending(self) -> int:
        return len(self._trackers)
