"""The TCP state machine, step by step, through the flow engine."""

from __future__ import annotations

import pytest

from dlp.config import EngineConfig
from dlp.flow.engine import FlowEngine
from dlp.flow.tcp_state import Ev, State, event_for, invalid_flags, transition
from tests.helpers import ACK, FIN, PSH, RST, SYN, Recorder, seg

C, S = "10.0.0.1", "10.0.0.2"


def engine(**kw):
    rec = Recorder()
    return FlowEngine(EngineConfig(**kw), rec), rec


def only_flow(eng):
    (flow,) = eng.flows.values()
    return flow


def test_full_lifecycle_states():
    eng, rec = engine()
    steps = [
        (seg(C, 40000, S, 80, SYN, seq=100), State.SYN_SENT),
        (seg(S, 80, C, 40000, SYN | ACK, seq=500, ack=101), State.SYN_RECV),
        (seg(C, 40000, S, 80, ACK, seq=101, ack=501), State.ESTABLISHED),
        (seg(C, 40000, S, 80, ACK | PSH, seq=101, ack=501, payload=b"hello"), State.ESTABLISHED),
        (seg(S, 80, C, 40000, ACK | PSH, seq=501, ack=106, payload=b"world"), State.ESTABLISHED),
        (seg(C, 40000, S, 80, FIN | ACK, seq=106, ack=506), State.FIN_WAIT),
        (seg(S, 80, C, 40000, FIN | ACK, seq=506, ack=107), State.CLOSING),
        (seg(C, 40000, S, 80, ACK, seq=107, ack=507), State.CLOSED),
    ]
    for pkt, expected in steps:
        eng.process(pkt)
        assert only_flow(eng).state == expected, pkt
    flow = only_flow(eng)
    assert rec.stream(flow, 0) == b"hello" and rec.stream(flow, 1) == b"world"
    eng.shutdown()
    assert rec.closed[0].reason == "fin"


def test_client_and_server_roles_from_synack_first():
    eng, _ = engine()
    eng.process(seg(S, 80, C, 40000, SYN | ACK, seq=500, ack=101))
    flow = only_flow(eng)
    assert flow.state == State.SYN_RECV
    assert flow.cport == 40000 and flow.sport == 80


def test_midstream_pickup_and_disabled_midstream():
    eng, rec = engine()
    eng.process(seg(S, 80, C, 40000, ACK | PSH, seq=9000, ack=1, payload=b"HTTP/1.1 200 OK\r\n"))
    eng.shutdown()
    flow = rec.closed[0]
    assert flow.midstream and flow.cport == 40000  # the well-known port is the server's
    assert rec.stream(flow, 1) == b"HTTP/1.1 200 OK\r\n"
    eng, rec = engine(midstream=False)
    eng.process(seg(S, 80, C, 40000, ACK | PSH, seq=9000, ack=1, payload=b"data"))
    eng.shutdown()
    assert rec.streams == {} and rec.closed[0].state == State.NONE


def test_split_handshake_is_tracked():
    eng, rec = engine()
    for p in [seg(C, 1234, S, 80, SYN, seq=10), seg(S, 80, C, 1234, SYN, seq=50),
              seg(C, 1234, S, 80, SYN | ACK, seq=10, ack=51), seg(S, 80, C, 1234, ACK, seq=51, ack=11),
              seg(C, 1234, S, 80, ACK | PSH, seq=11, ack=51, payload=b"EVIL")]:
        eng.process(p)
    flow = only_flow(eng)
    assert flow.state == State.ESTABLISHED
    assert rec.stream(flow, 0) == b"EVIL"


def test_rst_out_of_window_is_ignored_in_window_closes():
    eng, _ = engine()
    for p in [seg(C, 1, S, 80, SYN, seq=0), seg(S, 80, C, 1, SYN | ACK, seq=1000, ack=1),
              seg(C, 1, S, 80, ACK, seq=1, ack=1001)]:
        eng.process(p)
    eng.process(seg(S, 80, C, 1, RST, seq=1001 + 5_000_000))
    flow = only_flow(eng)
    assert flow.state == State.ESTABLISHED
    assert flow.anomalies["tcp.rst_out_of_window"] == 1
    eng.process(seg(S, 80, C, 1, RST, seq=1001))
    assert flow.state == State.RESET


def test_rst_answering_syn_must_ack_it():
    eng, _ = engine()
    eng.process(seg(C, 1, S, 80, SYN, seq=100))
    eng.process(seg(S, 80, C, 1, RST | ACK, seq=0, ack=999))
    assert only_flow(eng).state == State.SYN_SENT
    eng.process(seg(S, 80, C, 1, RST | ACK, seq=0, ack=101))
    assert only_flow(eng).state == State.RESET


