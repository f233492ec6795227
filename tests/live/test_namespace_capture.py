"""Real tools, real capture: curl talks to a Python HTTP server across a veth pair between two
network namespaces this test creates; tcpdump records the server side; `dlp replay` must give
back exactly the bytes the server received and sent, and alert on the key upload.

Needs root, iproute2, tcpdump and curl (.ci/run installs them). Traffic stays inside the
namespaces; every process is stopped by PID and the namespaces are deleted afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from tools.netns import TestNet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORT = 8088

SERVER = r'''
import hashlib, http.server, json, sys
LOG = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers["Content-Length"]); body = self.rfile.read(n)
        with open(LOG, "a") as fh:
            fh.write(json.dumps({"path": self.path, "sha256": hashlib.sha256(body).hexdigest(), "len": n}) + "\n")
        self.send_response(201); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def do_GET(self):
        body = bytes(range(256)) * 4096  # 1 MiB download
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
'''


def test_curl_uploads_and_download_reassemble_exactly(tmp_path):
    log, pcap = tmp_path / "server.jsonl", tmp_path / "capture.pcap"
    upload = os.urandom(3 * 1024 * 1024 + 17)  # random bytes: any reassembly slip changes the hash
    (tmp_path / "upload.bin").write_bytes(upload)
    key = tmp_path / "id_rsa"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\n-----END RSA PRIVATE KEY-----\n")
    with TestNet() as net:
        net.start_server([sys.executable, "-c", SERVER, str(log), str(PORT)], PORT)
        url = f"http://{net.server_ip}:{PORT}"
        curl = ["curl", "-sS", "--max-time", "20", "-o", "/dev/null"]
        with net.capture(str(pcap), f"tcp port {PORT}"):
            net.run_client(curl + ["--data-binary", f"@{tmp_path / 'upload.bin'}", f"{url}/big"])
            net.run_client(curl + ["-F", f"file=@{key}", f"{url}/key"])
            net.run_client(curl + [f"{url}/download"])
        client_ip = net.client_ip
    received = [json.loads(line) for line in log.read_text().splitlines()]
    assert received[0]["sha256"] == hashlib.sha256(upload).hexdigest()

    eve_path, streams = tmp_path / "eve.json", tmp_path / "streams"
    r = subprocess.run([sys.executable, "-m", "dlp", "replay", str(pcap), "--eve", str(eve_path),
                        "--write-streams", str(streams)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    index = [json.loads(line) for line in (streams / "index.jsonl").read_text().splitlines()]
    to_server = {e["src_port"]: (streams / e["file"]).read_bytes() for e in index if e["dest_port"] == PORT}
    to_client = [(streams / e["file"]).read_bytes() for e in index if e["src_port"] == PORT]
    assert all(e["gaps"] == 0 for e in index)
    big = [s for s in to_server.values() if s.startswith(b"POST /big")]
    assert len(big) == 1 and big[0].endswith(upload)  # the exact uploaded bytes, once, in order
    download = [s for s in to_client if s.startswith(b"HTTP/1.0 200") or s.startswith(b"HTTP/1.1 200")]
    assert len(download) == 1 and download[0].endswith(bytes(range(256)) * 4096)
    events = [json.loads(line) for line in eve_path.read_text().splitlines()]
    alerts = [e for e in events if e["event_type"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["src_ip"] == client_ip and alerts[0]["dest_port"] == PORT
    flows = [e for e in events if e["event_type"] == "flow"]
    assert len(flows) == 3 and all(f["dlp"]["close_reason"] == "fin" for f in flows)
