"""The HTTP parser on real captures from ../shared/pcaps/public (MANIFEST.md there says what
each should give). Stream events come from the flow engine in capture order; the parser must
give the same per-direction events when the two directions are fed in any other order.

Body sizes below are HTTP message bodies; where the manifest quotes the size of a file
extracted from a multipart body or after content decoding, the test says so.
"""

from __future__ import annotations

import glob
import lzma
import os
import zlib

import pytest

from dlp.app.http import (BodyEnd, HttpConnectionParser, HttpLimits, RequestHead, ResponseHead,
                          content_codings, parse_target)
from tests.app.http.captures import stream_steps
from tests.app.http.helpers import bodies, by_direction, check_invariants, heads, names, per_direction, run

pytestmark = pytest.mark.corpus

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PUBLIC = os.environ.get("DLP_PUBLIC_PCAPS", os.path.join(ROOT, "..", "shared", "pcaps", "public"))
EVADER = sorted(glob.glob(os.path.join(PUBLIC, "evader-*.pcap")))
HTTP = sorted(glob.glob(os.path.join(PUBLIC, "http-*.pcap"))) + EVADER
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def events(name: str) -> list[list]:
    """Parser events per flow, fed in capture order."""
    return [run(steps) for steps in stream_steps(os.path.join(PUBLIC, name + ".pcap"))]


def one(name: str) -> list:
    flows = events(name)
    assert len(flows) == 1
    return flows[0]


def alternating(steps, size: int = 1448) -> list:
    """Both directions cut in `size` pieces and fed turn about (what a live engine might do)."""
    queues = []
    for mine in by_direction(steps):
        q = []
        for d, kind, v in mine:
            if kind == "data":
                q += [(d, kind, v[i:i + size]) for i in range(0, len(v), size)]
            else:
                q.append((d, kind, v))
        queues.append(q)
    out = []
    while queues[0] or queues[1]:
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def test_http_captures_are_present():
    assert len(HTTP) >= 40, f"captures not found in {PUBLIC}"


@pytest.mark.parametrize("path", HTTP, ids=os.path.basename)
def test_same_events_whatever_the_direction_order(path):
    # one direction fed whole before the other: hold all of it (beyond max_hold a response
    # stops waiting for its request, the one documented order dependence)
    limits = HttpLimits(max_hold=1 << 24)
    for steps in stream_steps(path):
        want = run(steps, HttpConnectionParser(limits))
        check_invariants(want)
        d0, d1 = by_direction(steps)
        for other in (d0 + d1, d1 + d0, alternating(steps)):
            got = run(other, HttpConnectionParser(limits))
            check_invariants(got)
            assert per_direction(got) == per_direction(want)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(PUBLIC, "*.pcap"))), ids=os.path.basename)
def test_every_capture_parses_without_error(path):
    for steps in stream_steps(path):
        check_invariants(run(steps))


def test_multiple_100_continue():
    ev = one("http-multiple-100-continue")
    rs = heads(ev, ResponseHead)
    assert [(r.status, r.interim, r.tx) for r in rs] == [(100, True, 0), (100, True, 0), (200, False, 0)]
    assert "http.multiple_100_continue" in names(ev)
    (upload, truncated), = bodies(ev, 0)
    assert len(upload) == 34498 and not truncated
    # the manifest's 34293 bytes are the file inside the multipart body
    part = upload.split(b"\r\n\r\n", 1)[1]
    assert len(part[:part.rindex(b"\r\n--")]) == 34293
    assert bodies(ev, 1) == [(b"file uploaded successfully\n", False)]


def test_100_continue_post():
    ev = one("http-100-continue-post")
    assert [(r.status, r.tx) for r in heads(ev, ResponseHead)] == [(100, 0), (200, 0)]
    assert [len(b) for b, _ in bodies(ev, 0)] == [2001]
    assert [len(b) for b, _ in bodies(ev, 1)] == [60731]
    assert names(ev) == []


def test_pipelined_requests_pair_in_order():
    ev = one("http-pipelined-requests")
    reqs, resps = heads(ev, RequestHead), heads(ev, ResponseHead)
    assert len(reqs) == len(resps) == 5
    kinds = {"css": "text/css", "js": "javascript", "png": "image/"}
    for req, resp in zip(reqs, resps):
        assert req.tx == resp.tx and resp.status == 200
        ext = req.target.rsplit(".", 1)[1]
        assert kinds[ext] in dict(resp.headers)["content-type"]
    gz = [b for b, _ in bodies(ev, 1) if b[:2] == b"\x1f\x8b"]
    assert len(gz) == 2 and all(zlib.decompress(b, 31) for b in gz)


def test_te_cl_desync_smuggled_request_is_seen():
    ev = one("http-te-cl-desync-smuggle")
    assert [(r.method, r.target) for r in heads(ev)] == [("POST", "/"), ("GET", "/smuggled-te-cl")]
    assert "http.content_length_and_chunked" in names(ev)


