"""Decoding state for one body: the parts found, the events, and the budgets (decoded bytes,
parts, wall time) that every format module draws from."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import monotonic  # the only clock: a deadline checked between steps
from typing import Callable

from detectors.base import BodyPart
from dlp.bodies.limits import BodyLimits


@dataclass(frozen=True, slots=True)
class BodyEvent:
    """Something a detector cannot see: a limit reached, a broken encoding... `path` is where
    in the body it happened (as BodyPart.path); `detail` says what was left unscanned."""

    name: str
    path: tuple[str, ...]
    detail: str = ""


@dataclass(slots=True)
class DecodeResult:
    parts: list[BodyPart] = field(default_factory=list)
    events: list[BodyEvent] = field(default_factory=list)
    decoded_bytes: int = 0  # charged against BodyLimits.max_decoded_bytes

    @property
    def truncated(self) -> bool:
        """A limit left part of the body unscanned."""
        return any(e.name.startswith("body.limit_") for e in self.events)


@dataclass(slots=True)
class Node:
    """A piece of the body still to be decoded. `path` is the chain that produced it."""

    data: bytes
    path: tuple[str, ...] = ()
    content_type: str | None = None  # declared (header value, parameters included)
    name: str | None = None
    filename: str | None = None
    truncated: bool = False

    def child(self, data: bytes, step: str, **fields) -> Node:
        """The node one layer down; name and truncation are inherited, the type is not."""
        fields.setdefault("name", self.name)
        fields.setdefault("truncated", self.truncated)
        return Node(data, self.path + (step,), **fields)


class Ctx:
    """One body's budgets and results. `decode(node)` recurses into the dispatcher."""

    def __init__(self, limits: BodyLimits, decode: Callable[[Ctx, Node], None]):
        self.limits = limits
        self.deadline = monotonic() + limits.max_seconds
        self.result = DecodeResult()
        self.stopped = False  # parts or time ran out: nothing more is decoded
        self._decode = decode
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._dropped = 0

    # -- events ----------------------------------------------------------------
    def event(self, name: str, path: tuple[str, ...], detail: str = "") -> None:
        if (name, path) in self._seen:  # one event per kind and place is enough
            return
        if len(self.result.events) >= self.limits.max_events:
            self._dropped += 1
            return
        self._seen.add((name, path))
        self.result.events.append(BodyEvent(name, path, detail))

    def stop(self, name: str, path: tuple[str, ...], detail: str) -> None:
        """A limit that ends the whole body (parts, time)."""
        if not self.stopped:
            self.stopped = True
            self.event(name, path, detail)

    def finish(self) -> DecodeResult:
        if self._dropped:
            self.result.events.append(BodyEvent(
                "body.events_dropped", (), f"{self._dropped} more events not recorded"))
        return self.result

    # -- budgets ---------------------------------------------------------------
    def alive(self, path: tuple[str, ...]) -> bool:
        """False once decoding must stop; the first call past the deadline says so."""
        if self.stopped:
            return False
        if monotonic() >= self.deadline:
            self.stop("body.limit_time", path,
                      f"{self.limits.max_seconds}s budget spent; not scanned from here on")
            return False
        return True

    def budget(self) -> int:
        return max(0, self.limits.max_decoded_bytes - self.result.decoded_bytes)

    def charge(self, n: int) -> None:
        self.result.decoded_bytes += n

    # -- output ----------------------------------------------------------------
    def add(self, part: BodyPart) -> bool:
        """Keep a part. Past the time limit, text already extracted is still kept: only
        the parts limit refuses it."""
        if len(self.result.parts) >= self.limits.max_parts:
            self.stop("body.limit_parts", part.path,
                      f"{self.limits.max_parts} parts; not scanned from here on")
            return False
        self.result.parts.append(part)
        return True

    def decode(self, node: Node) -> None:
        if not self.stopped:
            self._decode(self, node)
