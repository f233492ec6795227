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
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRV_IP, CLI_IP = "10.213.7.1", "10.213.7.2"
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


def sh(*cmd, check=True, timeout=30):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def namespaces():
    tag = f"dlp{os.getpid() % 100000}"
    srv, cli = f"{tag}s", f"{tag}c"
    sh("ip", "netns", "add", srv)
    sh("ip", "netns", "add", cli)
    try:
        sh("ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b")
        sh("ip", "link", "set", f"{tag}a", "netns", srv)
        sh("ip", "link", "set", f"{tag}b", "netns", cli)
        sh("ip", "-n", srv, "addr", "add", f"{SRV_IP}/24", "dev", f"{tag}a")
        sh("ip", "-n", cli, "addr", "add", f"{CLI_IP}/24", "dev", f"{tag}b")
        for ns, dev in ((srv, f"{tag}a"), (cli, f"{tag}b")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield srv, cli, f"{tag}a"
    finally:
        sh("ip", "netns", "del", srv, check=False)
        sh("ip", "netns", "del", cli, check=False)


def wait_listening(ns: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        out = sh("ip", "netns", "exec", ns, "ss", "-ltn", check=False).stdout
        if f":{port} " in out:
            return
        time.sleep(0.1)
    raise AssertionError("test server did not start")


def test_curl_uploads_and_download_reassemble_exactly(namespaces, tmp_path):
    srv, cli, dev = namespaces
    log, pcap = tmp_path / "server.jsonl", tmp_path / "capture.pcap"
    upload = os.urandom(3 * 1024 * 1024 + 17)  # random bytes: any reassembly slip changes the hash
    (tmp_path / "upload.bin").write_bytes(upload)
    key = tmp_path / "id_rsa"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\n-----END RSA PRIVATE KEY-----\n")
    procs = []
    try:
        server = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-c", SERVER, str(log), str(PORT)])
        procs.append(server)
        # a large kernel buffer: a capture that drops packets would (rightly) show gaps
        dump = subprocess.Popen(["ip", "netns", "exec", srv, "tcpdump", "-i", dev, "-B", "131072",
                                 "-s", "0", "-w", str(pcap), "tcp", "port", str(PORT)],
                                stderr=subprocess.PIPE, text=True)
        procs.append(dump)
        wait_listening(srv, PORT, time.monotonic() + 10)
        time.sleep(1.0)  # tcpdump attaches
        url = f"http://{SRV_IP}:{PORT}"
        curl = ["ip", "netns", "exec", cli, "curl", "-sS", "--max-time", "20", "-o", "/dev/null"]
        sh(*curl, "--data-binary", f"@{tmp_path / 'upload.bin'}", f"{url}/big", timeout=30)
        sh(*curl, "-F", f"file=@{key}", f"{url}/key", timeout=30)
        sh(*curl, f"{url}/download", timeout=30)
        time.sleep(1.0)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT if p is not procs[0] else signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    dump_report = dump.stderr.read()
    assert "\n0 packets dropped by kernel" in dump_report, dump_report
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
    assert len(alerts) == 1 and alerts[0]["src_ip"] == CLI_IP and alerts[0]["dest_port"] == PORT
    flows = [e for e in events if e["event_type"] == "flow"]
    assert len(flows) == 3 and all(f["dlp"]["close_reason"] == "fin" for f in flows)
