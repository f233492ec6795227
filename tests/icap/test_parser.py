"""ICAP request parser (sans-I/O): framing of heads, encapsulated HTTP heads and chunked bodies,
preview with and without ieof, errors; the same events whatever the input splits; hostile
input never raises."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlp.app.http.events import Anomaly, BodyData, RequestHead, ResponseHead
from dlp.icap.events import IcapError, IcapRequest, MessageEnd, PreviewEnd
from dlp.icap.parser import FAILED, HEAD, WAIT, IcapParser
from tests.icap.helpers import CARD_JSON, http_post, reqmod, respmod

OPTIONS = b"OPTIONS icap://127.0.0.1:1344/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\nEncapsulated: null-body=0\r\n\r\n"


def feed_all(*parts: bytes, continue_after_preview: bool = True) -> list:
    p = IcapParser()
    out = []
    for part in parts:
        out += p.feed(part)
        if p.state == WAIT and continue_after_preview:
            p.continue_body()
    return out


def body_of(events: list) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, BodyData))


def kinds(events: list) -> list[str]:
    return [type(e).__name__ for e in events if not isinstance(e, BodyData)]


def test_options_request():
    ev = feed_all(OPTIONS)
    assert kinds(ev) == ["IcapRequest", "MessageEnd"]
    req = ev[0]
    assert req.method == "OPTIONS" and req.service == "reqmod" and not req.has_body
    assert req.header("host") == "127.0.0.1"


def test_reqmod_without_preview_gives_heads_and_the_dechunked_body():
    first, rest = reqmod(CARD_JSON)
    assert rest is None
    ev = feed_all(first)
    req = ev[0]
    assert isinstance(req, IcapRequest) and req.method == "REQMOD" and req.allows_204
    assert req.req_head == RequestHead("POST", "https://upload.example.com/upload", "HTTP/1.1",
                                       req.req_head.headers)
    assert ("content-type", "application/json") in req.req_head.headers
    assert req.raw_http_head == http_post(CARD_JSON)
    assert body_of(ev) == CARD_JSON
    assert kinds(ev) == ["IcapRequest", "MessageEnd"]


def test_preview_with_ieof_is_the_whole_body():
    first, rest = reqmod(CARD_JSON, preview=4096)
    assert rest is None and b"0; ieof\r\n\r\n" in first
    ev = feed_all(first)
    assert kinds(ev) == ["IcapRequest", "PreviewEnd", "MessageEnd"]
    assert ev[-2] == PreviewEnd(True)
    assert body_of(ev) == CARD_JSON
    assert not [e for e in ev if isinstance(e, Anomaly)]  # ieof is no HTTP chunk extension


def test_preview_then_continue_then_rest():
    first, rest = reqmod(CARD_JSON, preview=10)
    p = IcapParser()
    ev = p.feed(first)
    assert ev[-1] == PreviewEnd(False) and p.state == WAIT
    assert body_of(ev) == CARD_JSON[:10]
    p.continue_body()
    ev2 = p.feed(rest)
    assert body_of(ev2) == CARD_JSON[10:] and ev2[-1] == MessageEnd() and p.state == HEAD


def test_preview_answered_early_then_next_request_on_the_same_connection():
    first, _ = reqmod(CARD_JSON, preview=10)
    p = IcapParser()
    p.feed(first)
    p.skip_body()
    ev = p.feed(OPTIONS)
    assert kinds(ev) == ["IcapRequest", "MessageEnd"]


def test_bytes_sent_before_continue_are_held_until_we_decide():
    first, rest = reqmod(CARD_JSON, preview=10)
    following, _ = reqmod(b"next")
    p = IcapParser()
    ev = p.feed(first + rest[:5])
    assert ev[-1] == PreviewEnd(False) and p.state == WAIT
    assert p.feed(rest[5:] + following) == []  # held, not parsed, not an error
    ev2 = p.continue_body()
    assert body_of(ev2) == CARD_JSON[10:] + b"next"
    assert kinds(ev2) == ["MessageEnd", "IcapRequest", "MessageEnd"]


def test_held_bytes_after_an_early_answer_are_the_next_request():
    first, rest = reqmod(CARD_JSON, preview=10)
    p = IcapParser()
    p.feed(first)
    p.feed(OPTIONS)
    assert kinds(p.skip_body()) == ["IcapRequest", "MessageEnd"]


def test_too_much_before_continue_is_an_error():
    first, _ = reqmod(CARD_JSON, preview=10)
    p = IcapParser()
    p.feed(first)
    ev = p.feed(b"x" * 70_000)
    assert isinstance(ev[-1], IcapError) and p.state == FAILED
    assert p.continue_body() == []


def test_respmod_with_request_and_response_heads():
    first, _ = respmod(b"hello world")
    ev = feed_all(first)
    req = ev[0]
    assert req.method == "RESPMOD" and req.service == "respmod"
    assert req.req_head.method == "GET" and isinstance(req.res_head, ResponseHead)
    assert req.res_head.status == 200 and req.raw_http_head.startswith(b"HTTP/1.1 200 OK")
    assert all(e.direction == 1 for e in ev if isinstance(e, BodyData))
    assert body_of(ev) == b"hello world"


def test_keep_alive_many_requests_in_one_feed():
    a, _ = reqmod(b"first body")
    b, _ = reqmod(b"second body", preview=100)
    ev = feed_all(a + OPTIONS + b)
    assert kinds(ev) == ["IcapRequest", "MessageEnd", "IcapRequest", "MessageEnd",
                         "IcapRequest", "PreviewEnd", "MessageEnd"]


def test_request_without_body_uses_null_body():
    first, _ = reqmod(None)
    ev = feed_all(first)
    assert not ev[0].has_body and kinds(ev) == ["IcapRequest", "MessageEnd"]


@pytest.mark.parametrize("data, status", [
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"PURGE icap://a/reqmod ICAP/1.0\r\nEncapsulated: null-body=0\r\n\r\n", 405),
    (b"REQMOD icap://a/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, foo-body=5\r\n\r\n", 400),
    (b"REQMOD icap://a/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=9, req-body=5\r\n\r\n", 400),
    (b"REQMOD icap://a/reqmod ICAP/1.0\r\nEncapsulated: req-body=0\r\n\r\n", 400),
    (b"REQMOD icap://a/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, req-body=8\r\n\r\nnot http", 400),
    (b"REQMOD icap://a/reqmod ICAP/1.0\r\nPreview: lots\r\nEncapsulated: null-body=0\r\n\r\n", 400),
    (b"OPTIONS icap://a/reqmod ICAP/1.0\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 400),
])
def test_bad_requests_are_errors_with_a_status(data, status):
    ev = feed_all(data)
    assert isinstance(ev[-1], IcapError) and ev[-1].status == status


def test_bad_chunk_size_is_an_error():
    head = http_post(b"xx")
    data = (b"REQMOD icap://a/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, req-body=%d\r\n\r\n" % len(head)
            + head + b"zz\r\nxx\r\n0\r\n\r\n")
    ev = feed_all(data)
    assert isinstance(ev[-1], IcapError)


def _stream():
    """Several requests of every kind back to back, with the parts sent after 100 Continue."""
    parts = []
    for maker in (lambda: reqmod(CARD_JSON * 20, preview=64), lambda: (OPTIONS, None),
                  lambda: respmod(b"x" * 3000, preview=5000), lambda: reqmod(b"abc" * 900)):
        first, rest = maker()
        parts.append(first)
        if rest:
            parts.append(rest)
    return parts


def _merge(events: list) -> list:
    """Adjacent body pieces joined: how body bytes are split is free, everything else is not."""
    merged = []
    for e in events:
        if isinstance(e, BodyData) and merged and isinstance(merged[-1], BodyData):
            merged[-1] = BodyData(e.direction, merged[-1].data + e.data)
        else:
            merged.append(e)
    return merged


def _events(parts: list[bytes], rng: random.Random | None) -> list:
    """Feeds each part whole (rng None) or in random pieces of 1..200 bytes."""
    p = IcapParser()
    out = []
    for part in parts:
        step = len(part) or 1
        i = 0
        while i < len(part):
            n = rng.randint(1, 200) if rng else step
            out += p.feed(part[i:i + n])
            i += n
        if p.state == WAIT:
            p.continue_body()
    return _merge(out)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_any_split_gives_the_same_events(seed):
    parts = _stream()
    reference = _events(parts, None)
    assert kinds(reference).count("MessageEnd") == 4
    assert _events(parts, random.Random(seed)) == reference


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 2**32))
def test_hostile_input_never_raises(junk, seed):
    rng = random.Random(seed)
    base = b"".join(_stream())
    cut = rng.randint(0, len(base))
    data = base[:cut] + junk + base[cut:] if rng.random() < 0.5 else bytes(
        b ^ (0xFF if rng.random() < 0.01 else 0) for b in base[:2000])
    p = IcapParser()
    for i in range(0, len(data), 97):
        if p.state == WAIT:
            p.continue_body()
        for e in p.feed(data[i:i + 97]):
            assert isinstance(e, (IcapRequest, BodyData, PreviewEnd, MessageEnd, IcapError, Anomaly))
        if p.state == FAILED:
            break
