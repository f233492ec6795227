"""Offloaded flows: once bypassed, a flow's packets are dropped below the engine (the kernel's
bypass table, dlp/live/ebpf.py) except SYN/FIN/RST. A table that behaves like the kernel's
stands in here; the real one is tested in tests/live/test_ebpf.py. What must hold: flow
records count every packet and byte as without offload, a busy offloaded flow does not time
out, an idle one does, and the RST that ends a long session is still in window."""

from __future__ import annotations

import time

from dlp.app.dispatch import DetectionDispatcher
from dlp.config import EngineConfig
from dlp.decode.packet import FIN, RST, SYN, TCP
from dlp.flow.engine import FlowEngine
from dlp.live.offload import KernelOffload
from dlp.stream.consumer import FanOut, NullConsumer
from tests.helpers import ACK, PSH, Collect, seg

C, S = "10.0.0.2", "10.0.0.9"
HELLO = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(160)
MSS = 1400
SECOND = 1_000_000


class KernelLikeTable:
    """The kernel table's behaviour: entries per direction; a matching packet without
    SYN/FIN/RST is dropped and counted (packets, bytes, monotonic ns, next sequence)."""

    def __init__(self, capacity: int = 100):
        self.capacity = capacity
        self.entries: dict[tuple, list[int]] = {}

    def add(self, src, sport, dst, dport, proto=TCP, vlan=0) -> bool:
        if len(self.entries) >= self.capacity:
            return False
        self.entries[(src, sport, dst, dport, proto)] = [0, 0, 0, 0]
        return True

    def remove(self, src, sport, dst, dport, proto=TCP, vlan=0) -> None:
        self.entries.pop((src, sport, dst, dport, proto), None)

    def counters(self, src, sport, dst, dport, proto=TCP, vlan=0):
        entry = self.entries.get((src, sport, dst, dport, proto))
        return tuple(entry) if entry is not None else None

    def drops(self, pkt) -> bool:
        entry = self.entries.get((pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.proto))
        if entry is None or pkt.flags & (SYN | FIN | RST):
            return False
        entry[0] += 1
        entry[1] += pkt.wirelen
        wall_minus_mono_us = (time.time_ns() - time.monotonic_ns()) // 1000
        entry[2] = (pkt.ts - wall_minus_mono_us) * 1000
        entry[3] = (pkt.seq + len(pkt.payload)) & 0xFFFFFFFF
        return True


def session(data_segments: int, end_flags: int = FIN, gap_before_end: int = 0):
    """A TLS-like upload: handshake, ClientHello, `data_segments` full segments both ways
    one per 10 ms, then a FIN or RST exchange after `gap_before_end` microseconds."""
    ts = 1_000 * SECOND
    pkts = [seg(C, 40000, S, 443, SYN, seq=100, ts=ts), seg(S, 443, C, 40000, SYN | ACK, seq=900, ack=101, ts=ts),
            seg(C, 40000, S, 443, ACK, seq=101, ack=901, ts=ts),
            seg(C, 40000, S, 443, PSH | ACK, seq=101, ack=901, payload=HELLO, ts=ts)]
    cseq, sseq = 101 + len(HELLO), 901
    for _ in range(data_segments):
        ts += 10_000
        pkts.append(seg(C, 40000, S, 443, ACK, seq=cseq, ack=sseq, payload=b"c" * MSS, ts=ts))
        cseq += MSS
        pkts.append(seg(S, 443, C, 40000, ACK, seq=sseq, ack=cseq, payload=b"s" * 100, ts=ts))
        sseq += 100
    ts += gap_before_end
    if end_flags == RST:
        pkts.append(seg(C, 40000, S, 443, RST | ACK, seq=cseq, ack=sseq, ts=ts))
    else:
        pkts += [seg(C, 40000, S, 443, FIN | ACK, seq=cseq, ack=sseq, ts=ts),
                 seg(S, 443, C, 40000, FIN | ACK, seq=sseq, ack=cseq + 1, ts=ts),
                 seg(C, 40000, S, 443, ACK, seq=cseq + 1, ack=sseq + 1, ts=ts)]
    return pkts


