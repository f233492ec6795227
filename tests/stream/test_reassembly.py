"""Reassembly: any segmentation, order, duplication and overlapping retransmission of a
stream gives back exactly the original bytes; holes become gaps of the right size."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dlp.stream.reassembly import Memory, Reassembler


class Sink:
    def __init__(self):
        self.out = bytearray()
        self.gaps: list[int] = []
        self.events: list[str] = []

    def stream_data(self, data: bytes) -> None:
        self.out += data

    def stream_gap(self, length: int) -> None:
        self.gaps.append(length)
        self.out += b"?" * length  # mark where bytes are missing, for comparison

    def stream_event(self, name: str) -> None:
        self.events.append(name)


def make(depth=1 << 20, history=1 << 16):
    sink = Sink()
    mem = Memory(1 << 30)
    return Reassembler(sink, mem, depth, history), sink, mem


def segments(data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [(a, data[a:b]) for a, b in zip(points, points[1:]) if b > a]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 10**6), max_size=40),
       seed=st.integers(0, 2**32 - 1), isn=st.integers(0, 2**32 - 1),
       dup=st.floats(0, 1), overlap=st.floats(0, 1))
def test_any_segmentation_order_duplication_gives_original(data, cuts, seed, isn, dup, overlap):
    rng = random.Random(seed)
    segs = segments(data, cuts)
    wire = list(segs)
    for off, seg in segs:  # SPAN duplicates and retransmissions (same bytes)
        if rng.random() < dup:
            wire.append((off, seg))
    for _ in range(int(overlap * 5)):  # overlapping retransmissions spanning segments
        a = rng.randrange(len(data))
        b = rng.randrange(a + 1, len(data) + 1)
        wire.append((a, data[a:b]))
    rng.shuffle(wire)
    r, sink, mem = make()
    r.anchor_syn(isn)
    for off, seg in wire:
        r.add((isn + 1 + off) & 0xFFFFFFFF, seg)
    r.finish()
    assert bytes(sink.out) == data
    assert sink.gaps == []
    assert "overlap_different_data" not in sink.events
    assert mem.used == 0  # nothing left buffered


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=10, max_size=2000), cuts=st.lists(st.integers(0, 10**6), min_size=2, max_size=30),
       drop=st.integers(0, 100), seed=st.integers(0, 1000))
def test_dropped_segment_becomes_gap_of_its_size(data, cuts, drop, seed):
    segs = segments(data, cuts)
    idx = drop % len(segs)
    lost_off, lost = segs[idx]
    wire = segs[:idx] + segs[idx + 1 :]
    random.Random(seed).shuffle(wire)
    r, sink, _ = make()
    r.anchor_syn(1000)
    for off, seg in wire:
        r.add(1001 + off, seg)
    r.fin(1001 + len(data), 0)
    r.finish()
    expected = data[:lost_off] + b"?" * len(lost) + data[lost_off + len(lost):]
    assert bytes(sink.out) == expected
    assert sum(sink.gaps) == len(lost)


def test_sequence_wraparound_is_invisible():
    data = bytes(range(256)) * 40
    r, sink, _ = make()
    isn = 0xFFFFFFFF - 3000
    r.anchor_syn(isn)
    for off in range(0, len(data), 1000):
        r.add((isn + 1 + off) & 0xFFFFFFFF, data[off : off + 1000])
    assert bytes(sink.out) == data


def test_first_data_wins_and_different_overlap_is_an_event():
    r, sink, _ = make()
    r.anchor_syn(0)
    r.add(1, b"GOOD")
    r.add(1, b"EVIL")
    r.add(2, b"XXX")
    assert bytes(sink.out) == b"GOOD"
    assert sink.events.count("overlap_different_data") == 2


def test_pending_overlap_first_wins():
    r, sink, _ = make()
    r.anchor_syn(0)
    r.add(5, b"WORLD")  # ahead of a hole
    r.add(5, b"EVILS")  # differing overlap while still pending
    r.add(1, b"HELL")
    assert bytes(sink.out) == b"HELLWORLD"
    assert "overlap_different_data" in sink.events


def test_keepalive_probe_is_not_data():
    r, sink, _ = make()
    r.anchor_syn(0)
    r.add(1, b"abc")
    r.add(3, b"x")  # seq = next - 1 with one garbage byte
    assert bytes(sink.out) == b"abc"
    assert "keepalive" in sink.events


def test_snaplen_cut_is_missing_data_not_data():
    r, sink, _ = make()
    r.anchor_syn(0)
    r.add(1, b"abcd", missing=6)
    r.add(11, b"tail")
    assert bytes(sink.out) == b"abcd??????tail"
    assert sink.gaps == [6]


def test_ack_past_a_hole_declares_the_gap_after_confirmation():
    r, sink, _ = make()
    r.anchor_syn(0)
    r.add(1, b"VERY")
    r.add(9, b"DATA")
    r.acked(13)
    r.acked(13)
    assert bytes(sink.out) == b"VERY"  # SPAN reordering: wait for more evidence
    r.acked(13)
    assert bytes(sink.out) == b"VERY????DATA"


def test_depth_limit_turns_hole_into_gap_and_bounds_memory():
    r, sink, mem = make(depth=1000)
    r.anchor_syn(0)
    for i in range(5):
        r.add(101 + i * 300, b"z" * 300)  # first 100 bytes never arrive
    assert sink.gaps == [100]
    assert mem.used <= 1000 + (1 << 16)


def test_midstream_start_anchors_at_earliest_segment():
    r, sink, _ = make()
    r.add(5000, b"later")  # seen first
    r.add(4995, b"early")
    r.finish()
    assert bytes(sink.out) == b"earlylater"


def test_history_is_trimmed_by_acks():
    r, _sink, mem = make()
    r.anchor_syn(0)
    r.add(1, b"a" * 1000)
    assert mem.used == 1000
    r.acked(1001)
    assert mem.used == 0


def test_urgent_byte_out_of_band_under_oob_policy():
    for oob, expected in ((True, b"GET /malicious HTTP"), (False, b"GET /maliXcious HTTP")):
        sink = Sink()
        r = Reassembler(sink, Memory(1 << 30), 1 << 20, 1 << 16, urgent_oob=oob)
        r.anchor_syn(0)
        r.add(1, b"GET /mal")
        r.urgent(9, 2)  # urgent pointer 2 on the segment at seq 9: the byte at seq 10 is urgent
        r.add(9, b"iXcious")
        r.add(16, b" HTTP")
        assert bytes(sink.out) == expected
