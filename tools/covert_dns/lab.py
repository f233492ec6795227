"""The DNS lab: a client namespace and a "DNS server" namespace (tools/netns.TestNet) where
dnsmasq is the resolver clients query (on the server's veth address, port 53), forwarding
tunnel zones to the tunnel server on loopback and everything else to the benign responder
(tools/covert_dns/responder.py). tcpdump on the veth sees what a mirror port in front of an
internal resolver sees: clients talking to their resolver.

    with DnsLab("dlp4da", forward={"t1.tun-a.example": 5353}) as lab:
        lab.start_server(["iodined", ...], 5353, proto="udp")
        with lab.capture("out.pcap"):
            lab.run_client(["dig", f"@{lab.server_ip}", "www.example.org"])

Nothing leaves the namespaces; every process is stopped by PID when the block ends.
"""

from __future__ import annotations

import os
import sys

from tools.netns import TestNet

RESPONDER_PORT = 5300
BPF = "udp port 53 or tcp port 53"


class DnsLab(TestNet):
    __test__ = False

    def __init__(self, tag: str, forward: dict[str, int] | None = None, seconds: float = 900):
        super().__init__(tag)
        self.forward = forward or {}
        self.seconds = seconds

    def __enter__(self) -> "DnsLab":
        super().__enter__()
        try:
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            self.start_server(["env", f"PYTHONPATH={root}", sys.executable, "-m", "tools.covert_dns.responder",
                               "--port", str(RESPONDER_PORT), "--seconds", str(self.seconds)],
                              RESPONDER_PORT, proto="udp")
            self.start_server(self.dnsmasq_command(), 53)
        except Exception:
            self.__exit__()
            raise
        return self

    def dnsmasq_command(self) -> list[str]:
        cmd = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
               "--user=root", "--pid-file=", f"--listen-address={self.server_ip}",
               "--bind-interfaces", "--log-facility=/dev/null", "--cache-size=1000",
               f"--server=127.0.0.1#{RESPONDER_PORT}"]
        cmd += [f"--server=/{zone}/127.0.0.1#{port}" for zone, port in self.forward.items()]
        return cmd

    def capture(self, path: str, bpf: str = BPF):  # type: ignore[override]
        return super().capture(path, bpf)