def test_forward_proxy_absolute_uri():
    ev = one("http-forward-proxy")
    (req,), (resp,) = heads(ev, RequestHead), heads(ev, ResponseHead)
    assert parse_target(req.target, req.method) == ("absolute", "http", "bro.org", "/")
    assert resp.status == 200 and [len(b) for b, _ in bodies(ev, 1)] == [15961]


@pytest.mark.parametrize("name", ["http-connect-simple", "http-connect-proxy-tls",
                                  "http-connect-with-header-ipv6"])
def test_connect_then_tunnel(name):
    ev = one(name)
    assert [(type(h).__name__, getattr(h, "method", None) or h.status) for h in heads(ev)] == [
        ("RequestHead", "CONNECT"), ("ResponseHead", 200)]
    assert names(ev) == ["http.tunnel"]
    assert bodies(ev, 0) == bodies(ev, 1) == [(b"", False)]


def test_gap_in_body():
    ev = one("http-gap-in-body")
    assert [(r.target, r.tx) for r in heads(ev, RequestHead)] == [("/1", 0), ("/2", 1), ("/3", 2)]
    assert [(r.status, r.tx) for r in heads(ev, ResponseHead)] == [(200, 0), (200, 1), (200, 2)]
    assert [(len(b), t) for b, t in bodies(ev, 1)] == [(12, False), (56, True), (12, False)]


def test_gap_whole_body():
    ev = one("http-gap-whole-body")
    assert [(r.status, r.tx) for r in heads(ev, ResponseHead)] == [(200, 0), (200, 1), (200, 2)]
    assert [(len(b), t) for b, t in bodies(ev, 1)] == [(0, True), (70, False), (12, False)]
    assert "http.gap_resync" in names(ev)


@pytest.mark.parametrize("name,size,received", [("http-entity-gap", 4705, 4705 - 1448),
                                                ("http-content-range-gap", 10353, 10353 - 1380)])
def test_gap_inside_large_body(name, size, received):
    ev = one(name)
    assert dict(heads(ev, ResponseHead)[0].headers)["content-length"] == str(size)
    assert [(len(b), t) for b, t in bodies(ev, 1)] == [(received, True)]


def test_pipeline_files_gap():
    ev = one("http-pipeline-files-gap")
    assert len(heads(ev, RequestHead)) == len(heads(ev, ResponseHead)) == 3
    assert [t for _, t in bodies(ev, 1)] == [False, True, False]


def test_duplicate_content_length_and_chunk_extension():
    assert "http.duplicate_content_length" in names(one("http-duplicate-content-length"))
    ev = one("http-chunk-extension")
    assert names(ev) == ["http.chunk_extension"]
    assert bodies(ev, 0) == [(b"tototatatiti", False)]
    end = [e for e in ev if isinstance(e, BodyEnd) and e.direction == 0][0]
    assert end.trailers == (("trailehdr1", "tralierdata1"), ("trailehdr2", "tralierdata2"))


def test_large_posts_and_zero_length_bodies():
    for ev in events("http-post-large-tso-frames"):
        assert [len(b) for b, _ in bodies(ev, 0)] == [61484]
        assert [len(b) for b, _ in bodies(ev, 1)] == [60321]
    ev = one("http-zero-length-bodies-drops")
    assert len(heads(ev, ResponseHead)) >= 8
    assert all(b == b"" for b, _ in bodies(ev, 1))
    assert [len(b) for b, _ in bodies(one("http-large-gap-5gb-file"), 1)] == [2]
    assert len(heads(one("http-brotli-ce"), ResponseHead)) == 3


def _inflate(data: bytes, wbits: int) -> bytes:
    d, out = zlib.decompressobj(wbits), bytearray()
    for i in range(0, len(data), 8):  # keep what decodes before a bad trailer
        try:
            out += d.decompress(data[i:i + 8])
        except zlib.error:
            break
    return bytes(out)


def _decode(body: bytes, codings: list[str]) -> bytes:
    """Just enough content decoding to show the delivered bytes are the whole, exact body."""
    for coding in reversed(codings):
        if coding == "gzip":
            body = _inflate(body, 31)
        elif coding == "deflate":
            body = _inflate(body, 15) or _inflate(body, -15)
        elif coding == "lzma":
            body = lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(body)
    return body


@pytest.mark.parametrize("path", EVADER, ids=os.path.basename)
def test_evader_bodies_deliver_eicar(path):
    (ev,) = [run(steps) for steps in stream_steps(path)]
    (resp,) = heads(ev, ResponseHead)
    (body, truncated), = bodies(ev, 1)
    assert truncated == ("eof-inside-chunk" in path)
    assert EICAR in _decode(body, content_codings(resp.headers))
    assert "http.parser_error" not in names(ev)


def test_not_http_connections_are_dropped_at_once():
    for name in ("tcp-duplicate-packets-ssh", "tcp-async-imap-server-only"):
        for steps in stream_steps(os.path.join(PUBLIC, name + ".pcap")):
            p = HttpConnectionParser()
            ev = run(steps, p)
            assert "http.not_http" in names(ev) and heads(ev) == [] and p.done
