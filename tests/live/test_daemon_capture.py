"""The capture stage on loopback in a namespace of the test's own: both readers deliver
whole frames with their wire length, the BPF filter and snaplen apply in the kernel, and a
fanout group gives every flow (both directions) to exactly one socket."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import threading

import pytest

from dlp.decode.decoder import Decoder
from dlp.live import capture
from tests.live.test_daemon_outputs import private_net  # noqa: F401 - fixture

CLONE_NEWNET = 0x40000000


def _in_ns(ns: str, target, *args):
    """Run target(*args) in a thread that has joined namespace `ns` (setns is per thread)."""
    result, error = [], []

    def body():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:  # os.setns: 3.12+
                raise OSError(ctypes.get_errno(), "setns")
            os.close(fd)
            result.append(target(*args))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)

    t = threading.Thread(target=body)
    t.start()
    t.join(timeout=60)
    if error:
        raise error[0]
    return result[0]


def _traffic(n_flows: int = 12) -> None:
    """n TCP connections (each 3 small writes) to a listener, and UDP datagrams."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(n_flows)
    port = server.getsockname()[1]
    for i in range(n_flows):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        s, _ = server.accept()
        for _ in range(3):
            c.sendall(b"x" * 500)
            s.recv(4096)
        c.close()
        s.close()
    server.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(5):
        u.sendto(b"y" * 300, ("127.0.0.1", 9999))
    u.close()


def _collect(readers, seconds: float = 1.5) -> list[list]:
    import time

    out = [[] for _ in readers]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, r in enumerate(readers):
            out[i] += r.batch(20)
    return out


def _flows(records) -> set:
    dec = Decoder()
    keys = set()
    for ts, lt, frame, wirelen in records:
        pkt = dec.decode(lt, frame, wirelen, ts)
        if pkt is not None and pkt.proto == 6:
            keys.add(frozenset({(pkt.src, pkt.sport), (pkt.dst, pkt.dport)}))
    return keys


@pytest.mark.parametrize("kind", ["ring", "recv"])
def test_fanout_gives_each_flow_to_one_socket_both_directions(private_net, kind):  # noqa: F811
    def run():
        readers = [capture.READERS[kind]("lo", fanout_group=4242, bpf=capture.compile_bpf("lo", "tcp", 0))
                   for _ in range(2)]
        _traffic()
        got = _collect(readers)
        stats = [r.kernel_stats() for r in readers]
        for r in readers:
            r.close()
        return got, stats

    (a, b), stats = _in_ns(private_net, run)
    fa, fb = _flows(a), _flows(b)
    assert len(fa | fb) == 12 and not fa & fb  # every connection in exactly one worker
    assert fa and fb  # the hash spread them
    # loopback shows each frame twice (out and in); per flow both directions are there
    assert sum(s[0] for s in stats) == len(a) + len(b) and all(s[1] == 0 for s in stats)


def test_bpf_filter_and_snaplen_apply_in_the_kernel(private_net):  # noqa: F811
    def run():
        ring = capture.RingCapture("lo", bpf=capture.compile_bpf("lo", "udp port 9999", 100))
        _traffic(2)
        got = _collect([ring], 1.0)[0]
        ring.close()
        return got

    got = _in_ns(private_net, run)
    assert len(got) == 10  # 5 datagrams, out and in; no TCP
    assert all(len(frame) == 100 and wirelen == 14 + 20 + 8 + 300 for _, _, frame, wirelen in got)


def test_a_stripped_vlan_tag_is_put_back():
    frame = bytes(range(12)) + b"\x08\x00" + b"payload"
    tagged = capture._with_vlan(frame, capture.TP_STATUS_VLAN_VALID, 0x0064, 0)
    assert tagged == bytes(range(12)) + struct.pack("!HH", 0x8100, 100) + b"\x08\x00payload"
    qinq = capture._with_vlan(frame, capture.TP_STATUS_VLAN_VALID | capture.TP_STATUS_VLAN_TPID_VALID, 7, 0x88A8)
    assert qinq[12:16] == struct.pack("!HH", 0x88A8, 7)


def test_bad_filter_is_a_config_error():
    from dlp.errors import ConfigError

    with pytest.raises(ConfigError, match="bad bpf filter"):
        capture.compile_bpf("lo", "tcp and and", 0)
