"""A minimal ICAP client (RFC 3507) for tests and the benchmark: builds REQMOD/RESPMOD
requests the way Squid does (Allow: 204, Preview, X-Client-IP, X-Authenticated-User) and
reads answers, including "100 Continue" after a preview.

    with IcapClient("127.0.0.1", 1344) as c:
        answer = c.reqmod(b"POST /up HTTP/1.1\\r\\nHost: x\\r\\n...\\r\\n\\r\\n", body, preview=4096)
        answer.status, answer.http_status, answer.body
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass, field


@dataclass
class IcapAnswer:
    status: int
    headers: dict
    http_head: bytes = b""  # the encapsulated HTTP head, when there is one
    body: bytes = b""  # the de-chunked encapsulated body
    continued: bool = False  # the server asked for the rest of a preview

    @property
    def http_status(self) -> int | None:
        if not self.http_head.startswith(b"HTTP/"):
            return None
        return int(self.http_head.split(b" ", 2)[1])


def chunked(data: bytes, size: int = 65536) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size])
                    for i in range(0, len(data), size))


def encode_request(method: str, uri: str, heads: list[tuple[str, bytes]], body: bytes | None,
                   preview: int | None = None, extra: list[tuple[str, str]] = ()) -> tuple[bytes, bytes | None]:
    """An ICAP request as bytes: (what is sent first, what is sent after "100 Continue" or
    None when the first part holds the whole body)."""
    offsets, pos = [], 0
    for name, raw in heads:
        offsets.append(f"{name}={pos}")
        pos += len(raw)
    body_name = ("req-body" if method == "REQMOD" else "res-body") if body is not None else "null-body"
    offsets.append(f"{body_name}={pos}")
    host = uri.split("://", 1)[-1].split("/", 1)[0]
    lines = [f"{method} {uri} ICAP/1.0", f"Host: {host}", *(f"{n}: {v}" for n, v in extra),
             f"Encapsulated: {', '.join(offsets)}"]
    if preview is not None and body is not None:
        lines.append(f"Preview: {preview}")
    msg = ("\r\n".join(lines) + "\r\n\r\n").encode() + b"".join(raw for _, raw in heads)
    if body is None:
        return msg, None
    if preview is None:
        return msg + chunked(body) + b"0\r\n\r\n", None
    first, rest = body[:preview], body[preview:]
    if not rest:
        return msg + chunked(first) + b"0; ieof\r\n\r\n", None
    return msg + chunked(first) + b"0\r\n\r\n", chunked(rest) + b"0\r\n\r\n"


@dataclass
class IcapClient:
    host: str
    port: int
    timeout: float = 30.0
    client_ip: str = "192.0.2.55"
    user: str | None = None
    allow_204: bool = True
    sock: socket.socket | None = field(default=None, repr=False)
    buf: bytes = b""

    def __enter__(self) -> "IcapClient":
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def options(self, service: str = "reqmod") -> IcapAnswer:
        self.sock.sendall(f"OPTIONS icap://{self.host}:{self.port}/{service} ICAP/1.0\r\n"
                          f"Host: {self.host}\r\nEncapsulated: null-body=0\r\n\r\n".encode())
        return self._answer()

    def reqmod(self, http_head: bytes, body: bytes | None, preview: int | None = None) -> IcapAnswer:
        return self._send("REQMOD", "reqmod", [("req-hdr", http_head)], body, preview)

    def respmod(self, request_head: bytes, response_head: bytes, body: bytes | None,
                preview: int | None = None) -> IcapAnswer:
        return self._send("RESPMOD", "respmod", [("req-hdr", request_head), ("res-hdr", response_head)],
                          body, preview)

    def _send(self, method: str, service: str, heads, body, preview) -> IcapAnswer:
        extra = [("X-Client-IP", self.client_ip)]
        if self.allow_204:
            extra.append(("Allow", "204"))
        if self.user:
            extra.append(("X-Authenticated-User", base64.b64encode(self.user.encode()).decode()))
        first, rest = encode_request(method, f"icap://{self.host}:{self.port}/{service}", heads, body,
                                     preview, extra)
        self.sock.sendall(first)
        answer = self._answer()
        if rest is None or answer.status != 100:
            return answer
        self.sock.sendall(rest)
        answer = self._answer()
        answer.continued = True
        return answer

    # -- reading ----------------------------------------------------------------------------
    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("ICAP server closed the connection")
            self.buf += data
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("ICAP server closed the connection")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _answer(self) -> IcapAnswer:
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = IcapAnswer(status, headers)
        encapsulated = dict(e.strip().split("=") for e in headers.get("encapsulated", "null-body=0").split(","))
        body_key = next((k for k in encapsulated if k.endswith("-body")), None)
        if status in (100, 204) or body_key is None:
            return answer
        answer.http_head = self._read_exact(int(encapsulated[body_key]))
        if body_key != "null-body":
            answer.body = self._read_chunked()
        return answer

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self._read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                self._read_until(b"\r\n")
                return bytes(out)
            out += self._read_exact(size)
            self._read_exact(2)
