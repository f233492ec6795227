"""Small accessors shared by the body decoder tests."""

from __future__ import annotations

from dlp.bodies import BodyLimits, decode_body


def decode(data: bytes, ctype: str | None = None, encodings=(), filename=None, **limits):
    return decode_body(data, ctype, list(encodings), BodyLimits(**limits), filename)


def texts(result) -> dict[tuple[str, ...], str]:
    return {p.path: p.text for p in result.parts}


def events(result) -> list[str]:
    return [e.name for e in result.events]


def part(result, path: tuple[str, ...]):
    found = [p for p in result.parts if p.path == path]
    assert found, f"no part {path}; have {[p.path for p in result.parts]}"
    return found[0]
