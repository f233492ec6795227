"""The Encapsulated header (RFC 3507 4.4.1) and the HTTP heads it frames.

`Encapsulated: req-hdr=0, req-body=412` says the HTTP request head takes the first 412 bytes
after the ICAP head and a chunked body follows. The heads are read with the HTTP parser's own
HeadReader, so they are understood exactly as on the mirror path.
"""

from __future__ import annotations

import re

from dlp.app.http.events import RequestHead, ResponseHead
from dlp.app.http.head import HEAD_DONE, HeadReader
from dlp.app.http.state import HttpLimits

HEAD_SECTIONS = ("req-hdr", "res-hdr")
BODY_SECTIONS = ("req-body", "res-body", "null-body", "opt-body")
_ENTRY = re.compile(r"\s*([a-z-]+)\s*=\s*([0-9]{1,9})\s*")


class EncapsulatedError(ValueError):
    pass


def parse_encapsulated(value: str | None) -> tuple[list[tuple[str, int]], str | None]:
    """-> ([(head section, offset)...], body section or None), offsets checked ascending."""
    if value is None:
        return [], None
    entries = []
    for item in value.split(","):
        m = _ENTRY.fullmatch(item.lower())
        if m is None:
            raise EncapsulatedError(f"bad Encapsulated entry {item.strip()[:40]!r}")
        entries.append((m.group(1), int(m.group(2))))
    heads, body = [], None
    last = -1
    for i, (name, offset) in enumerate(entries):
        if offset < last or (not heads and offset != 0 and name in HEAD_SECTIONS):
            raise EncapsulatedError("Encapsulated offsets out of order")
        last = offset
        if name in BODY_SECTIONS and i == len(entries) - 1:
            body = name
            heads.append(("body", offset))
        elif name in HEAD_SECTIONS:
            heads.append((name, offset))
        else:
            raise EncapsulatedError(f"unexpected Encapsulated section {name!r}")
    return heads, body


def head_length(sections: list[tuple[str, int]]) -> int:
    """Bytes of HTTP heads before the body (the body section's offset)."""
    return sections[-1][1] if sections else 0


def split_heads(sections: list[tuple[str, int]], block: bytes) -> dict[str, bytes]:
    """The bytes of each head section, by name."""
    out = {}
    for (name, start), (_, end) in zip(sections, sections[1:]):
        out[name] = block[start:end]
    return out


def read_head(raw: bytes, direction: int, limits: HttpLimits):
    """An encapsulated HTTP head -> RequestHead (direction 0) or ResponseHead (1)."""
    reader = HeadReader(direction, limits, probe=False)
    reader.data(raw, 0)
    if reader.result != HEAD_DONE or reader.start is None:
        kind = "request" if direction == 0 else "response"
        raise EncapsulatedError(f"encapsulated HTTP {kind} head is invalid or incomplete")
    headers = tuple(reader.fields)
    if direction == 0:
        method, target, version = reader.start
        return RequestHead(method, target, version, headers)
    status, reason, version = reader.start
    return ResponseHead(status, reason, version, headers)
