"""HTTP/1.x connection parser: framing, pairing, gaps, tunnels, hostile input, and the same
events whatever the input splits and however the two directions interleave."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlp.app.http import (ANOMALIES, Anomaly, BodyEnd, HttpConnectionParser, HttpLimits,
                          RequestHead, ResponseHead, content_codings, parse_target, transfer_codings)
from tests.app.http.helpers import (bodies, check_invariants, conn, heads, names, per_direction, run,
                                    split_steps)

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def ok(body: bytes = b"", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def chunked(*chunks: bytes, last: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + last


# -- heads ------------------------------------------------------------------------------------
def test_request_and_response_heads_are_normalised():
    ev = conn(b"GET /p?q HTTP/1.1\r\nHost:  example.com \r\nX-Caf\xe9: v\xe9\r\nHOST: b\r\n\r\n",
              b"HTTP/1.0 404 Not  Found\r\nContent-Type:\ttext/plain\r\nContent-Length: 0\r\n\r\n")
    check_invariants(ev)
    req, resp = heads(ev)
    assert req == RequestHead("GET", "/p?q", "HTTP/1.1",
                              (("host", "example.com"), ("x-caf\xe9", "v\xe9"), ("host", "b")), 0)
    assert resp == ResponseHead(404, "Not  Found", "HTTP/1.0", (("content-type", "text/plain"),
                                                                ("content-length", "0")), False, 0)
    assert ev[-1] == BodyEnd(1)


def test_obs_fold_bare_lf_and_leading_empty_lines():
    ev = conn(b"\r\n\r\nGET / HTTP/1.1\nX-A: one\n  two\n\tthree\n\n")
    (req,) = heads(ev)
    assert req.headers == (("x-a", "one two three"),)
    assert names(ev) == ["http.obs_fold"]


def test_invalid_and_whitespace_header_lines():
    ev = conn(b"GET / HTTP/1.1\r\nno colon here\r\nContent-Length : 3\r\n\r\nabc")
    assert heads(ev)[0].headers == (("content-length", "3"),)
    assert names(ev) == ["http.invalid_header_line", "http.header_name_whitespace"]
    assert bodies(ev, 0) == [(b"abc", False)]


def test_absolute_form_target_from_forward_proxy():
    ev = conn(b"GET HTTP://bro.org/a?b HTTP/1.1\r\nHost: bro.org\r\n\r\n")
    target = heads(ev)[0].target
    assert target == "HTTP://bro.org/a?b"
    assert parse_target(target) == ("absolute", "http", "bro.org", "/a?b")
    assert parse_target("http://h") == ("absolute", "http", "h", "/")
    assert parse_target("/x") == ("origin", "", "", "/x")
    assert parse_target("h:443", "CONNECT") == ("authority", "", "h:443", "")
    assert parse_target("*", "OPTIONS") == ("asterisk", "", "", "*")


# -- bodies -----------------------------------------------------------------------------------
def test_keep_alive_and_pipelining_pair_in_order():
    reqs = b"".join(b"GET /%d HTTP/1.1\r\n\r\n" % i for i in range(3))
    resps = b"".join(ok(b"r%d" % i) for i in range(3))
    ev = conn(reqs + b"POST /4 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody", resps + ok(b"r4"))
    check_invariants(ev)
    assert [h.tx for h in heads(ev, RequestHead)] == [0, 1, 2, 3]
    assert [h.tx for h in heads(ev, ResponseHead)] == [0, 1, 2, 3]
    assert bodies(ev, 0) == [(b"", False)] * 3 + [(b"body", False)]
    assert bodies(ev, 1) == [(b"r0", False), (b"r1", False), (b"r2", False), (b"r4", False)]
    assert names(ev) == []


def test_chunked_with_extensions_trailers_and_final_00():
    body = b"5;a=b\r\nhello\r\n1; junk junk\r\n!\r\n00\r\nX-Sum: 1\r\nX-B:  2 \r\n\r\n"
    ev = conn(GET * 2, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + ok(b"next"))
    assert bodies(ev, 1) == [(b"hello!", False), (b"next", False)]
    end = [e for e in ev if isinstance(e, BodyEnd) and e.direction == 1][0]
    assert end.trailers == (("x-sum", "1"), ("x-b", "2"))
    assert names(ev) == ["http.chunk_extension"]  # once per body


def test_chunked_lenient_line_endings():
    body = b"3 \nabc\n2\r\nde3\r\nfgh\r0\n\n"  # LF only, trailing space, no CRLF, bare CR
    ev = conn(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert bodies(ev, 0) == [(b"abcdefgh", False)]
    assert names(ev) == ["http.chunk_missing_crlf"]


def test_chunk_size_line_is_bounded_and_endless_chunking_stops():
    p = HttpConnectionParser(HttpLimits(max_chunk_line=16, max_chunks=10))
    long_ext = b"1;" + b"x" * 100 + b"\r\na\r\n"
    ev = run([(0, "data", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + long_ext
               + b"1\r\nb\r\n" * 20 + b"0\r\n\r\n")], p)
    check_invariants(ev)
    assert "http.chunk_line_too_long" in names(ev) and "http.endless_chunking" in names(ev)
    assert bodies(ev, 0) == [(b"a" + b"b" * 9, True)]
    assert p.feed(0, GET) == []  # the direction is no longer parsed


def test_close_delimited_response_and_no_body_request():
    ev = conn(b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nall of it\r\nuntil close")
    assert bodies(ev, 0) == [(b"", False)]
    assert bodies(ev, 1) == [(b"all of it\r\nuntil close", False)]


@pytest.mark.parametrize("method,status", [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_responses_without_body(method, status):
    req = b"%s / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n" % method.encode()
    resp = b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status + ok(b"second")
    ev = conn(req, resp)
    assert bodies(ev, 1) == [(b"", False), (b"second", False)]
    assert [h.tx for h in heads(ev, ResponseHead)] == [0, 1]


def test_100_continue_and_other_1xx_before_final():
    req = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
    resp = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" + ok(b"done"))
    ev = conn(req, resp)
    check_invariants(ev)
    rs = heads(ev, ResponseHead)
    assert [(r.status, r.interim, r.tx) for r in rs] == [(100, True, 0), (102, True, 0), (103, True, 0),
                                                         (200, False, 0)]
    assert bodies(ev, 1) == [(b"done", False)]
    assert names(ev) == []
    twice = conn(req, b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + ok())
    assert names(twice) == ["http.multiple_100_continue"]


def test_response_waits_for_its_request_whatever_the_feed_order():
    req = b"HEAD / HTTP/1.1\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + ok(b"x")  # HEAD: no body
    want = run([(0, "data", req), (1, "data", resp)])
    got = run([(1, "data", resp), (0, "data", req)])
    assert per_direction(got) == per_direction(want)
    assert bodies(got, 1) == [(b"", False), (b"x", False)]
    assert names(got) == ["http.response_without_request"]  # the second has no request


def test_response_without_request_when_client_side_ends():
    p = HttpConnectionParser()
    assert p.feed(1, ok(b"hi")) == []  # held: its request may still come
    ev = p.end(0)
    assert isinstance(ev[0], ResponseHead) and ev[0].tx == -1
    assert names(ev) == ["http.response_without_request"]
    assert bodies(ev, 1) == [(b"hi", False)]


# -- framing headers --------------------------------------------------------------------------
def test_te_and_cl_chunked_wins_request_smuggling():
    req = (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n"
           b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")
    ev = conn(req)
    assert [(h.method, h.target) for h in heads(ev)] == [("POST", "/"), ("GET", "/smuggled")]
    assert names(ev) == ["http.content_length_and_chunked"]


def test_duplicate_content_length_largest_wins():
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nContent-Length: 68\r\nContent-Length: 34\r\n\r\n" + b"x" * 68)
    assert bodies(ev, 1) == [(b"x" * 68, False)]
    assert [(a.name, a.detail) for a in ev if isinstance(a, Anomaly)] == [
        ("http.duplicate_content_length", "34,68")]
    same = conn(b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")
    assert bodies(same, 0) == [(b"abc", False)] and names(same) == []


def test_invalid_content_length():
    ev = conn(b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nGET /n HTTP/1.1\r\n\r\n",
              b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nuntil close")
    assert [h.target for h in heads(ev, RequestHead)] == ["/", "/n"]  # request: no body
    assert bodies(ev, 1)[0] == (b"until close", False)  # response: read until close
    assert names(ev).count("http.invalid_content_length") == 2


def test_transfer_codings_gzip_and_helpers():
    hdrs = (("transfer-encoding", "gzip"), ("transfer-encoding", " Chunked ;x=1"),
            ("content-encoding", "GZIP, deflate"), ("content-encoding", ""))
    assert transfer_codings(hdrs) == ["gzip", "chunked"]
    assert content_codings(hdrs) == ["gzip", "deflate"]
    # gzip then chunked: de-chunk only, the coding is left for the decoding module
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"\x1f\x8b"))
    assert bodies(ev, 1) == [(b"\x1f\x8b", False)] and names(ev) == []
    # TE without final chunked: TE beats CL, the response is read until close (RFC 9112 6.3)
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: gzip\r\n\r\nabcdef")
    assert bodies(ev, 1) == [(b"abcdef", False)]
    assert names(ev) == ["http.content_length_and_transfer_encoding"]
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n")
    assert bodies(ev, 1) == [(b"3\r\nabc\r\n", False)] and names(ev) == ["http.chunked_not_final"]


def test_te_with_nul_or_junk_before_chunked_is_chunked():
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\x00chunked\r\n\r\n" + chunked(b"EICAR"))
    assert bodies(ev, 1) == [(b"EICAR", False)]
    assert names(ev) == ["http.transfer_encoding_junk"]
    assert transfer_codings((("transfer-encoding", "\x00chunked\x0b"),)) == ["chunked"]


def test_unknown_transfer_coding_then_chunked():
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: lalala\r\nTransfer-Encoding: chunked\r\n\r\n"
              + chunked(b"ab", b"cd"))
    assert bodies(ev, 1) == [(b"abcd", False)]
    assert [(a.name, a.detail) for a in ev if isinstance(a, Anomaly)] == [
        ("http.unknown_transfer_encoding", "lalala")]


def test_request_with_te_but_not_chunked_body_until_close():
    ev = conn(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes")
    assert bodies(ev, 0) == [(b"raw bytes", False)]
    assert names(ev) == ["http.request_length_unknown"]


# -- CONNECT and Upgrade ----------------------------------------------------------------------
TLS = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(40))


def test_connect_2xx_becomes_a_tunnel_in_both_directions():
    req = b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + TLS + b"GET /inner HTTP/1.1\r\n\r\n"
    resp = b"HTTP/1.1 200 Connection established\r\n\r\n" + TLS + ok(b"inner")
    for steps in ([(0, "data", req), (1, "data", resp)], [(1, "data", resp), (0, "data", req)]):
        ev = run(steps)
        check_invariants(ev)
        assert [type(h).__name__ for h in heads(ev)] == ["RequestHead", "ResponseHead"]
        assert names(ev) == ["http.tunnel"]
        assert bodies(ev, 1) == [(b"", False)]


def test_connect_refused_stays_http():
    req = b"CONNECT h:443 HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n"
    resp = b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno" + ok()
    ev = conn(req, resp)
    assert [h.target for h in heads(ev, RequestHead)] == ["h:443", "/next"]
    assert [(h.status, h.tx) for h in heads(ev, ResponseHead)] == [(407, 0), (200, 1)]
    assert names(ev) == []


def test_connect_without_answer_judges_what_follows():
    ev = run([(0, "data", b"CONNECT h:443 HTTP/1.1\r\n\r\n" + TLS)])  # server side never seen
    assert names(ev) == ["http.tunnel"]
    ev = run([(0, "data", b"CONNECT h:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")])
    assert [h.method for h in heads(ev)] == ["CONNECT", "GET"]


def test_upgrade_101_stops_parsing():
    req = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"
    resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"
    ev = conn(req, resp)
    assert [(a.name, a.detail) for a in ev if isinstance(a, Anomaly)] == [("http.upgrade", "websocket")]
    assert heads(ev, ResponseHead)[0].interim is False
    check_invariants(ev)


def test_unrequested_101_stops_only_the_server_side():
    ev = conn(GET + b"GET /2 HTTP/1.1\r\n\r\n", b"HTTP/1.1 101 Switching\r\n\r\n\x81\x02hi")
    assert [(a.name, a.detail) for a in ev if isinstance(a, Anomaly)] == [("http.upgrade", "unrequested ")]
    assert [h.target for h in heads(ev, RequestHead)] == ["/", "/2"]


def test_server_events_are_dropped_when_the_client_is_not_http():
    resp = b"HTTP/1.1 200 " + b"O" * 100 + b"\r\n\r\n"  # start line too long: an anomaly at once
    for steps in ([(1, "data", resp), (0, "data", TLS)], [(0, "data", TLS), (1, "data", resp)]):
        ev = run(steps, HttpConnectionParser(HttpLimits(max_line=32)))
        assert names(ev) == ["http.not_http"] and ev[0].direction == 0


# -- gaps -------------------------------------------------------------------------------------
def test_gap_inside_length_body_keeps_framing():
    ev = run([(0, "data", GET * 2), (1, "data", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
              (1, "gap", 4), (1, "data", b"hij" + ok(b"2"))])
    assert bodies(ev, 1) == [(b"abchij", True), (b"2", False)]
    assert names(ev) == ["http.body_truncated_by_gap"]


def test_gap_past_body_end_resyncs_on_next_status_line():
    ev = run([(0, "data", GET * 2), (1, "data", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na"),
              (1, "gap", 20), (1, "data", b"junk of the lost part\r\n" + ok(b"2"))])
    assert bodies(ev, 1) == [(b"a", True), (b"2", False)]
    assert names(ev) == ["http.body_truncated_by_gap", "http.gap_resync"]
    assert [h.tx for h in heads(ev, ResponseHead)] == [0, 1]


def test_gap_in_chunked_body():
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    # inside one chunk's data: framing survives
    ev = run([(0, "data", GET * 2), (1, "data", head + b"a\r\n01"), (1, "gap", 5),
              (1, "data", b"789\r\n0\r\n\r\n" + ok(b"2"))])
    assert bodies(ev, 1) == [(b"01789", True), (b"2", False)]
    # across a chunk-size line: framing lost, resync at the next status line
    ev = run([(0, "data", GET * 2), (1, "data", head + b"3\r\nabc\r\n5\r\nde"), (1, "gap", 30),
              (1, "data", b"lost\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ")])
    assert bodies(ev, 1) == [(b"abcde", True), (b"Z", False)]
    assert names(ev) == ["http.body_truncated_by_gap", "http.gap_resync"]


def test_gap_in_headers_drops_message_and_keeps_pairing():
    ev = run([(0, "data", b"GET /1 HTTP/1.1\r\nHo"), (0, "gap", 10),
              (0, "data", b"t\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), (1, "data", ok(b"one") + ok(b"two"))])
    check_invariants(ev)
    assert [(h.target, h.tx) for h in heads(ev, RequestHead)] == [("/2", 1)]
    assert [h.tx for h in heads(ev, ResponseHead)] == [0, 1]  # tx 0 was lost in the gap
    assert names(ev) == ["http.gap_in_headers", "http.gap_resync"]


def test_gap_between_messages_then_resync():
    ev = run([(0, "data", GET), (0, "gap", 100), (0, "data", b"dy\r\n\r\nPOST /x HTTP/1.1\r\n\r\n")])
    assert [h.target for h in heads(ev)] == ["/", "/x"]
    assert names(ev) == ["http.gap_resync"]


def test_resync_gives_up():
    p = HttpConnectionParser(HttpLimits(max_resync=100))
    ev = run([(0, "data", GET), (0, "gap", 5), (0, "data", b"binary\n" * 40 + GET)], p)
    assert names(ev) == ["http.resync_failed"]
    assert len(heads(ev)) == 1


def test_eof_inside_bodies_and_heads():
    ev = conn(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
              b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
    assert bodies(ev, 0) == [(b"abc", True)] and bodies(ev, 1) == [(b"ab", True)]
    assert names(ev) == ["http.eof_in_body", "http.eof_in_body"]
    ev = conn(b"GET / HTTP/1.1\r\nHost")
    assert names(ev) == ["http.eof_in_headers"] and heads(ev) == []
    ev = conn(GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n")
    assert bodies(ev, 1) == [(b"x", False)]  # only the final CRLF missing: complete


# -- not HTTP, limits, hostile input ----------------------------------------------------------
@pytest.mark.parametrize("first", [TLS[:1], b"SSH-2.0-OpenSSH_9.6\r\n", b"\x00\x00\x00\x01",
                                   b"EHLO mail.example.com\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                                   b"GETTHEMETHODTHATISWAYTOOLONG / HTTP/1.1\r\n"])
def test_not_http_is_decided_at_once_and_then_free(first):
    p = HttpConnectionParser()
    assert names(p.feed(0, first)) == ["http.not_http"]
    assert p.done
    assert p.feed(0, GET) == [] and p.feed(1, ok()) == [] and p.gap(1, 5) == [] and p.end(0) == []


def test_server_speaking_first_not_http():
    p = HttpConnectionParser()
    assert p.feed(1, b"220 smtp.example.com ESMTP\r\n") == []  # said once the client is known
    assert names(p.feed(0, b"EHLO x\r\n")) == ["http.not_http"] and p.done
    p = HttpConnectionParser()
    p.feed(1, b"SSH-2.0-x\r\n")
    ev = p.feed(0, GET * 2)  # an HTTP client talking to something else
    assert names(ev) == ["http.not_http"] and ev[-1].direction == 1
    assert len(heads(ev)) == 2 and p.feed(1, ok()) == []


def test_invalid_request_line_after_valid_message_resyncs():
    ev = conn(GET + b"\x01\x02 garbage\r\nmore\r\n" + b"GET /ok HTTP/1.1\r\n\r\n")
    assert [h.target for h in heads(ev)] == ["/", "/ok"]
    assert names(ev) == ["http.request_line_invalid", "http.resync"]


def test_header_limits():
    p = HttpConnectionParser(HttpLimits(max_line=64, max_headers=3))
    req = (b"GET / HTTP/1.1\r\nA: " + b"x" * 100 + b"\r\nB: 1\r\nC: 2\r\nD: 3\r\nE: 4\r\n"
           b"Content-Length: 2\r\n\r\nab")
    ev = run([(0, "data", req)], p)
    assert heads(ev)[0].headers == (("b", "1"), ("c", "2"), ("d", "3"))
    # headers past the limit are dropped (the server would refuse the message anyway), so
    # here the body is taken for the start of a next message
    assert names(ev) == ["http.header_line_too_long", "http.too_many_headers", "http.eof_in_headers"]
    assert bodies(ev, 0) == [(b"", False)]
    p = HttpConnectionParser(HttpLimits(max_line=64))
    ev = run([(0, "data", GET + b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")], p)
    assert [h.target for h in heads(ev)] == ["/", "/b"]
    assert names(ev) == ["http.header_line_too_long", "http.resync"]


def test_huge_header_line_memory_is_bounded():
    p = HttpConnectionParser(HttpLimits(max_line=1024))
    p.feed(0, b"GET / HTTP/1.1\r\nX: ")
    for _ in range(100):
        p.feed(0, b"y" * 10_000)
    assert len(p._dirs[0].head.lines.buf) <= 1024
    ev = p.feed(0, b"\r\n\r\n")
    assert names(ev) == ["http.header_line_too_long"] and heads(ev)[0].headers == ()


def test_pipeline_and_hold_overflow():
    p = HttpConnectionParser(HttpLimits(max_pipeline=2))
    ev = run([(0, "data", GET * 4), (1, "data", ok(b"a") * 4)], p)
    assert names(ev).count("http.pipeline_overflow") == 1
    assert [h.tx for h in heads(ev, ResponseHead)] == [2, 3, -1, -1]
    p = HttpConnectionParser(HttpLimits(max_hold=10))
    ev = p.feed(1, ok(b"x" * 50))  # no request yet, and too much to keep waiting
    assert names(ev) == ["http.hold_overflow", "http.response_without_request"]
    assert bodies(ev, 1) == [(b"x" * 50, False)]


def test_midstream_starts_by_resyncing():
    p = HttpConnectionParser(midstream=True)
    ev = run([(1, "data", b"middle of a body\r\n" + ok(b"x")), (0, "data", b"tail\r\n" + GET)], p)
    assert [(type(h).__name__, h.tx) for h in heads(ev)] == [("RequestHead", 0), ("ResponseHead", 0)]
    assert names(ev) == ["http.gap_resync", "http.gap_resync"]
    assert bodies(ev, 1) == [(b"x", False)]


def test_wrong_direction_is_a_caller_error():
    with pytest.raises(ValueError):
        HttpConnectionParser().feed(2, b"x")


# -- any split, any interleaving ---------------------------------------------------------------
@st.composite
def exchanges(draw):
    """A plausible connection: request and response streams built from random messages."""
    req, resp = bytearray(), bytearray()
    n = draw(st.integers(1, 4))
    for i in range(n):
        method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT"]))
        body = draw(st.binary(max_size=40))
        framing = draw(st.sampled_from(["none", "cl", "chunked"])) if method in ("POST", "PUT") else "none"
        req += b"%s /%d HTTP/1.1\r\nHost: h\r\n" % (method.encode(), i)
        if framing == "cl":
            req += b"Content-Length: %d\r\n\r\n" % len(body) + body
        elif framing == "chunked":
            cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
            parts = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)]) if b > a]
            ext = draw(st.sampled_from([b"", b";x=y", b" ; junk"]))
            req += b"Transfer-Encoding: chunked\r\n\r\n"
            req += b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in parts)
            req += draw(st.sampled_from([b"0\r\n\r\n", b"00\r\n\r\n", b"0\r\nT: v\r\n\r\n"]))
        else:
            req += b"\r\n"
        for _ in range(draw(st.integers(0, 2))):
            resp += b"HTTP/1.1 100 Continue\r\n\r\n"
        rbody = draw(st.binary(max_size=60))
        status = draw(st.sampled_from([200, 404, 204, 304]))
        rframing = draw(st.sampled_from(["cl", "chunked"] + (["close"] if i == n - 1 else [])))
        resp += b"HTTP/1.1 %d S\r\n" % status
        if rframing == "cl":
            resp += b"Content-Length: %d\r\n\r\n" % len(rbody)
        elif rframing == "chunked":
            resp += b"Transfer-Encoding: chunked\r\n\r\n"
        else:
            resp += b"Connection: close\r\n\r\n"
        if method != "HEAD" and status not in (204, 304):
            resp += (b"%x\r\n%s\r\n0\r\n\r\n" % (len(rbody), rbody) if rbody else b"0\r\n\r\n") \
                if rframing == "chunked" else rbody
        if rframing == "close":
            break
    else:  # sometimes end in a CONNECT or an Upgrade, answered or not
        ending = draw(st.sampled_from(["", "connect", "refused", "upgrade", "declined"]))
        after = draw(st.sampled_from([TLS, b"\x81\x05hello", b"GET /x HTTP/1.1\r\n\r\n"]))
        if ending in ("connect", "refused"):
            req += b"CONNECT h:443 HTTP/1.1\r\n\r\n" + after
            resp += (b"HTTP/1.1 200 Connection established\r\n\r\n" + TLS if ending == "connect"
                     else b"HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\nno")
        elif ending:
            req += b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n" + after
            resp += (b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n\x81\x02hi" if ending == "upgrade"
                     else b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    return bytes(req), bytes(resp)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchanges(), st.integers(0, 2**32), st.sampled_from([1, 3, 0]))
def test_same_events_for_any_split_and_interleaving(conv, seed, max_piece):
    req, resp = conv
    steps = [(0, "data", req), (1, "data", resp)]
    want = run(steps)
    check_invariants(want)
    assert "http.parser_error" not in names(want)
    got = run(split_steps(steps, random.Random(seed), max_piece))
    check_invariants(got)
    assert per_direction(got) == per_direction(want)


@settings(max_examples=200, deadline=None)
@given(exchanges(), st.lists(st.tuples(st.integers(0, 1), st.integers(0, 10_000), st.integers(1, 40)),
                             max_size=3), st.integers(0, 2**32))
def test_same_events_with_gaps_for_any_split(conv, gaps, seed):
    streams = list(conv)
    steps = []
    for d in (0, 1):
        data, at = streams[d], 0
        for gd, pos, length in sorted(g for g in gaps if g[0] == d):
            pos = min(max(pos % (len(data) + 1), at), len(data))
            steps += [(d, "data", data[at:pos]), (d, "gap", length)]
            at = min(len(data), pos + length)
        steps.append((d, "data", data[at:]))
    steps = [s for s in steps if s[1] != "data" or s[2]]
    want = run(steps)
    check_invariants(want)
    got = run(split_steps(steps, random.Random(seed), 7))
    assert per_direction(got) == per_direction(want)


# -- fuzz: nothing raises, every event is well formed ------------------------------------------
def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[i:i] = rng.choice([b"\r\n", b"\n", b":", b" ", b"0", b"f" * 20, b";", b"\x00",
                                 b"\r\n\r\n", b"HTTP/1.1 200 OK\r\n", b"Transfer-Encoding: chunked\r\n",
                                 b"Content-Length: 5\r\n", bytes(rng.randrange(256) for _ in range(9))])
        elif op == 2:
            del b[i:i + rng.randint(1, 20)]
        else:
            b = b[:i]
    return bytes(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchanges(), st.integers(0, 2**32))
def test_fuzz_mutated_messages(conv, seed):
    rng = random.Random(seed)
    req, resp = (_mutate(x, rng) for x in conv)
    steps = [(0, "data", req), (1, "data", resp)]
    if rng.random() < 0.3:
        steps.insert(rng.randrange(len(steps) + 1), (rng.randrange(2), "gap", rng.randint(1, 50)))
    steps = [s for s in steps if s[1] != "data" or s[2]]
    limits = HttpLimits(max_line=rng.choice([16, 64, 16384]), max_headers=rng.choice([2, 256]),
                        max_chunks=rng.choice([2, 1000]), max_chunk_line=rng.choice([4, 1024]),
                        max_hold=rng.choice([8, 65536]), max_resync=rng.choice([10, 1 << 20]))
    want = run(steps, HttpConnectionParser(limits))
    check_invariants(want)
    got = run(split_steps(steps, rng, 5), HttpConnectionParser(limits))
    check_invariants(got)
    if limits.max_hold > 1000:  # a held-bytes overflow depends on when the peer's bytes come
        assert per_direction(got) == per_direction(want)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 2**32))
def test_fuzz_random_bytes(a, b, seed):
    rng = random.Random(seed)
    for prefix in (b"", b"GET / HTTP/1.1\r\n", b"HTTP/1.1 200 OK\r\n"):
        steps = [(0, "data", prefix + a), (1, "data", prefix + b), (rng.randrange(2), "gap", 3)]
        check_invariants(run(split_steps([s for s in steps if s[2]], rng, 4)))


def test_documented_anomalies_cover_everything_emitted():
    import dlp.app.http.events as events
    for name in ANOMALIES:
        assert name in events.__doc__, name
