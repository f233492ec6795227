"""A small real HTTP/1.1 server for captures: takes any upload, serves files with any
Content-Encoding. Run inside a test namespace:

    python -m tools.http_test_server PORT FILES_DIR [LOG]

POST/PUT  any path   reads the body (Content-Length or chunked, 100-continue honoured),
                     answers 200 {"ok": true}; LOG gets one JSON line per request
GET /files/NAME      the file, identity
GET /enc/CODING/NAME the file with Content-Encoding CODING (gzip, deflate, br, zstd)
GET /chunked/NAME    the file with Transfer-Encoding: chunked (1000-byte chunks)
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import sys
import zlib

import brotli
import zstandard

ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}
TYPES = {".html": "text/html", ".js": "application/javascript", ".py": "text/x-python",
         ".csv": "text/csv", ".json": "application/json", ".txt": "text/plain"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files = "."
    log_path = None

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _reply(self, code: int, body: bytes, ctype: str, extra=()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for name, value in extra:
            self.send_header(name, value)
        if ("Transfer-Encoding", "chunked") in extra:
            self.end_headers()
            for i in range(0, len(body), 1000):
                piece = body[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self._read_body()
        if self.log_path:
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps({"method": self.command, "path": self.path, "len": len(body),
                                     "sha256": hashlib.sha256(body).hexdigest()}) + "\n")
        self._reply(200, b'{"ok": true}\n', "application/json")

    do_PUT = do_POST

    def do_GET(self) -> None:
        parts = self.path.lstrip("/").split("/")
        name = os.path.basename(parts[-1])
        path = os.path.join(self.files, name)
        if not os.path.isfile(path):
            self._reply(404, b"not found\n", "text/plain")
            return
        data = open(path, "rb").read()
        ctype = TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        if parts[0] == "enc" and parts[1] in ENCODERS:
            self._reply(200, ENCODERS[parts[1]](data), ctype, [("Content-Encoding", parts[1])])
        elif parts[0] == "chunked":
            self._reply(200, data, ctype, [("Transfer-Encoding", "chunked")])
        else:
            self._reply(200, data, ctype)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    port, files = int(sys.argv[1]), sys.argv[2]
    Handler.files = files
    Handler.log_path = sys.argv[3] if len(sys.argv) > 3 else None
    http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
