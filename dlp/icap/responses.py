"""The bytes the ICAP service answers with. Pure functions: values in, bytes out."""

from __future__ import annotations

import html

SERVICE = "dlp-icap/1.0"
CONTINUE = b"ICAP/1.0 100 Continue\r\n\r\n"
REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "ICAP Service Not Found",
           405: "Method Not Allowed", 500: "Server Error", 503: "Service Overloaded"}


def _head(status: int, istag: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"ICAP/1.0 {status} {REASONS.get(status, 'Unknown')}", f"ISTag: \"{istag}\"",
             f"Service: {SERVICE}"]
    lines += [f"{name}: {value}" for name, value in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def options(istag: str, method: str, preview: int, max_connections: int, ttl: int = 3600) -> bytes:
    """OPTIONS answer for one service (RFC 3507 4.10.2)."""
    return _head(200, istag, [("Methods", method), ("Preview", str(preview)),
                              ("Transfer-Preview", "*"), ("Allow", "204"),
                              ("Max-Connections", str(max_connections)),
                              ("Options-TTL", str(ttl)), ("Encapsulated", "null-body=0")])


def no_content(istag: str) -> bytes:
    """204: the message passes unmodified."""
    return _head(204, istag, [("Encapsulated", "null-body=0")])


def error(status: int, istag: str, close: bool = True) -> bytes:
    fields = [("Encapsulated", "null-body=0")]
    if close:
        fields.append(("Connection", "close"))
    return _head(status, istag, fields)


def block_page(incident_id: str, reason: str) -> bytes:
    """The short page the user sees instead of their upload's answer."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Blocked by data loss "
        "prevention</title></head>\n<body><h1>Upload blocked</h1>\n"
        f"<p>This transfer was stopped because it appears to contain {html.escape(reason)}.</p>\n"
        f"<p>Incident id: <b>{html.escape(incident_id)}</b>. Quote it to the security team "
        "if this is a mistake.</p>\n</body></html>\n"
    ).encode("utf-8")


def blocked(istag: str, incident_id: str, reason: str) -> bytes:
    """200 with an HTTP 403 response replacing the request (REQMOD) or response (RESPMOD)."""
    page = block_page(incident_id, reason)
    http_head = ("HTTP/1.1 403 Forbidden\r\nContent-Type: text/html; charset=utf-8\r\n"
                 f"Content-Length: {len(page)}\r\nCache-Control: no-store\r\n"
                 f"X-DLP-Incident: {incident_id}\r\nConnection: close\r\n\r\n").encode("latin-1")
    icap = _head(200, istag, [("Encapsulated", f"res-hdr=0, res-body={len(http_head)}"),
                              ("X-DLP-Incident", incident_id)])
    return icap + http_head + chunk(page) + b"0\r\n\r\n"


def echo_head(istag: str, method: str, raw_http_head: bytes, body: bool) -> bytes:
    """200 carrying the message unchanged (the proxy did not allow 204); with `body`, the body
    follows as chunks (chunk()) and a last b"0\\r\\n\\r\\n"."""
    section = "req" if method == "REQMOD" else "res"
    after = f"{section}-body" if body else "null-body"
    icap = _head(200, istag, [("Encapsulated", f"{section}-hdr=0, {after}={len(raw_http_head)}")])
    return icap + raw_http_head


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
