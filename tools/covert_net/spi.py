"""Stateful-inspection captures (pcaps/spi/): nmap SYN, NULL, FIN and XMAS scans; a SYN
flood by hping3; injected RST and data with sequence numbers outside the window of a live
session; ACK segments with no session and a DNS answer nobody asked for, placed after the
midstream grace; and an ordinary session for contrast.

hping3 --flood ignores --count (it sent 1.1 million SYNs in 10 s here), so the flood is
`hping3 -S -i u200 -c 400`: 400 SYNs at about 5000/s, bounded."""

from __future__ import annotations

import os
import time

from tools.covert_net.lab import http_server, lab, size_ok
from tools.covert_net.timewarp import merge
from tools.pcapgen import dns_response

WEB_PORT, ECHO_PORT, CLIENT_PORT = 8080, 9000, 40001
GRACE_SHIFT = 120.0  # seconds added to the phases that must come after the midstream grace

# a line-echo server for the injection target: the session stays open while hping3 fires
ECHO_SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {ECHO_PORT})); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30)
while True:
    data = c.recv(4096)
    if not data:
        break
    c.sendall(data)
"""
ECHO_CLIENT = f"""
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {CLIENT_PORT})); s.connect(("{{server}}", {ECHO_PORT}))
for n in range(20):
    s.sendall(b"line %d\\n" % n); s.recv(100); time.sleep(0.1)
s.close()
"""
UNSOLICITED_DNS = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))
s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 33333))
"""


def record_scans(path: str, suffix: str = "n") -> str:
    """nmap -sS over 1000 ports, -sN/-sF/-sX over 200, no retries, against a host with one
    open web port."""
    with lab(suffix) as (net, scratch):
        http_server(net, scratch, WEB_PORT)
        with net.capture(path, "tcp"):
            for kind, ports in (("-sS", "1-1000"), ("-sN", "1-200"), ("-sF", "1-200"), ("-sX", "1-200")):
                net.run_client(["nmap", "-n", "-Pn", kind, "-p", ports, "--max-retries", "0", "-T4",
                                net.server_ip], timeout=60)
    return size_ok(path)


def record_synflood(path: str, suffix: str = "f") -> str:
    with lab(suffix) as (net, scratch):
        http_server(net, scratch, WEB_PORT)
        with net.capture(path, "tcp"):
            net.run_client(["curl", "-s", "-o", "/dev/null", f"http://{net.server_ip}:{WEB_PORT}/"])
            net.run_client(["hping3", "-q", "-S", "-p", str(WEB_PORT), "-i", "u200", "-c", "400",
                            net.server_ip], timeout=30)
    return size_ok(path)


def record_injection(path: str, suffix: str = "j") -> str:
    """Phase 1: a live echo session from port 40001; meanwhile hping3 sends it RSTs and data
    segments with a fixed sequence number (0x12345678: outside the session's window unless
    the ISN happens to fall within a megabyte of it). Phase 2, shifted 120 s later: hping3
    ACKs to closed and open ports (no session; the host resets them) and a DNS answer
    sent to the client with no query."""
    with lab(suffix) as (net, scratch):
        phase1, phase2 = os.path.join(scratch, "1.pcap"), os.path.join(scratch, "2.pcap")
        server = net.start_server(["python3", "-c", ECHO_SERVER], ECHO_PORT)
        with net.capture(phase1, "tcp"):
            client = net.start_client(["python3", "-c", ECHO_CLIENT.replace("{server}", net.server_ip)])
            time.sleep(0.6)
            spoof = ["-k", "-s", str(CLIENT_PORT), "-p", str(ECHO_PORT), "-M", str(0x12345678), "-c", "2",
                     "-i", "u100000"]
            net.run_client(["hping3", "-q", "-R", *spoof, net.server_ip])
            net.run_client(["hping3", "-q", "-A", "-P", "-d", "64", *spoof, net.server_ip])
            client.wait(timeout=20)
            server.wait(timeout=20)
        http_server(net, scratch, WEB_PORT)
        with net.capture(phase2, "tcp or udp"):
            for port in (22, 3306, WEB_PORT):
                net.run_client(["hping3", "-q", "-A", "-p", str(port), "-c", "1", net.server_ip])
            answer = dns_response("update.example.com", "A", qid=0x4242, answers=["10.213.7.66"])
            net.run_in(net.server_ns, ["python3", "-c", UNSOLICITED_DNS, answer.hex(), net.client_ip])
        merge(path, [(phase1, 0.0), (phase2, GRACE_SHIFT)])
    return size_ok(path)


def record_ordinary(path: str, suffix: str = "o") -> str:
    """Contrast: a few ordinary web requests, nothing to report."""
    with lab(suffix) as (net, scratch):
        http_server(net, scratch, WEB_PORT)
        with net.capture(path, "tcp"):
            for _ in range(5):
                net.run_client(["curl", "-s", "-o", "/dev/null", f"http://{net.server_ip}:{WEB_PORT}/"])
    return size_ok(path)


CAPTURES = (("scans.pcap", record_scans), ("synflood.pcap", record_synflood),
            ("injection.pcap", record_injection), ("ordinary.pcap", record_ordinary))
