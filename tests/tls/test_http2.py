"""HTTP/2 -> HTTP/1.1 translation (sans-I/O): requests and responses of interleaved streams,
padding, CONTINUATION, trailers, HPACK dynamic table across streams, body caps; the same
output whatever the input splits; hostile input never raises."""

from __future__ import annotations

import random
import struct

import hpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlp.app.http.parser import HttpConnectionParser
from dlp.app.http.events import BodyData, RequestHead
from dlp.tls.clienthello import is_client_hello
from dlp.tls.http2 import (CONTINUATION, DATA, END_HEADERS, END_STREAM, HEADERS, PADDED, PREFACE,
                           RST_STREAM, SETTINGS, Http2Translator)


def frame(ftype: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((ftype, flags)) + struct.pack("!I", stream) + payload


class Side:
    def __init__(self):
        self.enc = hpack.Encoder()

    def headers(self, stream: int, headers: list, end: bool = False) -> bytes:
        return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), stream, self.enc.encode(headers))


def request(method="POST", path="/up", authority="files.example.com", extra=()):
    return [(":method", method), (":scheme", "https"), (":path", path), (":authority", authority),
            ("content-type", "application/json"), *extra]


def conversation():
    """Two interleaved uploads and their answers, as client and server bytes."""
    c, s = Side(), Side()
    client = (PREFACE + frame(SETTINGS, 0, 0, b"") + c.headers(1, request(path="/a"))
              + c.headers(3, request(path="/b", extra=[("x-note", "second")]))
              + frame(DATA, 0, 1, b'{"card": ') + frame(DATA, PADDED, 3, b"\x03hello" + b"\0\0\0")
              + frame(DATA, END_STREAM, 1, b'"4532015112830366"}') + frame(DATA, END_STREAM, 3, b" world"))
    server = (frame(SETTINGS, 0, 0, b"") + s.headers(3, [(":status", "201")]) + frame(DATA, END_STREAM, 3, b"ok3")
              + s.headers(1, [(":status", "200"), ("content-type", "text/plain")]) + frame(DATA, 0, 1, b"ok")
              + s.headers(1, [("x-trailer", "t")], end=True))
    return client, server


def run(client: bytes, server: bytes, rng: random.Random | None = None) -> list:
    t = Http2Translator()
    out = []
    pieces = []
    for d, data in ((0, client), (1, server)):
        i = 0
        while i < len(data):
            n = rng.randint(1, 50) if rng else len(data)
            pieces.append((d, data[i:i + n]))
            i += n
    if rng:  # interleave the directions, each kept in order
        order = sorted(range(len(pieces)), key=lambda k: (rng.random(), k))
        by_dir = {0: [p for p in pieces if p[0] == 0], 1: [p for p in pieces if p[0] == 1]}
        pieces = [by_dir[pieces[k][0]].pop(0) for k in order]
    for d, data in pieces:
        out += t.feed(d, data)
    return out + t.end()


def test_streams_become_http1_messages_request_then_response():
    client, server = conversation()
    out = run(client, server)
    assert [d for d, _ in out] == [0, 1, 0, 1]
    by_path = {m.split(b" ")[1]: m for d, m in out if d == 0}
    a = by_path[b"/a"]
    assert a.startswith(b"POST /a HTTP/1.1\r\nhost: files.example.com\r\ncontent-type: application/json\r\n")
    body = b'{"card": "4532015112830366"}'
    assert a.endswith(b"\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    assert by_path[b"/b"].endswith(b"\r\n\r\nhello world") and b"x-note: second" in by_path[b"/b"]
    responses = [m for d, m in out if d == 1]
    assert responses[0].startswith(b"HTTP/1.1 201 ") and responses[0].endswith(b"\r\n\r\nok3")
    assert responses[1].endswith(b"\r\n\r\nok")


def test_the_http1_parser_reads_the_translation():
    client, server = conversation()
    parser = HttpConnectionParser()
    events = []
    for d, msg in run(client, server):
        events += parser.feed(d, msg)
    heads = [e for e in events if isinstance(e, RequestHead)]
    assert [h.target for h in heads] == ["/b", "/a"]  # in the order the streams ended
    bodies = b"".join(e.data for e in events if isinstance(e, BodyData) and e.direction == 0)
    assert bodies == b'hello world{"card": "4532015112830366"}'


def test_continuation_and_body_cap():
    c = Side()
    block = c.enc.encode(request(extra=[("x-long", "v" * 5000)]))
    client = (PREFACE + frame(HEADERS, 0, 1, block[:100]) + frame(CONTINUATION, END_HEADERS, 1, block[100:])
              + frame(DATA, END_STREAM, 1, b"z" * 1000))
    t = Http2Translator(max_body=300)
    out = t.feed(0, client) + t.end()
    assert len(out) == 1 and b"x-long: " + b"v" * 5000 in out[0][1]
    assert out[0][1].endswith(b"content-length: 300\r\n\r\n" + b"z" * 300)
    assert t.events["http2.body_limit"] == 1


def test_reset_stream_is_given_as_it_is():
    c = Side()
    client = PREFACE + c.headers(1, request()) + frame(DATA, 0, 1, b"partial") + frame(RST_STREAM, 0, 1, b"\0\0\0\x08")
    t = Http2Translator()
    out = t.feed(0, client)
    assert len(out) == 1 and out[0][1].endswith(b"partial") and t.events["http2.stream_reset"] == 1


def test_header_injection_cannot_break_the_framing():
    c = Side()
    client = PREFACE + c.headers(1, request(path="/a b\r\nX: y", extra=[("x-evil", "a\r\n\r\nGET /")]), end=True)
    t = Http2Translator()
    [(d, msg)] = t.feed(0, client) + t.end()
    head, _, body = msg.partition(b"\r\n\r\n")
    assert body == b"" and msg.startswith(b"POST /a%20bX:%20y HTTP/1.1\r\n") and b"x-evil: aGET /" in head


def test_not_http2_fails_quietly():
    t = Http2Translator()
    assert t.feed(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == [] and t.failed
    assert t.events["http2.bad_preface"] == 1


def test_client_hello_recognised():
    hello = bytes.fromhex("16030100f8010000f40303") + bytes(40)
    assert is_client_hello(hello)
    assert not is_client_hello(hello[:5]) and not is_client_hello(b"\x16\x03\x03\x00\x10\x02")
    assert not is_client_hello(b"GET / HTTP/1.1\r\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_any_split_and_interleaving_gives_the_same_messages(seed):
    client, server = conversation()
    assert sorted(run(client, server, random.Random(seed))) == sorted(run(client, server))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 2**32))
def test_hostile_input_never_raises(junk, seed):
    rng = random.Random(seed)
    client, server = conversation()
    cut = rng.randint(len(PREFACE), len(client))
    mutated = bytearray(client[:cut] + junk + client[cut:])
    for _ in range(rng.randint(0, 5)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    t = Http2Translator(max_body=1000)
    for i in range(0, len(mutated), 37):
        for d, msg in t.feed(0, bytes(mutated[i:i + 37])):
            assert d in (0, 1) and isinstance(msg, bytes)
    t.feed(1, server)
    t.end()
