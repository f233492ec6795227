"""Kernel bypass end to end: `dlp run` on a mirror port (tools/netns.TestNet + tc mirred),
2 workers with the eBPF bypass table (dlp/live/ebpf.py). A long non-HTTP TCP session (a TLS
record header, then 3 MB each way) is bypassed by the engine after its first bytes and then
offloaded: its packets are dropped in the kernel, yet its flow record counts exactly the
packets and bytes tcpdump saw on the same mirror port, ends by its FIN, and the workers' stats
say how many packets the kernel dropped for them. An HTTP card upload after it still alerts.

Needs root, iproute2, ethtool, tcpdump, curl (.ci/run installs them). Traffic stays inside
the namespaces; processes are stopped by PID; namespaces are deleted afterwards.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sys
import time

import dpkt

from dlp.capture.pcapfile import CaptureFile
from tests.live.daemon_helpers import ROOT, events, mirror_config, start_daemon, stats_by_worker, wait_for
from tools import dlp_samples
from tools.netns import TestNet, stop_process

BULK_PORT, HTTP_PORT = 8443, 8080
MIB = 1 << 20
# server: read the client's 3 MiB, answer with 3 MiB, close (bounded, exits by itself)
SINK = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(30)
got = 0
while got < int(sys.argv[2]):
    data = c.recv(65536)
    if not data: break
    got += len(data)
c.sendall(b"\x17\x03\x03" + bytes(int(sys.argv[2]) - 3)); c.close()
"""
# client: a TLS-looking start, a pause (the engine bypasses and offloads the flow), the bulk
SOURCE = r"""
import socket, sys, time
size = int(sys.argv[3])
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
c.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(500)); time.sleep(0.5)
c.sendall(bytes(range(256)) * ((size - 511) // 256) + bytes((size - 511) % 256))
got = 0
while got < size:
    data = c.recv(65536)
    if not data: break
    got += len(data)
c.close(); print(got)
"""


def _counted_by_tcpdump(path, port: int) -> tuple[int, int]:
    """Packets and wire bytes of `port` in the reference capture (headers only: -s 128)."""
    packets = nbytes = 0
    with CaptureFile(str(path)) as cap:
        for _ts, _linktype, frame, wirelen in cap:
            tcp = dpkt.ethernet.Ethernet(frame).data.data
            if isinstance(tcp, dpkt.tcp.TCP) and port in (tcp.sport, tcp.dport):
                packets += 1
                nbytes += wirelen
    return packets, nbytes


def test_offloaded_flow_is_counted_whole_and_other_flows_still_inspected(tmp_path):
    rng = random.Random(7)
    body = tmp_path / "cards.json"
    body.write_bytes(dlp_samples.customers_json(rng, dlp_samples.cards(rng, 3)))
    eve, stderr, ref = tmp_path / "eve.json", tmp_path / "dlp.stderr", tmp_path / "ref.pcap"
    files = tmp_path / "files"
    files.mkdir()
    with TestNet(tag="dlp5o") as net:
        net.disable_offloads()
        _tap, monitor_dev = net.add_monitor()
        net.start_server([sys.executable, os.path.join(ROOT, "tools", "http_test_server.py"),
                          str(HTTP_PORT), str(files)], HTTP_PORT)
        net.start_server([sys.executable, "-c", SINK, str(BULK_PORT), str(3 * MIB)], BULK_PORT)
        # headers only: a ring of small slots holds the whole session, so tcpdump drops nothing
        tcpdump = net.start_in(net.monitor_ns, ["tcpdump", "-Z", "root", "--immediate-mode", "-i", monitor_dev, "-s", "128",
                                                "-B", "65536", "-w", str(ref), "tcp", "port", str(BULK_PORT)],
                               stderr=open(tmp_path / "tcpdump.err", "w"))
        daemon = start_daemon(net, net.monitor_ns, ["--config", mirror_config(tmp_path, monitor_dev)], stderr)
        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        got = net.run_client([sys.executable, "-c", SOURCE, net.server_ip, str(BULK_PORT), str(3 * MIB)], timeout=60)
        assert int(got.stdout) == 3 * MIB
        net.run_client(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-H", "Content-Type: application/json",
                        "--data-binary", f"@{body}", f"http://{net.server_ip}:{HTTP_PORT}/api/customers"])
        wait_for(lambda: [e for e in events(eve) if e["event_type"] == "alert"], "the upload's alert")
        wait_for(lambda: [e for e in events(eve) if e["event_type"] == "flow" and e.get("dest_port") == BULK_PORT],
                 "the bulk flow's record", timeout=20)
        time.sleep(1)  # tcpdump writes what its buffer still holds before it is stopped
        stop_process(tcpdump, signal.SIGINT)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    report = (tmp_path / "tcpdump.err").read_text()
    captured = re.search(r"(\d+) packets captured", report).group(1)
    assert f"{captured} packets received by filter" in report and "\n0 packets dropped by kernel" in report, \
        f"the reference capture is incomplete: {report}"
    evs = events(eve)
    bulk = [e for e in evs if e["event_type"] == "flow" and e.get("dest_port") == BULK_PORT]
    assert len(bulk) == 1
    record = bulk[0]
    assert record["dlp"]["bypassed"] is True and record["tcp"]["fin"]
    # the last ACK came up although the peer may send it on another CPU than the one
    # handling the FIN's copy: a FIN of either side ends the kernel's bypass of both
    assert record["dlp"]["close_reason"] == "fin", record
    offloaded = record["dlp"]["offloaded_pkts"]
    counts = record["flow"]
    seen = counts["pkts_toserver"] + counts["pkts_toclient"]
    assert sum(offloaded) > 0.9 * seen  # nearly all of it never reached the worker
    assert (seen, counts["bytes_toserver"] + counts["bytes_toclient"]) == _counted_by_tcpdump(ref, BULK_PORT)
    assert not record["dlp"].get("anomalies")  # its FIN/RST checks had the right sequence space
    last = [s[-1] for s in stats_by_worker(evs).values()]
    capture = [s["stats"]["capture"] for s in last]
    assert sum(c["kernel_bypassed"] for c in capture) == sum(offloaded)
    assert all(c["kernel_drops"] == 0 and c["offloaded_flows"] == 0 for c in capture)
    alerts = [e for e in evs if e["event_type"] == "alert"]
    assert alerts and alerts[0]["dest_port"] == HTTP_PORT
