"""Zip structure, read without zipfile: zipfile builds every entry of the central directory
up front (a 10 MB zip of empty entries is ~200k objects) and gives up on a zip whose end
was cut off. Here entries come from the central directory, capped, or, when it is missing
(an upload cut short), from walking the local file headers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

LOCAL, CENTRAL, END, END64_LOC = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x07"
DESCRIPTOR = b"PK\x07\x08"
STORED, DEFLATED, BZIP2 = 0, 8, 12


@dataclass(slots=True)
class Entry:
    name: str
    method: int
    flags: int
    start: int  # offset of the member's compressed data
    csize: int  # -1: unknown (local header walk, sizes in a data descriptor)

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 1)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def _name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


def _zip64(extra: bytes, wanted: list[bool]) -> list[int | None]:
    """Values of the zip64 extra field (usize, csize, offset), present only where the
    32-bit field was 0xFFFFFFFF."""
    at, out = 0, [None, None, None]
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        if tag == 1:
            body, i = extra[at + 4:at + 4 + size], 0
            for k, want in enumerate(wanted):
                if want and i + 8 <= len(body):
                    out[k] = struct.unpack_from("<Q", body, i)[0]
                    i += 8
            break
        at += 4 + size
    return out


def _data_start(data: bytes, off: int) -> int:
    if data[off:off + 4] != LOCAL or off + 30 > len(data):
        return -1
    n, m = struct.unpack_from("<HH", data, off + 26)
    return off + 30 + n + m


def central_entries(data: bytes, cap: int) -> tuple[list[Entry], bool] | None:
    """(entries, more than cap) from the central directory, or None if there is none."""
    end = data.rfind(END, max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return None
    count, cd_size, cd_off = struct.unpack_from("<HII", data, end + 10)
    loc = end - 20
    if (cd_off == 0xFFFFFFFF or count == 0xFFFF) and loc >= 0 and data[loc:loc + 4] == END64_LOC:
        (rec,) = struct.unpack_from("<Q", data, loc + 8)
        if data[rec:rec + 4] == b"PK\x06\x06":
            count, cd_size, cd_off = struct.unpack_from("<QQQ", data, rec + 32)
            end = rec
    # Bytes prepended to the zip (self-extractors, concatenation) shift every offset.
    shift = end - cd_size - cd_off
    at = end - cd_size
    if at < 0 or data[at:at + 4] != CENTRAL:
        return None if count else ([], False)
    entries: list[Entry] = []
    while data[at:at + 4] == CENTRAL and at + 46 <= len(data):
        if len(entries) >= cap:
            return entries, True
        (flags, method, csize, usize, n, m, k) = struct.unpack_from("<8xHH8xIIHHH", data, at)
        (off,) = struct.unpack_from("<I", data, at + 42)
        name = _name(data[at + 46:at + 46 + n], flags)
        big = _zip64(data[at + 46 + n:at + 46 + n + m], [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF,
                                                          off == 0xFFFFFFFF])
        csize = big[1] if big[1] is not None else csize
        off = (big[2] if big[2] is not None else off) + shift
        start = _data_start(data, off)
        if start >= 0:
            entries.append(Entry(name, method, flags, start, csize))
        at += 46 + n + m + k
    return entries, False


def next_local(data: bytes, pos: int) -> Entry | None:
    """The next local file header at or after `pos`."""
    while True:
        off = data.find(LOCAL, pos)
        if off < 0 or off + 30 > len(data):
            return None
        flags, method, csize, usize, n, m = struct.unpack_from("<6xHH8xIIHH", data, off)
        start = off + 30 + n + m
        if start > len(data):
            return None
        name = _name(data[off + 30:off + 30 + n], flags)
        if flags & 8 or csize == 0xFFFFFFFF:
            csize = -1  # sizes follow the data; the decompressor finds the end
        return Entry(name, method, flags, start, csize)


def stored_end(data: bytes, start: int) -> int:
    """End of stored data whose size is in a data descriptor: the next signature."""
    ends = [i for i in (data.find(s, start) for s in (DESCRIPTOR, LOCAL, CENTRAL)) if i >= 0]
    return min(ends) if ends else len(data)
