"""Rewrite a capture's timestamps: stretch time around the first packet (a beacon recorded
at one check-in every half second becomes one a minute) and shift it. Frames are unchanged."""

from __future__ import annotations

from dlp.capture.pcapfile import CaptureFile
from tools.pcapgen import PcapWriter


def stretch(src: str, dst: str, factor: float, shift: float = 0.0) -> int:
    """Write `src` to `dst` with every gap from the first packet multiplied by `factor` and
    `shift` seconds added; returns the number of packets."""
    with CaptureFile(src) as cap:
        records = [(ts, link, bytes(frame), wirelen) for ts, link, frame, wirelen in cap]
    if not records:
        raise ValueError(f"{src}: no packets")
    first = records[0][0]
    with PcapWriter(dst, linktype=records[0][1]) as out:
        for ts, _link, frame, wirelen in records:
            out.write((first + (ts - first) * factor) / 1e6 + shift, frame, wirelen)
    return len(records)


def merge(dst: str, parts: list[tuple[str, float]]) -> int:
    """Concatenate captures, each shifted by its seconds (to put a phase after the midstream
    grace, say), into one capture ordered by time; returns the number of packets."""
    records = []
    for path, shift in parts:
        with CaptureFile(path) as cap:
            records += [(ts + int(shift * 1e6), link, bytes(frame), wirelen) for ts, link, frame, wirelen in cap]
    records.sort(key=lambda r: r[0])
    with PcapWriter(dst, linktype=records[0][1]) as out:
        for ts, _link, frame, wirelen in records:
            out.write(ts / 1e6, frame, wirelen)
    return len(records)
