"""Real DNS tunnels in the lab (tools/covert_dns/lab.py): Debian's iodine and dns2tcp, their
servers on the lab's loopback behind the dnsmasq resolver, their clients in the client
namespace sending a bounded amount of data.

Each function runs one session inside an open DnsLab; the caller holds the capture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from tools.netns import stop_process

IODINE_PORT, DNS2TCP_PORT, HTTP_PORT = 5353, 5354, 8000
TUNNEL_SERVER_IP = "10.99.0.1"
PASSWORD = "dlp4d-lab-only"


def _wait_for(proc: subprocess.Popen, marker: bytes, seconds: float) -> bytes:
    """Read the process's output until `marker` shows (or it ends, or time runs out)."""
    seen = b""
    deadline = time.monotonic() + seconds
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline and marker not in seen and proc.poll() is None:
        chunk = proc.stdout.read() or b""
        seen += chunk
        if not chunk:
            time.sleep(0.1)
    if marker not in seen:
        raise RuntimeError(f"tunnel did not come up: {seen[-800:].decode(errors='replace')}")
    return seen


def iodine(lab, zone: str, rtype: str, encoding: str, pings: int = 40, size: int = 800) -> None:
    """An iodine session forcing record type `rtype` and downstream `encoding`; `pings` echo
    requests of `size` bytes through the tunnel, then the client is stopped."""
    server = lab.start_server(["iodined", "-f", "-c", "-P", PASSWORD, "-l", "127.0.0.1", "-p",
                               str(IODINE_PORT), TUNNEL_SERVER_IP, zone], IODINE_PORT, proto="udp")
    client = lab.start_client(["iodine", "-f", "-r", "-P", PASSWORD, "-T", rtype, "-O", encoding,
                               lab.server_ip, zone], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for(client, b"Connection setup complete", 60)
        lab.run_client(["ping", "-c", str(pings), "-i", "0.3", "-W", "5", "-s", str(size),
                        TUNNEL_SERVER_IP], timeout=60 + pings)
    finally:
        stop_process(client)
        stop_process(server)


def dns2tcp(lab, zone: str, rtype: str, size: int = 20000) -> None:
    """A dns2tcp session (`rtype` TXT or KEY) carrying an HTTP download of `size` bytes from
    a web server on the server side's loopback."""
    work = tempfile.mkdtemp(prefix="dlp4d-d2t-")
    with open(os.path.join(work, "blob.bin"), "wb") as fh:
        fh.write(os.urandom(size))
    conf = os.path.join(work, "dns2tcpd.conf")
    with open(conf, "w") as fh:
        fh.write(f"listen = 127.0.0.1\nport = {DNS2TCP_PORT}\nuser = root\nchroot = {work}\n"
                 f"domain = {zone}\nresources = web:127.0.0.1:{HTTP_PORT}\n")
    web = lab.start_server([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", work,
                            str(HTTP_PORT)], HTTP_PORT)
    server = lab.start_server(["dns2tcpd", "-F", "-f", conf], DNS2TCP_PORT, proto="udp")
    client = lab.start_client(["dns2tcpc", "-z", zone, "-r", "web", "-l", "8888", "-T", rtype,
                               lab.server_ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # the client's local port
            if b":8888 " in lab.run_client(["ss", "-ltn"]).stdout:
                break
            time.sleep(0.1)
        lab.run_client(["curl", "-s", "-o", "/dev/null", "--max-time", "60",
                        "http://127.0.0.1:8888/blob.bin"], timeout=70)
    finally:
        for proc in (client, server, web):
            stop_process(proc)
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)
