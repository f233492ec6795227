"""Scan large texts in bounded windows without missing or double-counting matches.

A text of tens of MB is scanned as windows of `size` characters. Each window is handed to the
matcher with `lead` characters of the text before it (for look-behinds and left boundary
checks) and `overlap` characters after it (so a match that starts in the window but crosses
its end is still seen whole). A match belongs to the window in which it *starts*: callers
keep a match only when `own_start <= start < own_end`, so a match spanning a boundary is
found exactly once. Matches longer than `overlap` that start near a window's end are cut:
`overlap` must be at least the longest match the caller cares about.

Only one window's slice (size + lead + overlap characters) is alive at a time on top of the
text itself.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

DEFAULT_WINDOW = 1 << 20


class Window(NamedTuple):
    base: int  # offset in the whole text of chunk[0]
    chunk: str  # text[base : own_end + overlap]
    own_start: int  # this window owns matches starting in [own_start, own_end) (text offsets)
    own_end: int

    def owns(self, start_in_chunk: int) -> bool:
        absolute = self.base + start_in_chunk
        return self.own_start <= absolute < self.own_end


def windows(text: str, size: int = DEFAULT_WINDOW, overlap: int = 256, lead: int = 0) -> Iterator[Window]:
    n = len(text)
    if n <= size:
        yield Window(0, text, 0, n)
        return
    size = max(size, 1)
    start = 0
    while start < n:
        end = min(start + size, n)
        base = max(0, start - lead)
        yield Window(base, text[base:min(n, end + overlap)], start, end)
        start = end