def test_forged_rst_with_bad_timestamp_echo_is_ignored():
    eng, rec = engine()
    eng.process(seg(C, 1, S, 80, SYN, seq=100, tsval=5000, tsecr=0))
    eng.process(seg(S, 80, C, 1, RST | ACK, seq=0, ack=101, tsval=100, tsecr=77))
    assert only_flow(eng).state == State.SYN_SENT
    assert only_flow(eng).anomalies["tcp.pkt_invalid_timestamp"] == 1


def test_port_reuse_new_syn_on_closed_tuple_is_new_connection():
    eng, rec = engine()
    for p in [seg(C, 5, S, 80, SYN, seq=1), seg(S, 80, C, 5, SYN | ACK, seq=9, ack=2),
              seg(C, 5, S, 80, ACK | PSH, seq=2, ack=10, payload=b"one"),
              seg(C, 5, S, 80, RST, seq=5)]:
        eng.process(p)
    first = only_flow(eng)
    eng.process(seg(C, 5, S, 80, SYN, seq=777))
    second = only_flow(eng)
    assert second is not first and rec.closed == [first] and first.reason == "rst"
    assert second.state == State.SYN_SENT


def test_retransmitted_syn_is_same_connection():
    eng, _ = engine()
    eng.process(seg(C, 5, S, 80, SYN, seq=1))
    eng.process(seg(C, 5, S, 80, SYN, seq=1))
    assert len(eng.flows) == 1 and eng.flows_total == 1


def test_asymmetric_client_only_flow_is_established():
    eng, rec = engine()
    eng.process(seg(C, 5, S, 80, SYN, seq=1))
    eng.process(seg(C, 5, S, 80, ACK, seq=2, ack=500))
    eng.process(seg(C, 5, S, 80, ACK | PSH, seq=2, ack=500, payload=b"GET /"))
    flow = only_flow(eng)
    assert flow.state == State.ESTABLISHED and rec.stream(flow, 0) == b"GET /"


@pytest.mark.parametrize("flags,name", [(0, "tcp.null_scan"), (FIN | PSH | 0x20, "tcp.xmas_scan"),
                                        (SYN | FIN, "tcp.syn_fin"), (SYN | RST, "tcp.syn_rst")])
def test_invalid_flag_combinations_are_named(flags, name):
    assert invalid_flags(flags) == name


def test_table_has_no_transition_out_of_nothing_for_rst_but_reset():
    assert transition(State.NONE, Ev.RST_C) == State.RESET
    assert transition(State.SYN_SENT, Ev.FIN_S) is None  # impossible: an anomaly
    assert event_for(SYN | ACK, from_client=False) == Ev.SYNACK_S


def test_timeouts_per_state_class():
    eng, rec = engine()
    eng.process(seg(C, 5, S, 80, SYN, seq=1, ts=0))  # tcp_new: 60 s
    eng.process(seg(C, 6, S, 80, ACK | PSH, seq=1, ack=1, payload=b"x", ts=0))  # established: 600 s
    eng.expire(61 * 1_000_000)
    assert [f.cport for f in rec.closed] == [5] and rec.closed[0].reason == "timeout"
    eng.expire(601 * 1_000_000)
    assert [f.cport for f in rec.closed] == [5, 6]


def test_max_flows_evicts_oldest():
    eng, rec = engine(max_flows=3)
    for i in range(5):
        eng.process(seg(C, 1000 + i, S, 80, SYN, seq=1, ts=i))
    assert len(eng.flows) == 3
    assert [f.cport for f in rec.closed] == [1000, 1001]
    assert all(f.reason == "evicted" for f in rec.closed)


def test_stream_memcap_releases_buffers_as_gaps():
    eng, rec = engine(stream_memcap=10_000, overlap_history=0)
    for i in range(4):
        eng.process(seg(C, 2000 + i, S, 80, SYN, seq=0, ts=i))
        eng.process(seg(C, 2000 + i, S, 80, ACK, seq=1 + 100, ack=1, payload=b"z" * 4000, ts=i))
    assert eng.mem.used <= 10_000
    assert eng.events["tcp.memcap_release"] >= 1
    assert rec.gaps  # the hole before the released data was declared


def test_vlan_is_part_of_the_key_unless_disabled():
    eng, _ = engine()
    eng.process(seg(C, 5, S, 80, SYN, seq=1, vlan=(10,)))
    eng.process(seg(S, 80, C, 5, SYN | ACK, seq=1, ack=2))
    assert len(eng.flows) == 2
    eng, _ = engine(vlan_tracking=False)
    eng.process(seg(C, 5, S, 80, SYN, seq=1, vlan=(10,)))
    eng.process(seg(S, 80, C, 5, SYN | ACK, seq=1, ack=2))
    assert len(eng.flows) == 1
