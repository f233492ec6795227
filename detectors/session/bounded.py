"""Bounded per-key state: every map a session detector keeps has a cap, and the least
recently used key goes first. Keys come from the network (addresses, ports, ids), so an
attacker chooses how many there are; memory must not follow."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class LruMap(Generic[V]):
    """A dict with a size cap: `get_or_add` refreshes a key; the stalest key is dropped
    when a new one would exceed `cap`. `evicted` counts the drops (for stats and tests)."""

    __slots__ = ("cap", "items", "evicted")

    def __init__(self, cap: int):
        if cap < 1:
            raise ValueError("cap must be positive")
        self.cap = cap
        self.items: OrderedDict[Hashable, V] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, key) -> bool:
        return key in self.items

    def __iter__(self):
        return iter(self.items)  # keys, stalest first

    def values(self):
        return self.items.values()

    def get(self, key, default=None):
        return self.items.get(key, default)

    def get_or_add(self, key, factory: Callable[[], V]) -> V:
        value = self.items.get(key)
        if value is None:
            value = factory()
            self.put(key, value)
        else:
            self.items.move_to_end(key)
        return value

    def put(self, key, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.cap:
            self.items.popitem(last=False)
            self.evicted += 1

    def pop(self, key, default=None):
        return self.items.pop(key, default)

    def adopt(self, other: "LruMap[V]") -> None:
        """Take `other`'s entries, stalest first, under this map's cap (a rules reload: the
        new detector keeps the running one's state)."""
        for key, value in other.items.items():
            self.put(key, value)


class WindowedSet:
    """Distinct members seen in the last `window` microseconds, at most `cap` of them
    (the oldest go first). Members are kept in the order they were last seen."""

    __slots__ = ("window", "cap", "seen")

    def __init__(self, window: int, cap: int):
        self.window = window
        self.cap = cap
        self.seen: OrderedDict[Hashable, int] = OrderedDict()

    def add(self, member, ts: int) -> int:
        """Record `member` at `ts`; returns how many distinct members are in the window."""
        self.seen[member] = ts
        self.seen.move_to_end(member)
        self.expire(ts)
        while len(self.seen) > self.cap:
            self.seen.popitem(last=False)
        return len(self.seen)

    def discard(self, member) -> None:
        self.seen.pop(member, None)

    def expire(self, now: int) -> None:
        horizon = now - self.window
        while self.seen:
            member, ts = next(iter(self.seen.items()))
            if ts >= horizon:
                break
            self.seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self.seen)

    def __contains__(self, member) -> bool:
        return member in self.seen


class AlertLimiter:
    """At most one alert per key per `window` microseconds (keys: signature, source,
    destination...). Remembers at most `cap` keys; a forgotten key may alert again."""

    __slots__ = ("window", "last")

    def __init__(self, window: int, cap: int):
        self.window = window
        self.last: LruMap[int] = LruMap(cap)

    def adopt(self, other: "AlertLimiter") -> None:
        self.last.adopt(other.last)

    def allow(self, key, ts: int) -> bool:
        prev = self.last.get(key)
        if prev is not None and 0 <= ts - prev < self.window:
            return False
        self.last.put(key, ts)
        return True
