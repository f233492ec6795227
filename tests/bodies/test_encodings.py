"""Content-Encoding: every coding, chains in reverse order, and the libhtp-style fallbacks
(plain body labelled gzip, corrupt trailer, cut short)."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from tests.bodies.helpers import decode, events, part, texts

TEXT = ("Customer 4111-1111-1111-1111 expires 12/29; " * 50).encode()


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("coding,encode,step", [
    ("gzip", gzip.compress, "gzip"),
    ("x-gzip", gzip.compress, "gzip"),
    ("deflate", zlib.compress, "deflate"),
    ("deflate", raw_deflate, "deflate"),  # what IIS sent for years
    ("br", brotli.compress, "br"),
    ("zstd", zstandard.ZstdCompressor().compress, "zstd"),
    ("GZIP", gzip.compress, "gzip"),
])
def test_each_coding(coding, encode, step):
    r = decode(encode(TEXT), "text/plain", [coding])
    assert texts(r) == {(step,): TEXT.decode()}
    assert r.events == []


def test_identity_and_empty_list():
    assert texts(decode(TEXT, "text/plain", ["identity"])) == {(): TEXT.decode()}
    assert texts(decode(TEXT, "text/plain", [])) == {(): TEXT.decode()}


@pytest.mark.parametrize("header", [["gzip, br"], ["gzip", "br"], ["gzip,br"]])
def test_chain_is_undone_in_reverse(header):
    body = brotli.compress(gzip.compress(TEXT))  # gzip applied first, then br
    r = decode(body, "text/plain", header)
    assert texts(r) == {("br", "gzip"): TEXT.decode()}


def test_unknown_coding_scans_as_is():
    r = decode(TEXT, "text/plain", ["gzip", "x-custom"])
    assert events(r) == ["body.unknown_encoding"]
    assert texts(r) == {(): TEXT.decode()}


def test_plain_body_labelled_gzip_falls_back_to_raw():
    r = decode(TEXT, "text/plain", ["gzip"])
    assert texts(r) == {(): TEXT.decode()}
    assert events(r) == ["body.decode_error"]
    assert "labelled gzip" in r.events[0].detail


def test_plain_body_labelled_deflate_falls_back_to_raw():
    body = b'{"q": "hello"} and more plain text that is not deflate at all'
    r = decode(body, None, ["deflate"])
    assert "body.decode_error" in events(r)
    assert any("plain text" in t for t in texts(r).values())


def test_truncated_gzip_gives_partial_text_and_event():
    body = gzip.compress(TEXT)
    r = decode(body[:len(body) // 2], "text/plain", ["gzip"])
    (p,) = r.parts
    assert p.truncated and 0 < len(p.text) < len(TEXT) and TEXT.decode().startswith(p.text[:100])
    assert events(r) == ["body.decode_error"]


def test_corrupt_trailer_keeps_everything():
    body = bytearray(gzip.compress(TEXT))
    body[-8] ^= 0xFF  # CRC
    r = decode(bytes(body), "text/plain", ["gzip"])
    assert texts(r) == {("gzip",): TEXT.decode()}
    assert events(r) == ["body.decode_error"] and "CRC" in r.events[0].detail


def test_missing_trailer_keeps_everything():
    r = decode(gzip.compress(TEXT)[:-8], "text/plain", ["gzip"])
    assert texts(r) == {("gzip",): TEXT.decode()}
    assert events(r) == ["body.decode_error"]


def test_corrupt_middle_keeps_what_inflated():
    import os
    data = os.urandom(200_000).hex().encode()  # little redundancy: damage shows quickly
    body = bytearray(gzip.compress(data))
    body[len(body) // 2:len(body) // 2 + 64] = bytes(64)
    r = decode(bytes(body), "text/plain", ["gzip"])
    (p,) = r.parts
    # Deflate has no checksum per block: the damage gives garbage or an error, then the CRC
    # fails. Either way what came before the damage is there, and the part says so.
    assert len(p.data) > 1000 and p.data[:1000] == data[:1000] and p.truncated
    assert "body.decode_error" in events(r)


def test_multi_member_gzip():
    r = decode(gzip.compress(b"first ") + gzip.compress(b"second"), None, ["gzip"])
    assert texts(r) == {("gzip",): "first second"}


def test_gzip_label_on_zlib_data_is_tolerated():
    assert texts(decode(zlib.compress(TEXT), None, ["gzip"])) == {("gzip",): TEXT.decode()}


def test_truncated_brotli_and_zstd():
    for coding, body in (("br", brotli.compress(TEXT * 20)),
                         ("zstd", zstandard.ZstdCompressor().compress(TEXT * 20))):
        r = decode(body[:-3], "text/plain", [coding])
        assert "body.decode_error" in events(r), coding


def test_zstd_two_frames():
    c = zstandard.ZstdCompressor()
    r = decode(c.compress(b"one ") + c.compress(b"two"), None, ["zstd"])
    assert texts(r) == {("zstd",): "one two"}


def test_double_gzip_is_decoded_twice():
    r = decode(gzip.compress(gzip.compress(TEXT)), None, ["gzip"])
    assert texts(r) == {("gzip", "gzip"): TEXT.decode()}
    assert part(r, ("gzip", "gzip")).truncated is False
