"""Literal content in reassembled streams (Suricata's stream `content` match).

Matches across chunk and segment boundaries, never across a gap: bytes that were not seen
are not guessed. One finding per rule per stream direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from detectors.base import TOCLIENT, TOSERVER, Finding, StreamChunk

DIRECTIONS = {"toserver": (TOSERVER,), "toclient": (TOCLIENT,), "both": (TOSERVER, TOCLIENT)}


@dataclass(frozen=True)
class ContentRule:
    id: int
    name: str
    patterns: tuple[str, ...]
    direction: Literal["toserver", "toclient", "both"] = "toserver"
    severity: int = 2
    nocase: bool = False
    category: str = "Potential Corporate Privacy Violation"

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ValueError("a content rule needs at least one pattern")
        for pattern in self.patterns:
            if not pattern:
                raise ValueError("empty pattern")
            if pattern.count("|") % 2:
                raise ValueError(f"unbalanced '|' in pattern {pattern!r}")
            try:
                _needle(pattern, False)
            except ValueError:
                raise ValueError(f"bad hex bytes between '|' in pattern {pattern!r}") from None
        if not 1 <= self.severity <= 4:
            raise ValueError("severity must be 1 (high) to 4 (low)")


@dataclass(frozen=True)
class _Compiled:
    rule: ContentRule
    needles: tuple[bytes, ...]
    directions: tuple[int, ...]


class ContentDetector:
    name = "content"
    inputs = frozenset({"stream"})

    @dataclass(frozen=True)
    class Params:
        rules: tuple[ContentRule, ...] = ()

    def __init__(self, params: "ContentDetector.Params"):
        self.rules = tuple(
            _Compiled(r, tuple(_needle(p, r.nocase) for p in r.patterns), DIRECTIONS[r.direction])
            for r in params.rules
        )
        longest = max((len(n) for c in self.rules for n in c.needles), default=1)
        self.keep = longest - 1  # bytes of the previous chunk needed to see a split match
        self.directions = frozenset(d for c in self.rules for d in c.directions)

    def applies(self, item) -> bool:
        return type(item) is StreamChunk and item.stream.direction in self.directions

    def inspect(self, item: StreamChunk) -> list[Finding]:
        state = item.stream.scratch.get(self.name)
        if state is None:
            state = item.stream.scratch[self.name] = [b"", set()]  # tail, rules already fired
        tail, fired = state
        if item.after_gap or item.datagram:
            tail = b""
        window = tail + item.data
        findings = []
        for compiled in self.rules:
            rule = compiled.rule
            if rule.id in fired or item.direction not in compiled.directions:
                continue
            hay = window.lower() if rule.nocase else window
            for needle in compiled.needles:
                at = hay.find(needle)
                if at != -1 and at + len(needle) > len(tail):
                    fired.add(rule.id)
                    findings.append(Finding(
                        detector=self.name, signature_id=rule.id, signature=rule.name,
                        category=rule.category, severity=rule.severity,
                        direction=item.direction, rule=rule.name,
                        extra={"content": {"pattern_index": compiled.needles.index(needle),
                                           "stream_offset": item.offset - len(tail) + at}},
                    ))
                    break
        state[0] = window[-self.keep:] if self.keep else b""
        return findings


def _needle(pattern: str, nocase: bool) -> bytes:
    """Patterns are text; `|41 42|` spans are hex bytes, as in Suricata's content syntax."""
    out = bytearray()
    parts = pattern.split("|")
    for i, part in enumerate(parts):
        out += bytes.fromhex(part) if i % 2 else part.encode()
    return bytes(out).lower() if nocase else bytes(out)
