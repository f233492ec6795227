"""Record the bundled demo capture with real tools on loopback: a Python HTTP server, curl
uploading a (fake, generated) private key and a harmless form, tcpdump writing the pcap.

    python tools/record_demo.py pcaps/demo/curl-upload-key.pcap

Traffic stays on 127.0.0.1; every process started here is stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVER = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
        body = b"stored\n"
        self.send_response(201); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        body = b"<html><body>hello</body></html>\n"
        self.send_response(200); self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''

FAKE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join("MIIEpAIBAAKCAQEA" + "x" * 48 for _ in range(8))
    + "\n-----END RSA PRIVATE KEY-----\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def record(out: str) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", out,
                             f"tcp port {port}"], stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        time.sleep(0.5)  # let tcpdump attach
        url = f"http://127.0.0.1:{port}"
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as fh:
            fh.write(FAKE_KEY)
            key_path = fh.name
        run = ["curl", "-s", "-o", "/dev/null", "--max-time", "5"]
        subprocess.run(run + [url + "/index.html"], check=True)
        subprocess.run(run + ["-F", "comment=quarterly report", url + "/upload"], check=True)
        subprocess.run(run + ["-F", f"file=@{key_path}", url + "/upload"], check=True)
        os.unlink(key_path)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=5)
        server.terminate()
        server.wait(timeout=5)


if __name__ == "__main__":
    record(sys.argv[1])
