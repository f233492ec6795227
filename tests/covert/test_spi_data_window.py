"""Flow stage: data whose sequence number is far outside the receiver's window (blind
injection) is the anomaly tcp.data_out_of_window, with the sender's direction, and never
enters the stream; ordinary retransmissions, reordering and wraparound do not raise it."""

from __future__ import annotations

import pytest

from dlp.config import EngineConfig
from dlp.flow.engine import FlowEngine
from tests.helpers import ACK, PSH, SYN, Recorder, seg

C, S = "10.0.0.2", "10.0.0.1"


class Events(Recorder):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_event(self, flow, direction, name):
        self.events.append((direction, name))


def session(isn_c: int, isn_s: int, extra) -> tuple[Events, bytes]:
    rec = Events()
    eng = FlowEngine(EngineConfig(), rec)
    pkts = [seg(C, 40000, S, 80, SYN, isn_c, ts=1), seg(S, 80, C, 40000, SYN | ACK, isn_s, isn_c + 1, ts=2),
            seg(C, 40000, S, 80, ACK, isn_c + 1, isn_s + 1, ts=3),
            seg(C, 40000, S, 80, ACK | PSH, isn_c + 1, isn_s + 1, b"hello ", ts=4)]
    pkts += extra(isn_c + 7, isn_s + 1)
    for p in pkts:
        eng.process(p)
    flow = rec.opened[0]
    eng.shutdown()
    return rec, rec.stream(flow, 0)


def names(rec: Events) -> list:
    return [e for e in rec.events if e[1] != "tcp.established"]


@pytest.mark.parametrize("offset", [5_000_000, 1 << 30, -5_000_000, -(1 << 30)])
def test_far_data_is_an_anomaly_and_not_stream_data(offset):
    def extra(nxt, ack):
        return [seg(C, 40000, S, 80, ACK | PSH, (nxt + offset) & 0xFFFFFFFF, ack, b"INJECTED", ts=5),
                seg(C, 40000, S, 80, ACK | PSH, nxt, ack, b"world", ts=6)]
    rec, stream = session(1000, 9000, extra)
    assert names(rec) == [(0, "tcp.data_out_of_window")]
    assert stream == b"hello world"


@pytest.mark.parametrize("isn", [1000, 0xFFFFFFF0])
def test_retransmission_reordering_and_wraparound_are_quiet(isn):
    def extra(nxt, ack):
        return [seg(C, 40000, S, 80, ACK | PSH, (nxt + 5) & 0xFFFFFFFF, ack, b"d!", ts=5),  # early
                seg(C, 40000, S, 80, ACK | PSH, nxt, ack, b"world", ts=6),
                seg(C, 40000, S, 80, ACK | PSH, (nxt - 6) & 0xFFFFFFFF, ack, b"hello ", ts=7)]  # retransmitted
    rec, stream = session(isn, 9000, extra)
    assert names(rec) == [] and stream == b"hello worldd!"


def test_data_within_a_megabyte_of_a_lost_segment_is_kept():
    def extra(nxt, ack):  # the mirror lost 500 kB: what follows is buffered, not rejected
        return [seg(C, 40000, S, 80, ACK | PSH, (nxt + 500_000) & 0xFFFFFFFF, ack, b"later", ts=5)]
    rec, stream = session(1000, 9000, extra)
    assert names(rec) == [(0, "stream.reassembly_seq_gap")]  # at the end, the hole is a gap
    assert stream == b"hello later" and [g[2] for g in rec.gaps] == [500_000]
