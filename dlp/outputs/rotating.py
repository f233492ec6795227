"""An EVE file that rotates by size: eve.json -> eve.json.1 -> ... -> eve.json.KEEP.

Lines are written whole and flushed by the caller; any OSError (full disk, unwritable
directory) propagates: the daemon stops loudly rather than dropping events.
"""

from __future__ import annotations

import os
import sys


class RotatingFile:
    def __init__(self, path: str, max_bytes: int = 0, keep: int = 5):
        """`max_bytes` 0 = never rotate; "-" writes to stdout."""
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.rotations = 0
        self._fh = sys.stdout if path == "-" else open(path, "a", encoding="utf-8")
        self.size = 0 if path == "-" else self._fh.tell()

    def write(self, line: str) -> None:
        if self.max_bytes and self.size and self.size + len(line) > self.max_bytes:
            self._rotate()
        self._fh.write(line)
        self.size += len(line)

    def flush(self) -> None:
        self._fh.flush()

    def _rotate(self) -> None:
        self._fh.flush()
        self._fh.close()
        for n in range(self.keep - 1, 0, -1):
            older = f"{self.path}.{n}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{n + 1}")
        if self.keep:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.unlink(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")
        self.size = 0
        self.rotations += 1

    def close(self) -> None:
        self._fh.flush()
        if self._fh is not sys.stdout:
            self._fh.close()
