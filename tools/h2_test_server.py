"""A tiny HTTP/2 server over TLS (ALPN h2) for key-log captures, on the `h2` package. Run it
with the system Python (Debian's python3-h2 comes with mitmproxy):

    python3 tools/h2_test_server.py PORT CERT KEY LOG [--tls12]

Every request's body is read whole; the answer is 200 {"ok": true}; LOG gets one JSON line
per request (method, path, len, sha256), as tools/http_test_server.py writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import sys

import h2.config
import h2.connection
import h2.events


class H2Protocol(asyncio.Protocol):
    log_path = ""

    def __init__(self):
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.streams: dict[int, dict] = {}
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes):
        try:
            events = self.conn.receive_data(data)
        except Exception:
            self.transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                headers = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                           for k, v in ev.headers}
                self.streams[ev.stream_id] = {"headers": headers, "body": bytearray()}
            elif isinstance(ev, h2.events.DataReceived):
                self.streams[ev.stream_id]["body"] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self._answer(ev.stream_id)
        self.transport.write(self.conn.data_to_send())

    def _answer(self, stream_id: int):
        stream = self.streams.pop(stream_id)
        body = bytes(stream["body"])
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps({"method": stream["headers"].get(":method"), "path": stream["headers"].get(":path"),
                                 "len": len(body), "sha256": hashlib.sha256(body).hexdigest()}) + "\n")
        reply = b'{"ok": true}\n'
        self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/json"),
                                           ("content-length", str(len(reply)))])
        self.conn.send_data(stream_id, reply, end_stream=True)


def main() -> None:
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    H2Protocol.log_path = sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    if "--tls12" in sys.argv:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(H2Protocol, "0.0.0.0", port, ssl=ctx))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
