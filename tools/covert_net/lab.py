"""The namespaces the capture generators run in: tools/netns.py's TestNet (client and
server joined by a veth pair, tcpdump on the server side), plus, for path-MTU discovery, a
far host routed through the server over a link with a smaller MTU."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time

from tools.netns import TestNet

FAR_NET_SERVER, FAR_IP = "10.213.8.1", "10.213.8.2"
TAG = "dlp4e"


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=check)


@contextlib.contextmanager
def lab(suffix: str):
    """A TestNet named dlp4e<suffix> (namespaces dlp4e<suffix>s / ...c), and a scratch dir."""
    with TestNet(TAG + suffix) as net, tempfile.TemporaryDirectory(prefix="dlp4e-") as scratch:
        yield net, scratch


@contextlib.contextmanager
def far_host(net: TestNet, mtu: int):
    """A third namespace behind the server (which forwards) on a link of `mtu` bytes; the
    client routes FAR_IP through the server, so large DF packets draw "fragmentation
    needed" from the server. Deleted on exit."""
    ns = net.server_ns[:-1] + "f"
    near, far = net.server_dev[:-1] + "n", net.server_dev[:-1] + "f"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", net.server_ns, "link", "add", near, "mtu", str(mtu), "type", "veth",
           "peer", "name", far, "mtu", str(mtu))
        sh("ip", "-n", net.server_ns, "link", "set", far, "netns", ns)
        sh("ip", "-n", net.server_ns, "addr", "add", f"{FAR_NET_SERVER}/24", "dev", near)
        sh("ip", "-n", ns, "addr", "add", f"{FAR_IP}/24", "dev", far)
        sh("ip", "-n", net.server_ns, "link", "set", near, "up")
        sh("ip", "-n", ns, "link", "set", far, "up")
        sh("ip", "netns", "exec", net.server_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-n", net.client_ns, "route", "add", "10.213.8.0/24", "via", net.server_ip)
        sh("ip", "-n", ns, "route", "add", "default", "via", FAR_NET_SERVER)
        yield FAR_IP
    finally:
        sh("ip", "netns", "del", ns, check=False)


def http_server(net: TestNet, directory: str, port: int, bind: str = "0.0.0.0"):
    """python's http.server in the server namespace (stopped with the TestNet)."""
    return net.start_server(["python3", "-m", "http.server", str(port), "--bind", bind,
                             "--directory", directory], port)


def write_random(path: str, size: int, seed: int) -> None:
    import random
    with open(path, "wb") as fh:
        fh.write(random.Random(seed).randbytes(size))


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def record_set(out: str, captures) -> list[str]:
    """Record each (file name, recorder) of `captures` into directory `out`."""
    os.makedirs(out, exist_ok=True)
    return [record(os.path.join(out, name)) for name, record in captures]


def size_ok(path: str, limit: int = 2_000_000) -> str:
    size = os.path.getsize(path)
    if size > limit:
        raise RuntimeError(f"{path}: {size} bytes, over the {limit}-byte budget for committed captures")
    return path
