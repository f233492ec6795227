"""Reading pcap and pcapng files.

A sans-copy reader over an mmap: records come out as (ts_us, linktype, frame, wirelen).
A file that is not a capture raises CaptureError; a file cut short ends the iteration and
is reported through `truncated` so the caller can count it (the packets before it count).
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from typing import Iterator

from dlp.errors import CaptureError

PCAP_MAGICS = {
    # magic: (endian, ticks per second, extra bytes per record header)
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000, 0),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000, 0),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000, 0),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000, 0),
    # Kuznetzov's modified libpcap: 8 more bytes per record (ifindex, protocol, type, pad)
    b"\x34\xcd\xb2\xa1": ("<", 1_000_000, 8),
    b"\xa1\xb2\xcd\x34": (">", 1_000_000, 8),
}
PCAPNG_SHB = 0x0A0D0D0A
# A record bigger than this cannot be a real frame (TSO super-frames reach 64 KiB, jumbo
# loopback 256 KiB); it means the file is corrupt past this point.
MAX_RECORD = 16 * 1024 * 1024
RELEASE_EVERY = 32 * 1024 * 1024  # bytes read between hints that the pages can go


@dataclass
class ReadStatus:
    """What the reader could not use, for the summary and stats."""

    truncated: str | None = None  # why iteration stopped early, if it did
    linktypes: set[int] = field(default_factory=set)


class CaptureFile:
    """One pcap or pcapng file. Iterate to get (ts_us, linktype, frame, wirelen)."""

    def __init__(self, path: str):
        self.path = path
        self.status = ReadStatus()
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise CaptureError(f"{path}: cannot open: {exc.strerror}") from None
        try:
            self.size = os.fstat(fd).st_size
            if self.size < 24:
                raise CaptureError(f"{path}: not a pcap or pcapng file (only {self.size} bytes)")
            self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise CaptureError(f"{path}: cannot read: {exc}") from None
        finally:
            os.close(fd)
        magic = self._map[:4]
        if magic in PCAP_MAGICS:
            self.format = "pcap"
            self._records = self._pcap_records(*PCAP_MAGICS[magic])
        elif struct.unpack("<I", magic)[0] == PCAPNG_SHB:
            self.format = "pcapng"
            self._records = self._pcapng_records()
        else:
            self._map.close()
            raise CaptureError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")
        self.position = 0  # bytes consumed, for progress
        self._released = 0

    def __iter__(self) -> Iterator[tuple[int, int, bytes, int]]:
        return self._records

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> "CaptureFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _release(self, pos: int) -> int:
        """Tell the kernel the pages before `pos` are done with; returns the next mark."""
        done = pos - pos % mmap.PAGESIZE
        if hasattr(self._map, "madvise") and done > self._released:
            try:
                self._map.madvise(mmap.MADV_DONTNEED, self._released, done - self._released)
            except (OSError, ValueError):
                pass
            self._released = done
        return pos + RELEASE_EVERY

    def _cut(self, why: str) -> None:
        self.status.truncated = why

    # -- classic pcap ---------------------------------------------------------
    def _pcap_records(self, endian: str, ticks: int, extra: int):
        buf = self._map
        _version_major, _minor, _tz, _sigfigs, _snaplen, network = struct.unpack_from(
            endian + "HHiIII", buf, 4
        )
        linktype = network & 0x0FFFFFFF  # upper bits carry FCS information
        self.status.linktypes.add(linktype)
        rec = struct.Struct(endian + "IIII")
        unpack_rec = rec.unpack_from
        hdr_len = 16 + extra
        size = self.size
        pos = 24
        to_us = ticks // 1_000_000
        release = RELEASE_EVERY
        while pos < size:
            if pos + hdr_len > size:
                self._cut(f"record header cut short at byte {pos}")
                break
            sec, frac, caplen, wirelen = unpack_rec(buf, pos)
            if caplen > MAX_RECORD:
                self._cut(f"corrupt record length {caplen} at byte {pos}")
                break
            start = pos + hdr_len
            end = start + caplen
            if end > size:
                self._cut(f"record data cut short at byte {pos}")
                break
            pos = end
            self.position = pos
            if pos >= release:  # drop pages already read, so RSS does not grow with the file
                release = self._release(pos)
            yield sec * 1_000_000 + frac // to_us, linktype, buf[start:end], wirelen if wirelen > caplen else caplen
        self.position = size

    # -- pcapng ---------------------------------------------------------------
    def _pcapng_records(self):
        buf = self._map
        size = self.size
        pos = 0
        endian = "<"
        interfaces: list[tuple[int, int]] = []  # (linktype, ticks per second)
        release = RELEASE_EVERY
        while pos < size:
            if pos + 12 > size:
                self._cut(f"block header cut short at byte {pos}")
                break
            btype = struct.unpack_from(endian + "I", buf, pos)[0]
            if btype == PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
                if not endian:
                    self._cut(f"bad pcapng byte-order magic at byte {pos}")
                    break
                interfaces = []
            blen = struct.unpack_from(endian + "I", buf, pos + 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_RECORD:
                self._cut(f"corrupt pcapng block length {blen} at byte {pos}")
                break
            if pos + blen > size:
                self._cut(f"pcapng block cut short at byte {pos}")
                break
            body = pos + 8
            if btype == 1:  # Interface Description Block
                linktype = struct.unpack_from(endian + "H", buf, body)[0]
                interfaces.append((linktype, _if_tsresol(buf, body + 8, pos + blen - 4, endian)))
                self.status.linktypes.add(linktype)
            elif btype in (6, 2):  # Enhanced Packet Block, obsolete Packet Block
                if btype == 6:
                    iface, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(endian + "IIIII", buf, body)
                else:
                    iface, _drops, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(
                        endian + "HHIIII", buf, body
                    )
                data = body + 20
                if iface >= len(interfaces) or data + caplen > pos + blen:
                    self._cut(f"corrupt pcapng packet block at byte {pos}")
                    break
                linktype, ticks = interfaces[iface]
                ts = (ts_hi << 32) | ts_lo
                ts_us = ts * 1_000_000 // ticks
                self.position = pos + blen
                if pos >= release:
                    release = self._release(pos)
                yield ts_us, linktype, buf[data : data + caplen], max(wirelen, caplen)
            elif btype == 3:  # Simple Packet Block: no timestamp, interface 0
                wirelen = struct.unpack_from(endian + "I", buf, body)[0]
                caplen = min(wirelen, blen - 16)
                if not interfaces:
                    self._cut(f"simple packet block before any interface at byte {pos}")
                    break
                yield 0, interfaces[0][0], buf[body + 4 : body + 4 + caplen], wirelen
            pos += blen
        self.position = size


def _if_tsresol(buf, pos: int, end: int, endian: str) -> int:
    """Ticks per second from an IDB's if_tsresol option (default microseconds)."""
    while pos + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", buf, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = buf[pos + 4]
            return 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
        pos += 4 + ((length + 3) & ~3)
    return 1_000_000
