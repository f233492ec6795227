"""Hard limits: every one is an event naming what was left unscanned, never an exception,
and memory stays bounded whatever the input claims."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import time
import tracemalloc
import zipfile

import brotli
import pytest
import zstandard

from dlp.bodies import BodyLimits
from tests.bodies.builders import deflate_zeros, gzip_zeros, make_zip, multipart, raw_zip
from tests.bodies.helpers import decode, events, texts

MiB = 1 << 20


def peak_memory(fn):
    tracemalloc.start()
    try:
        start = time.monotonic()
        result = fn()
        return result, tracemalloc.get_traced_memory()[1], time.monotonic() - start
    finally:
        tracemalloc.stop()


def test_defaults():
    d = BodyLimits()
    assert (d.max_decoded_bytes, d.max_ratio, d.max_depth, d.max_parts, d.max_seconds,
            d.max_part_bytes) == (32 * MiB, 100, 5, 1000, 2.0, 8 * MiB)
    with pytest.raises(ValueError):
        BodyLimits(max_parts=0)


@pytest.mark.parametrize("encodings", [["gzip", "gzip"], ["gzip"], []])
def test_1kb_gzip_bomb_stops_at_the_cap_quickly(encodings):
    bomb = gzip.compress(gzip.compress(gzip_zeros(1024), 9), 9)  # 231 B -> 2.5 KB -> 1 MB -> 1 GiB
    assert len(bomb) < 1024
    r, peak, took = peak_memory(lambda: decode(bomb, None, encodings))
    assert {"body.limit_ratio", "body.limit_decoded_size"} & set(events(r))
    assert r.decoded_bytes <= BodyLimits().max_decoded_bytes
    assert peak < 100 * MiB and took < 5
    assert all(p.truncated for p in r.parts)


def test_single_layer_bomb_hits_the_ratio_limit():
    bomb = gzip_zeros(64)  # 64 KB -> 64 MiB
    r = decode(bomb, None, ["gzip"])
    assert events(r)[0] == "body.limit_ratio"
    assert r.decoded_bytes == max(BodyLimits().ratio_grace_bytes, len(bomb) * 100)


@pytest.mark.parametrize("coding,bomb", [
    ("br", lambda: brotli.compress(bytes(256 * MiB), quality=1)),
    ("zstd", lambda: zstandard.ZstdCompressor(level=1).compress(bytes(256 * MiB))),
    ("deflate", lambda: deflate_zeros(256)),
])
def test_other_bombs(coding, bomb):
    data = bomb()
    r, peak, took = peak_memory(lambda: decode(data, None, [coding]))
    assert events(r)[0] == "body.limit_ratio"
    assert r.decoded_bytes <= max(MiB, 100 * len(data)) and peak < 100 * MiB and took < 5


def test_zip_bomb_member():
    stream = deflate_zeros(1024)  # 1 MB claiming 1 GiB
    data = raw_zip("zeros.bin", stream, 1 << 30)
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size == 1 << 30
    r, peak, took = peak_memory(lambda: decode(data, "application/zip"))
    assert "body.limit_decoded_size" in events(r) and peak < 100 * MiB and took < 5
    assert r.decoded_bytes <= BodyLimits().max_decoded_bytes


def test_overlapping_zip_entries_share_the_budget():
    """Many central-directory entries pointing at one member (the "better zip bomb")."""
    one = raw_zip("a.txt", deflate_zeros(8), 8 * MiB)
    local_len = one.index(b"PK\x01\x02")
    central = one[local_len:one.index(b"PK\x05\x06")]
    n = 200
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, n, n, len(central) * n, local_len, 0)
    data = one[:local_len] + central * n + end
    r, peak, took = peak_memory(lambda: decode(data, None, max_ratio=10**6))
    assert "body.limit_decoded_size" in events(r)
    assert r.decoded_bytes <= BodyLimits().max_decoded_bytes and peak < 100 * MiB


def test_decoded_bytes_budget_across_parts():
    members = {f"f{i}.txt": os.urandom(100_000).hex() for i in range(10)}  # 2 MB of text
    r = decode(make_zip(members), None, max_decoded_bytes=MiB)
    assert "body.limit_decoded_size" in events(r)
    assert r.decoded_bytes <= MiB
    assert sum(len(p.data) for p in r.parts) <= MiB
    assert r.parts[-1].truncated


def test_part_size_limit():
    r = decode(b"x" * (3 * MiB), "text/plain", max_part_bytes=MiB)
    (p,) = r.parts
    assert len(p.data) == MiB and len(p.text) == MiB and p.truncated
    assert events(r) == ["body.limit_part_size"]


def test_depth_limit_on_nested_zips():
    data = b"innermost secret"
    for i in range(10):
        data = make_zip({f"level{i}.bin": data}, zipfile.ZIP_STORED)
    r = decode(data, None, max_depth=5)
    assert "body.limit_depth" in events(r)
    assert max(len(p.path) for p in r.parts) <= 5
    assert r.truncated


def test_depth_limit_on_content_encodings():
    body = b"text"
    for _ in range(8):
        body = gzip.compress(body)
    r = decode(body, None, ["gzip"] * 8, max_depth=5)
    assert "body.limit_depth" in events(r)
    assert all(len(p.path) <= 5 for p in r.parts)


@pytest.mark.parametrize("make", [
    lambda n: (b"&".join(b"f%d=v%d" % (i, i) for i in range(n)), "application/x-www-form-urlencoded"),
    lambda n: (json.dumps([f"value {i}" for i in range(n)]).encode(), "application/json"),
    lambda n: (make_zip({f"{i}.txt": f"member {i}" for i in range(n)}), "application/zip"),
    lambda n: multipart([(f"f{i}", b"x", None, None) for i in range(n)]),
])
def test_parts_limit(make):
    body, ctype = make(3000)
    r = decode(body, ctype, max_parts=1000)
    assert len(r.parts) == 1000
    assert "body.limit_parts" in events(r)


def test_json_walk_limit():
    r = decode(json.dumps(list(range(50_000))).encode(), "application/json", max_json_nodes=1000)
    assert "body.limit_json_nodes" in events(r)


def test_time_budget_zero_scans_nothing():
    r = decode(b"some text", "text/plain", max_seconds=0)
    assert r.parts == [] and events(r) == ["body.limit_time"]


def test_time_budget_stops_a_long_body(monkeypatch):
    """A clock that advances 1 ms per look: the 50 ms budget runs out after ~50 steps."""
    from dlp.bodies import context
    ticks = iter(range(10**9))
    monkeypatch.setattr(context, "monotonic", lambda: next(ticks) / 1000)
    body = make_zip({f"{i}.txt": f"member {i}" for i in range(300)})
    r = decode(body, None, max_seconds=0.05)
    assert events(r) == ["body.limit_time"]
    assert r.events[0].path[0].startswith("zip:")  # where it stopped
    assert 10 < len(r.parts) < 60


def test_time_budget_in_real_time():
    members = {f"{i}.txt": "word " * 20_000 for i in range(200)}
    body = make_zip(members)
    start = time.monotonic()
    r = decode(body, None, max_seconds=0.01, max_decoded_bytes=1 << 30)
    assert time.monotonic() - start < 1.0
    assert "body.limit_time" in events(r) and len(r.parts) < 200


def test_events_are_capped():
    broken_gzip = b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 20
    body, ctype = multipart([(f"f{i}", broken_gzip, f"{i}.gz", None) for i in range(500)])
    r = decode(body, ctype, max_events=10)
    assert len(r.events) == 11 and r.events[-1].name == "body.events_dropped"
    assert len(r.parts) == 500  # every part is still there, with no text


def test_tiny_limits_never_raise():
    body, ctype = multipart([("f", gzip.compress(make_zip({"a": "b" * 1000})), "a.gz", None)])
    r = decode(gzip.compress(body), ctype, ["gzip"], max_decoded_bytes=1, max_ratio=1,
               ratio_grace_bytes=0, max_depth=1, max_parts=1, max_part_bytes=1, max_json_nodes=1,
               max_events=1)
    assert len(r.parts) <= 1 and r.decoded_bytes <= 1


def test_truncated_flag_on_result():
    assert not decode(b"fine", "text/plain").truncated
    assert decode(b"x" * 100, "text/plain", max_part_bytes=10).truncated
    assert texts(decode(b"fine", "text/plain")) == {(): "fine"}
