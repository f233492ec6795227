"""The frames that carried a packet, IP fragments included, for copying a TLS flow to tshark.

The key-log path decides from the *decoded* packet (its 5-tuple, its first payload) whether a
frame goes to tshark. A fragmented datagram decodes to nothing until its last fragment
arrives, and then to the whole TCP segment: copying just the frame at hand would give tshark
the last fragment alone, and the TLS records in that segment would never be decrypted.

FrameDecoder wraps a Decoder and stands in for its Defragmenter (the decoder calls
`self.defrag.add` for every IPv4 fragment and IPv6 fragment header): each fragment's frame is
kept under its datagram's key, and when the datagram is whole, decode() returns every frame
that carried it. tshark reassembles IP fragments itself (`ip.defragment`,
`ipv6.defragment`, on by default and forced on in tshark_command), so the raw fragments are
what it gets: measured on fragmented TLS uploads, IPv4 and IPv6, in tests/tls.

Memory: the kept frames follow the Defragmenter's own limits (datagrams, bytes, age), oldest
dropped first; a datagram the Defragmenter gives up on is dropped here when its age runs out.
"""

from __future__ import annotations

from collections import OrderedDict

# one capture record as CaptureFile yields it, minus the link type: (ts_us, frame, wirelen)
Record = tuple[int, bytes, int]


class _Datagram:
    __slots__ = ("first_ts", "records", "nbytes")

    def __init__(self, ts: int):
        self.first_ts = ts
        self.records: list[Record] = []
        self.nbytes = 0


class FrameDecoder:
    """decode() as Decoder.decode, plus the records that made the packet: [the frame itself],
    or every fragment of a reassembled datagram, in capture order."""

    def __init__(self, decoder):
        self.decoder = decoder
        self.kept = _KeptFragments(decoder.defrag)
        decoder.defrag = self.kept  # the decoder now hands each fragment to the kept frames

    def decode(self, linktype: int, frame: bytes, wirelen: int, ts: int):
        """(packet or None, records of the frames that carried it)."""
        record = (ts, frame, wirelen)
        self.kept.current, self.kept.completed = record, None
        pkt = self.decoder.decode(linktype, frame, wirelen, ts)
        return pkt, self.kept.completed or [record]


class _KeptFragments:
    """Stands in for the decoder's Defragmenter: keeps each fragment's frame (the decoder's
    current one) under its datagram's key, then lets the Defragmenter do the work."""

    def __init__(self, defrag):
        self.defrag = defrag
        self.datagrams: OrderedDict[tuple, _Datagram] = OrderedDict()
        self.frame_bytes = 0
        self.current: Record | None = None
        self.completed: list[Record] | None = None  # set when `current` completed a datagram

    def add(self, key: tuple, ts: int, offset: int, more: bool, data: bytes, prefix: str, header=None):
        datagram = self.datagrams.get(key)
        if datagram is None:
            datagram = self.datagrams[key] = _Datagram(ts)
        datagram.records.append(self.current)
        datagram.nbytes += len(self.current[1])
        self.frame_bytes += len(self.current[1])
        done = self.defrag.add(key, ts, offset, more, data, prefix, header)
        if done is not None:
            self.completed = self._forget(key).records
        self._bound(ts)
        return done

    def __getattr__(self, name):  # pending(), limits, counters: the real Defragmenter's
        return getattr(self.defrag, name)

    def _forget(self, key: tuple) -> _Datagram:
        datagram = self.datagrams.pop(key)
        self.frame_bytes -= datagram.nbytes
        return datagram

    def _bound(self, now: int) -> None:
        """The Defragmenter's limits (its byte cap applied to whole frames, headers included:
        what is kept here goes a little earlier than its payload there)."""
        limits = self.defrag
        while self.datagrams:
            key, oldest = next(iter(self.datagrams.items()))
            if (now - oldest.first_ts <= limits.timeout_us and len(self.datagrams) <= limits.max_trackers
                    and self.frame_bytes <= limits.max_bytes):
                return
            self._forget(key)
