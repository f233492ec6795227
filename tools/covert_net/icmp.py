"""ICMP captures (pcaps/icmp/): ptunnel-ng carrying an HTTP download, with its default and a
custom magic; ordinary pings (Linux iputils at several sizes and patterns, flood ping,
Windows' alphabet payload sent by nping); path-MTU discovery through a smaller-MTU link."""

from __future__ import annotations

import functools
import os
import subprocess
import time

from tools.covert_net.lab import far_host, http_server, lab, size_ok, wait_for, write_random

TUNNEL_PORT, LOCAL_PORT = 8022, 2222
WINDOWS_PAYLOAD = "abcdefghijklmnopqrstuvwabcdefghi"  # what Windows ping sends (32 bytes)
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _html(size: int) -> bytes:
    row = b"<tr><td>quarterly figures</td><td>region north</td><td>1234.50</td></tr>\n"
    return b"<html><body><table>\n" + row * (size // len(row)) + b"</table></body></html>\n"


def record_ptunnel(path: str, magic: str | None = None, text: bool = False, suffix: str = "t") -> str:
    """ptunnel-ng client -> proxy -> a web server on the proxy's loopback; curl downloads a
    64 KiB file through the tunnel (random bytes, or HTML when `text`). With a custom
    `magic` the proxy's kernel does not answer pings itself, as ptunnel-ng's docs advise."""
    with lab(suffix) as (net, scratch):
        www = os.path.join(scratch, "www")
        os.mkdir(www)
        if text:
            with open(os.path.join(www, "f.bin"), "wb") as fh:
                fh.write(_html(64 * 1024))
        else:
            write_random(os.path.join(www, "f.bin"), 64 * 1024, seed=4)
        http_server(net, www, TUNNEL_PORT, bind="127.0.0.1")
        magic_args = ["-m", magic] if magic else []
        if magic:
            net.run_in(net.server_ns, ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"])
        with net.capture(path, "icmp"):
            net.start_in(net.server_ns, ["ptunnel-ng", *magic_args, "-r127.0.0.1", f"-R{TUNNEL_PORT}",
                                         "-v", "0"], **QUIET)
            time.sleep(0.5)
            net.start_client(["ptunnel-ng", *magic_args, "-p", net.server_ip, "-l", str(LOCAL_PORT),
                              "-r127.0.0.1", f"-R{TUNNEL_PORT}", "-v", "0"], **QUIET)
            wait_for(lambda: f":{LOCAL_PORT} ".encode() in net.run_client(["ss", "-ltn"]).stdout, 10,
                     "the ptunnel-ng client to listen")
            got = net.run_client(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--max-time", "30",
                                  f"http://127.0.0.1:{LOCAL_PORT}/f.bin"], timeout=40)
            if got.stdout != b"65536" and not (text and got.returncode == 0):
                raise RuntimeError(f"download through the tunnel failed: {got.stdout!r} {got.stderr!r}")
    return size_ok(path)


def record_pings(path: str, suffix: str = "p") -> str:
    """Ordinary ICMP: iputils ping at default, small, large and patterned sizes, a bounded
    flood ping, and Windows-style echo (the alphabet payload, ident kept across runs) by nping."""
    with lab(suffix) as (net, _scratch):
        dst = net.server_ip
        with net.capture(path, "icmp"):
            for args in (["-c", "4"], ["-c", "3", "-s", "8"], ["-c", "3", "-s", "1000"],
                         ["-c", "3", "-s", "1472", "-M", "do"], ["-c", "3", "-p", "ff00aa55"],
                         ["-c", "3", "-s", "4000"]):
                net.run_client(["ping", "-n", "-q", "-i", "0.05", *args, dst])
            net.run_client(["ping", "-n", "-q", "-f", "-c", "300", dst], timeout=30)
            for size in (32, 32, 1000):  # `ping -n 2 host`, then `ping -l 1000 host`, as on Windows
                data = (WINDOWS_PAYLOAD * 40)[:size]
                net.run_client(["nping", "-q", "--icmp", "--icmp-type", "echo", "--icmp-id", "1",
                                "--data-string", data, "-c", "2", "--delay", "50ms", dst])
    return size_ok(path)


def record_pmtu(path: str, suffix: str = "m") -> str:
    """`ping -M do -s 1472` to a host behind a 1400-byte link: the router (the server
    namespace) answers "fragmentation needed"; then pings that fit."""
    with lab(suffix) as (net, _scratch):
        with far_host(net, 1400) as far, net.capture(path, "icmp"):
            # exits non-zero: the first probe draws the error, the next ones fail locally
            net.run_in(net.client_ns, ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-M", "do", "-s", "1472", far],
                       check=False)
            net.run_client(["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-M", "do", "-s", "1372", far])
    return size_ok(path)


CAPTURES = (("ptunnel_ng.pcap", record_ptunnel),
            ("ptunnel_ng_custom_magic.pcap", functools.partial(record_ptunnel, magic="0x51F3A2C7", text=True)),
            ("ping_benign.pcap", record_pings), ("pmtu.pcap", record_pmtu))
