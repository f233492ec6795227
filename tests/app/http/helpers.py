"""Driving the HTTP parser in tests and comparing its output independently of input splits."""

from __future__ import annotations

import random

from dlp.app.http import (ANOMALIES, Anomaly, BodyData, BodyEnd, HttpConnectionParser, RequestHead,
                          ResponseHead)


def run(steps, parser: HttpConnectionParser | None = None, end: bool = True) -> list:
    """steps: (direction, "data" | "gap" | "end", payload). Ends both directions at the end."""
    p = parser or HttpConnectionParser()
    out: list = []
    for d, kind, v in steps:
        if kind == "data":
            out += p.feed(d, v)
        elif kind == "gap":
            out += p.gap(d, v)
        else:
            out += p.end(d)
    if end:
        out += p.end(0)
        out += p.end(1)
    return out


def conn(req: bytes, resp: bytes = b"", **kw) -> list:
    """Whole request stream, then whole response stream, then both ends."""
    steps = [(0, "data", req)] if req else []
    if resp:
        steps.append((1, "data", resp))
    return run(steps, HttpConnectionParser(**kw))


def per_direction(events) -> tuple[list, list]:
    """Events split by direction, consecutive BodyData merged (splits may cut bodies anywhere)."""
    out: tuple[list, list] = ([], [])
    for e in events:
        lst = out[e.direction]
        if isinstance(e, BodyData) and lst and isinstance(lst[-1], BodyData):
            lst[-1] = BodyData(e.direction, lst[-1].data + e.data)
        else:
            lst.append(e)
    return out


def by_direction(steps) -> tuple[list, list]:
    return [s for s in steps if s[0] == 0], [s for s in steps if s[0] == 1]


def split_steps(steps, rng: random.Random, max_piece: int = 0) -> list:
    """The same per-direction input cut at random points and interleaved at random."""
    queues = []
    for mine in by_direction(steps):
        q = []
        for d, kind, v in mine:
            if kind != "data":
                q.append((d, kind, v))
                continue
            i = 0
            while i < len(v):
                n = rng.randint(1, max_piece or max(1, len(v)))
                q.append((d, kind, v[i:i + n]))
                i += n
        queues.append(q)
    out = []
    while queues[0] or queues[1]:
        q = queues[rng.randrange(2)] if queues[0] and queues[1] else (queues[0] or queues[1])
        out.append(q.pop(0))
    return out


def bodies(events, direction: int) -> list[tuple[bytes, bool]]:
    """(body bytes, truncated) per message of a direction."""
    res, cur = [], bytearray()
    for e in events:
        if isinstance(e, BodyData) and e.direction == direction:
            cur += e.data
        elif isinstance(e, BodyEnd) and e.direction == direction:
            res.append((bytes(cur), e.truncated))
            cur = bytearray()
    return res


def heads(events, kind=None) -> list:
    return [e for e in events if isinstance(e, kind or (RequestHead, ResponseHead))]


def names(events) -> list[str]:
    return [e.name for e in events if isinstance(e, Anomaly)]


def check_invariants(events) -> None:
    """What every event list must satisfy, whatever the input."""
    open_msg = [False, False]
    for e in events:
        assert isinstance(e, (RequestHead, ResponseHead, BodyData, BodyEnd, Anomaly)), e
        if isinstance(e, Anomaly):
            assert e.name in ANOMALIES, e
            assert e.name != "http.parser_error", e
        elif isinstance(e, RequestHead) or (isinstance(e, ResponseHead) and not e.interim):
            assert not open_msg[e.direction], e
            open_msg[e.direction] = True
        elif isinstance(e, ResponseHead):
            assert not open_msg[1], e
        elif isinstance(e, BodyData):
            assert open_msg[e.direction] and e.data, e
        elif isinstance(e, BodyEnd):
            assert open_msg[e.direction], e
            open_msg[e.direction] = False
