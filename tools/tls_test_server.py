"""tools/http_test_server.py over TLS (HTTP/1.1), for captures and proxy tests:

    python -m tools.tls_test_server PORT CERT KEY LOG [--tls12]

Same handler (uploads logged as JSON lines with length and SHA-256). --tls12 caps the
protocol at TLS 1.2 (default: TLS 1.3 allowed).
"""

from __future__ import annotations

import http.server
import ssl
import sys

from tools.http_test_server import Handler


def main() -> None:
    port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    Handler.log_path = log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    if "--tls12" in sys.argv:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
