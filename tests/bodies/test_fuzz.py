"""Random and mutated bodies under every content type and encoding: decode_body never
raises and every limit holds."""

from __future__ import annotations

import base64
import bz2
import gzip
import json
import zlib

import brotli
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlp.bodies import BodyLimits, decode_body
from tests.bodies.builders import (make_docx, make_pdf, make_pdf_cid, make_tar, make_xlsx,
                                   make_zip, multipart)

LIMITS = BodyLimits(max_decoded_bytes=256 << 10, ratio_grace_bytes=32 << 10, max_depth=4,
                    max_parts=50, max_part_bytes=64 << 10, max_json_nodes=500, max_events=20)
TYPES = [None, "text/plain", "text/plain; charset=utf-16", "text/html; charset=shift_jis",
         "application/octet-stream", "application/json", "application/x-www-form-urlencoded",
         "multipart/form-data; boundary=XyZb0undary", "multipart/form-data", "application/zip",
         "application/pdf", "application/gzip", "application/x-tar", "image/png",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
CODINGS = ["gzip", "deflate", "br", "zstd", "identity", "x-gzip", "compress", "gzip, br"]

_form, _form_type = multipart([("a", b"text", None, None),
                               ("f", make_zip({"x.py": "print(1)"}), "f.zip", None)])
SAMPLES = [
    make_zip({"a.py": "import os\n", "b/c.txt": "hello"}),
    make_docx(["para one", "para two"]),
    make_xlsx([["a", 1], ["b", 2]]),
    make_pdf([b"BT (pdf text) Tj ET"]),
    make_pdf_cid("cid text"),
    gzip.compress(make_tar({"t.txt": b"tar text"})),
    _form,
    json.dumps({"k": "v", "b": base64.b64encode(make_zip({"z.txt": "zz"})).decode()}).encode(),
    b"a=1&b=%41%42&c=" + base64.b64encode(b"hello hello hello hello"),
    brotli.compress(b"brotli text " * 20),
    zstandard.ZstdCompressor().compress(b"zstd text " * 20),
    bz2.compress(b"bz2 text " * 20),
    zlib.compress(b"zlib text " * 20),
    "utf-16 text".encode("utf-16"),
]


def check(data: bytes, ctype, codings):
    r = decode_body(data, ctype, codings, LIMITS)
    assert len(r.parts) <= LIMITS.max_parts
    assert r.decoded_bytes <= LIMITS.max_decoded_bytes
    assert len(r.events) <= LIMITS.max_events + 1
    assert not any(e.name == "body.internal_error" for e in r.events), r.events
    for p in r.parts:
        assert len(p.data) <= LIMITS.max_part_bytes and isinstance(p.text, str)
        assert len(p.path) <= LIMITS.max_depth and "\x00" not in p.text
    return r


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(TYPES), st.lists(st.sampled_from(CODINGS), max_size=3))
def test_random_bytes(data, ctype, codings):
    check(data, ctype, codings)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES),
       st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8),
       st.integers(0, 1 << 16), st.sampled_from(TYPES + [_form_type]),
       st.sampled_from([[], ["gzip"]]))
def test_mutated_samples(sample, flips, cut, ctype, codings):
    data = bytearray(sample)
    for at, value in flips:
        data[at % len(data)] = value
    data = bytes(data[:max(1, cut % (len(data) + 1))])
    if codings:
        data = gzip.compress(data)
    check(data, ctype, codings)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_json_documents(doc, cut):
    data = json.dumps(doc).encode()
    check(data[:len(data) // 2] if cut else data, "application/json", [])


def test_samples_decode_cleanly():
    for sample in SAMPLES:
        r = check(sample, None, [])
        assert r.parts, sample[:40]
