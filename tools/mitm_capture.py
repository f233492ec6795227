"""Records TLS captures with a key log, as an intercepting proxy's mirror would see them:
curl -> mitmdump (SSLKEYLOGFILE set; client namespace, loopback) -> HTTPS test servers in the
server namespace, with tcpdump on the proxy -> server link. Servers: HTTP/1.1 and HTTP/2
(tools/h2_test_server.py), each over TLS 1.3 and TLS 1.2; and a plain HTTP server that curl
reaches directly, so a capture holds both TLS and clear-text flows.

    python -m tools.mitm_capture OUT_DIR      # OUT_DIR/capture.pcap, keys.log, uploads.json

Needs root, iproute2, tcpdump, curl, mitmproxy (Debian mitmdump) and python3-h2. Every
process is stopped by PID, the namespaces are removed.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import asdict, dataclass

from tools.dlp_samples import cards, customers_json
from tools.netns import TestNet
from tools.squid_env import stop, wait_listening
from tools.test_certs import make_ca, make_server_cert

PROXY_PORT = 18080
SERVERS = {  # port: (kind, TLS 1.2 only)
    8443: ("h1", False), 8444: ("h1", True), 8445: ("h2", False), 8446: ("h2", True),
}
PLAIN_PORT = 8080
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Upload:
    name: str
    port: int  # a key of SERVERS, or PLAIN_PORT (direct, no proxy, no TLS)
    body: bytes
    content_type: str = "application/json"

    @property
    def url(self) -> str:
        scheme = "http" if self.port == PLAIN_PORT else "https"
        return f"{scheme}://10.213.7.1:{self.port}/{self.name}"


def default_uploads(seed: int = 6) -> list[Upload]:
    """Card uploads over every TLS/HTTP version, clean ones, and one plain HTTP leak."""
    rng = random.Random(seed)
    out = []
    for port, (kind, tls12) in SERVERS.items():
        tag = f"{kind}-tls{'12' if tls12 else '13'}"
        out.append(Upload(f"cards-{tag}", port, customers_json(rng, cards(rng, 4))))
        out.append(Upload(f"clean-{tag}", port, json.dumps({"note": f"nothing here {tag}"}).encode()))
    out.append(Upload("cards-big-h2-tls13", 8445, customers_json(rng, cards(rng, 3)) + b" " * 200_000))
    out.append(Upload("cards-plain", PLAIN_PORT, customers_json(rng, cards(rng, 4))))
    return out


def record(out_dir: str, uploads: list[Upload] | None = None, tag: str = "dlp6k",
           mtu_frames: bool = False) -> dict:
    """Makes OUT_DIR/capture.pcap and keys.log; returns {"pcap", "keylog", "uploads": [...]}.
    `mtu_frames`: segmentation offloads off, so the capture holds frames a real link carries
    (and tcpreplay can send), not the veth's 64 KiB super-frames."""
    uploads = uploads if uploads is not None else default_uploads()
    os.makedirs(out_dir, exist_ok=True)
    work = os.path.join(out_dir, "work")
    os.makedirs(os.path.join(work, "files"), exist_ok=True)
    ca = make_ca(work, "key-log test upstream CA", "upstream-ca")
    cert, key = make_server_cert(work, ca, "10.213.7.1")
    pcap, keylog = os.path.join(out_dir, "capture.pcap"), os.path.join(out_dir, "keys.log")
    for path in (pcap, keylog):
        if os.path.exists(path):
            os.remove(path)
    with TestNet(tag) as net:
        if mtu_frames:
            net.disable_offloads()
        _start_servers(net, work, cert, key)
        mitm = subprocess.Popen(
            ["ip", "netns", "exec", net.client_ns, "mitmdump", "-q", "--listen-host", "127.0.0.1",
             "--listen-port", str(PROXY_PORT), "--set", f"confdir={work}/mitm",
             "--set", f"ssl_verify_upstream_trusted_ca={ca[0]}"],
            env={**os.environ, "SSLKEYLOGFILE": keylog}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_listening(net.client_ns, PROXY_PORT, mitm, timeout=30)
            with net.capture(pcap, "tcp"):
                results = [_upload(net, work, u) for u in uploads]
        finally:
            stop(mitm)
    return {"pcap": pcap, "keylog": keylog, "uploads": results}


def _start_servers(net: TestNet, work: str, cert: str, key: str) -> None:
    for port, (kind, tls12) in SERVERS.items():
        cmd = ([sys.executable, "-m", "tools.tls_test_server"] if kind == "h1"
               else ["/usr/bin/python3", os.path.join(REPO, "tools", "h2_test_server.py")])
        cmd += [str(port), cert, key, os.path.join(work, "server.log")] + (["--tls12"] if tls12 else [])
        net.start_server(cmd, port)
    net.start_server([sys.executable, "-m", "tools.http_test_server", str(PLAIN_PORT),
                      os.path.join(work, "files"), os.path.join(work, "server.log")], PLAIN_PORT)


def _upload(net: TestNet, work: str, upload: Upload) -> dict:
    body_file = os.path.join(work, f"{upload.name}.body")
    with open(body_file, "wb") as fh:
        fh.write(upload.body)
    cmd = ["curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
           "-H", f"Content-Type: {upload.content_type}", "--data-binary", f"@{body_file}"]
    if upload.port != PLAIN_PORT:
        cmd += ["--proxy", f"http://127.0.0.1:{PROXY_PORT}", "--cacert",
                os.path.join(work, "mitm", "mitmproxy-ca-cert.pem")]
        if SERVERS[upload.port][0] == "h2":
            cmd.append("--http2")
    result = net.run_client(cmd + [upload.url], timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"curl {upload.url}: {result.stderr.decode(errors='replace')}")
    code, version = result.stdout.decode().split()
    info = asdict(upload)
    del info["body"]
    return {**info, "url": upload.url, "status": int(code), "client_http_version": version,
            "len": len(upload.body)}


def main() -> None:
    result = record(sys.argv[1])
    with open(os.path.join(sys.argv[1], "uploads.json"), "w") as fh:
        json.dump(result["uploads"], fh, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
