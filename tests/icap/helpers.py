"""Builders shared by the ICAP tests."""

from __future__ import annotations

from tools.icap_client import encode_request

URI = "icap://127.0.0.1:1344/reqmod"
# a Visa number that passes Luhn and is not a published test number, with card context
CARD_JSON = b'{"card_number": "4532015112830366", "cvv": "123", "exp": "12/27"}'
CLEAN_JSON = b'{"comment": "quarterly numbers look fine", "order": 1234}'


def http_post(body: bytes, host: str = "upload.example.com", ctype: str = "application/json",
              target: str | None = None) -> bytes:
    target = target or f"https://{host}/upload"
    return (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\n"
            f"User-Agent: curl/7.88\r\nContent-Length: {len(body)}\r\n\r\n").encode()


def http_ok(body: bytes, ctype: str = "text/plain") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()


def reqmod(body: bytes | None, preview: int | None = None, extra=(("Allow", "204"),), **kw):
    return encode_request("REQMOD", URI, [("req-hdr", http_post(body or b"", **kw))], body, preview,
                          list(extra))


def respmod(body: bytes, preview: int | None = None, extra=(("Allow", "204"),)):
    heads = [("req-hdr", b"GET http://files.example.com/a.txt HTTP/1.1\r\nHost: files.example.com\r\n\r\n"),
             ("res-hdr", http_ok(body))]
    return encode_request("RESPMOD", URI.replace("reqmod", "respmod"), heads, body, preview, list(extra))
