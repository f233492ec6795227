"""What the HTTP/1.x parser returns: heads, body bytes, body ends and named anomalies.

Per direction the events of one message come in this order: the head (`RequestHead` on
direction 0, `ResponseHead` on direction 1), anomalies about that head, `BodyData` chunks
(de-chunked, still content-encoded), then exactly one `BodyEnd`. Interim (1xx) responses have
no `BodyEnd`. Anomalies that are not about a parsed message (resync, gaps in headers, not
HTTP...) come where they are detected. Every event has a `direction` (0 client->server,
1 server->client).

Pairing: `RequestHead.tx` numbers requests 0, 1, 2... on the connection; `ResponseHead.tx` is
the number of the request it answers (-1 when there was none). Pair by tx rather than by
counting: a request lost in a gap still uses its number (its response carries a tx no
RequestHead had), and a response lost in a gap skips one. A response's events come only once
its request's head has been read, so they may be returned by a call for direction 0.

Anomaly names
-------------
=========================================  ======================================================
name                                       meaning / what the parser does
=========================================  ======================================================
http.not_http                              the direction does not start like HTTP/1.x; direction
                                           0: the whole connection is ignored from now on;
                                           direction 1: responses are ignored (said once
                                           direction 0 is known to be HTTP or over)
http.request_line_invalid                  bad request line after a valid message; resync
http.response_line_invalid                 bad status line after a valid message; resync
http.response_without_request              a response with no request to pair with (peer
                                           closed, or held response bytes overflowed)
http.header_line_too_long                  line longer than limits.max_line: a header line is
                                           dropped, a start line drops the message (resync)
http.too_many_headers                      more than max_headers / max_header_bytes: further
                                           header lines are dropped (the server would 431)
http.invalid_header_line                   header line without a colon / empty name: dropped
http.header_name_whitespace                `Name : value` - accepted with the name stripped
http.obs_fold                              obsolete line folding: joined with one space
http.duplicate_content_length              Content-Length values differ: the LARGEST is used
http.invalid_content_length                unparsable Content-Length: ignored (response: read
                                           until close; request: no body unless another value)
http.content_length_and_chunked            both present: chunked wins (RFC 9112 6.3)
http.content_length_and_transfer_encoding  CL and a non-chunked TE: TE wins, read until close
http.unknown_transfer_encoding             a transfer coding we do not know (or an empty TE)
http.transfer_encoding_junk                control bytes / junk in TE (`\\0chunked`): removed, as
                                           lenient servers and browsers do
http.chunked_not_final                     chunked is not the last coding: response read until
                                           close (RFC 9112), request see next line
http.request_length_unknown                request TE without final chunked: body until close
http.chunk_extension                       chunk-size line with an extension or junk after the
                                           size (once per body); ignored
http.invalid_chunk_size                    no hex size / too large: framing lost, body
                                           truncated, resync
http.chunk_line_too_long                   chunk-size line over max_chunk_line: size parsed
                                           from its start, rest skipped
http.chunk_missing_crlf                    chunk data not followed by CRLF: tolerated
http.endless_chunking                      more than max_chunks chunks in one body: body ends
                                           truncated and the direction is no longer parsed
http.multiple_100_continue                 more than one `100 Continue` for one request
http.tunnel                                CONNECT answered 2xx (or assumed so: detail says):
                                           both directions stop being parsed
http.upgrade                               101 Switching Protocols: both directions stop (only
                                           the server side if the request had no Upgrade:
                                           detail "unrequested ...")
http.gap_in_headers                        bytes missing inside a head: message dropped, resync
http.body_truncated_by_gap                 bytes missing inside a body (once per body)
http.gap_resync                            a message start was found again after a gap
http.resync                                same, after an invalid start line
http.resync_failed                         nothing found in max_resync bytes: direction dropped
http.eof_in_headers                        direction ended inside a head
http.eof_in_body                           direction ended inside a framed body (truncated)
http.pipeline_overflow                     more than max_pipeline unanswered requests: oldest
                                           forgotten
http.hold_overflow                         bytes held while waiting for the other direction
                                           exceeded max_hold: released without waiting
http.parser_error                          internal error (a bug): the connection is dropped
=========================================  ======================================================

There is no separate tunnel event: `http.tunnel` / `http.upgrade` anomalies say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

Headers = tuple[tuple[str, str], ...]

ANOMALIES = frozenset("http." + n for n in """
    not_http request_line_invalid response_line_invalid response_without_request
    header_line_too_long too_many_headers invalid_header_line header_name_whitespace obs_fold
    duplicate_content_length invalid_content_length content_length_and_chunked
    content_length_and_transfer_encoding unknown_transfer_encoding transfer_encoding_junk
    chunked_not_final request_length_unknown chunk_extension invalid_chunk_size
    chunk_line_too_long chunk_missing_crlf endless_chunking multiple_100_continue tunnel upgrade
    gap_in_headers body_truncated_by_gap gap_resync resync resync_failed eof_in_headers
    eof_in_body pipeline_overflow hold_overflow parser_error""".split())


@dataclass(frozen=True, slots=True)
class RequestHead:
    direction: ClassVar[int] = 0
    method: str
    target: str  # as sent: origin, absolute (`HTTP://host/p`), authority or `*` form
    version: str  # "HTTP/1.1"
    headers: Headers  # names lower-cased, values stripped, latin-1, in order
    tx: int = 0


@dataclass(frozen=True, slots=True)
class ResponseHead:
    direction: ClassVar[int] = 1
    status: int
    reason: str
    version: str
    headers: Headers
    interim: bool = False  # 1xx other than 101: the final response is still to come
    tx: int = -1  # the request answered, -1 when none


@dataclass(frozen=True, slots=True)
class BodyData:
    direction: int
    data: bytes  # de-chunked, still content-encoded


@dataclass(frozen=True, slots=True)
class BodyEnd:
    direction: int
    truncated: bool = False  # a gap fell inside the body or the direction ended early
    trailers: Headers = ()


@dataclass(frozen=True, slots=True)
class Anomaly:
    direction: int
    name: str
    detail: str = ""


Event = RequestHead | ResponseHead | BodyData | BodyEnd | Anomaly