def run(pkts, table=None, cfg=None):
    """Feed `pkts`; with a table, the packets it drops never reach the engine."""
    dispatcher = DetectionDispatcher([Collect("http")], lambda *a: None)
    closed = []

    class Closed(NullConsumer):
        def on_close(self, flow):
            closed.append(flow)

    engine = FlowEngine(cfg or EngineConfig(), FanOut([dispatcher, Closed()]))
    dispatcher.request_bypass = engine.request_bypass
    offload = None
    if table is not None:
        offload = KernelOffload(table)
        engine.set_offload(offload)
    for pkt in pkts:
        if table is None or not table.drops(pkt):
            engine.process(pkt)
    engine.shutdown()
    return engine, closed, offload


def test_an_offloaded_flow_counts_every_packet_and_byte_and_ends_by_its_fin():
    pkts = session(200)
    plain, (flow_plain,), _ = run(pkts)
    table = KernelLikeTable()
    engine, (flow,), offload = run(pkts, table)
    assert engine.events["flow.offloaded"] == 1
    assert not flow.offloaded  # taken back at the FIN, so the closing ACKs came up
    assert offload.dropped_packets == sum(flow.unseen) > 390  # nearly all 400 data segments
    assert (flow.pkts, flow.bytes) == (flow_plain.pkts, flow_plain.bytes)
    assert flow.reason == "fin" and flow_plain.reason == "fin"
    assert not flow.anomalies and not flow_plain.anomalies
    assert table.entries == {} and len(offload) == 0  # removed when the flow ended


def test_the_rst_ending_a_long_offloaded_session_is_in_window():
    # 280 KB went by unseen: without the frontier from the kernel, the RST would be far
    # outside the window we last knew and be rejected as forged
    pkts = session(200, end_flags=RST)
    engine, (flow,), _ = run(pkts, KernelLikeTable())
    assert flow.reason == "rst"
    assert engine.events["tcp.rst_out_of_window"] == 0 and not flow.anomalies


def test_a_busy_offloaded_flow_outlives_the_idle_timeout_and_an_idle_one_does_not():
    cfg = EngineConfig()
    idle = cfg.timeouts.tcp_established * SECOND
    busy = session(int(idle / 10_000) * 2)  # traffic every 10 ms for twice the timeout
    # a second flow whose packets reach the engine drives the clock past the timeout
    clock = [seg("10.0.0.3", 50000, S, 80, SYN, seq=1, ts=p.ts) for p in busy[4::500]]
    merged = sorted(busy + clock, key=lambda p: p.ts)
    engine, closed, _ = run(merged, KernelLikeTable(), cfg)
    tls = [f for f in closed if f.sport == 443]
    assert [f.reason for f in tls] == ["fin"]  # not "timeout" in the middle

    quiet = session(10, gap_before_end=idle * 2)  # idle for twice the timeout before the FIN
    clock = [seg("10.0.0.3", 50000 + i, S, 80, SYN, seq=1, ts=quiet[-4].ts + i * SECOND)
             for i in range(0, int(idle * 2 / SECOND), 10)]
    merged = sorted(quiet + clock, key=lambda p: p.ts)
    engine, closed, _ = run(merged, KernelLikeTable(), cfg)
    assert [f.reason for f in closed if f.sport == 443][0] == "timeout"


def test_a_full_table_leaves_the_flow_to_user_space():
    pkts = session(50)
    table = KernelLikeTable(capacity=1)  # room for one direction only: all or nothing
    engine, (flow,), _ = run(pkts, table)
    assert flow.bypassed and not flow.offloaded and flow.unseen is None
    assert engine.events["flow.offload_refused"] == 1 and table.entries == {}
    assert flow.pkts == [3 + 50 + 2, 1 + 50 + 1]  # every packet came up and was counted once

