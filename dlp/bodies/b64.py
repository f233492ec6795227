"""Base64 hidden in a value (a JSON string, a form field): standard or URL-safe alphabet,
or a data: URL. Only worth decoding when the result is a file or clean text; anything else
(hashes, keys, tokens, encrypted blobs) stays the string it was."""

from __future__ import annotations

import base64
import binascii
import re

from dlp.bodies import sniff
from dlp.bodies.text import strict_text

MIN_LEN = 24  # 18 decoded bytes: shorter strings are ids and tokens far more often than files
_STD = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.I)


def decode(value: str) -> tuple[bytes, str | None] | None:
    """(decoded bytes, content type from a data: URL) or None when `value` is not base64 of a
    file or of text."""
    s = value.strip()
    ctype = None
    m = _DATA_URL.match(s)
    if m:
        ctype, s = m.group(1), s[m.end():]
    if "\n" in s or "\r" in s:  # MIME-style 76-column lines
        s = s.replace("\r", "").replace("\n", "")
    if len(s) < MIN_LEN and not m:
        return None
    try:
        if _STD.fullmatch(s) and len(s) % 4 == 0:
            raw = base64.b64decode(s, validate=True)
        elif _URL.fullmatch(s) and len(s.rstrip("=")) % 4 != 1:
            raw = base64.urlsafe_b64decode(s.rstrip("=") + "=" * (-len(s.rstrip("=")) % 4))
        else:
            return None
    except (binascii.Error, ValueError):
        return None
    # Any known file, images included: as a binary part it costs detectors nothing, while
    # left as a string its base64 is megabytes of noise to scan.
    if ctype or sniff.magic(raw) is not None or strict_text(raw) is not None:
        return raw, ctype
    return None
