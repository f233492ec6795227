"""Never the value, only a masked form and a keyed hash of it."""

from __future__ import annotations

import hashlib
import hmac

ELLIPSIS = "\u2026"


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 hex of `value` with the install key: the same value gives the same hash on
    one install (correlation), and nothing to brute-force without the key."""
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def mask_middle(value: str, head: int = 4, tail: int = 2) -> str:
    """`head` first and `tail` last characters around an ellipsis. Short values show less,
    so that at least three quarters of any value stays hidden: a 7-character password shows
    its first character only."""
    n = len(value)
    head = min(head, n // 4)
    tail = min(tail, n // 8)
    return value[:head] + ELLIPSIS + (value[-tail:] if tail else "")


def mask_pan(digits: str) -> str:
    """PCI DSS display mask: first six and last four for 15 digits and more (at least five
    hidden); shorter numbers (12-14 digits) show the first four and last four."""
    n = len(digits)
    head = 6 if n >= 15 else 4
    return digits[:head] + "*" * (n - head - 4) + digits[-4:]


def snippet(value: str, limit: int = 24) -> str:
    """A masked, truncated sample of a match for alerts: whitespace collapsed, a third of it
    (at most 12 characters) shown, then an ellipsis and the last two characters when the
    match is long enough for that to hide most of it. Never longer than `limit`."""
    value = " ".join(value.split())
    n = len(value)
    if n == 0:
        return ""
    head = min(12, max(1, n // 3), limit - 3)
    tail = 2 if n >= 10 else 0
    return value[:head] + ELLIPSIS + (value[-tail:] if tail else "")
