"""The supervisor takes whole lines from each worker's byte stream: however the stream is
cut into reads, the same lines come out, none split, none merged (hypothesis)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from dlp.live.supervisor import LineSplitter

line = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))


@given(st.lists(line, max_size=30), line, st.lists(st.integers(min_value=0, max_value=120), max_size=40))
def test_any_cut_gives_back_the_lines(lines, tail, cuts):
    stream = b"".join(x + b"\n" for x in lines) + tail  # `tail`: a line still being written
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    splitter, out = LineSplitter(), []
    for a, b in zip(points, points[1:]):
        out += splitter.feed(stream[a:b])
    assert out == lines and splitter.pending == tail


def test_empty_reads_and_empty_lines():
    s = LineSplitter()
    assert s.feed(b"") == [] and s.feed(b"\n\n") == [b"", b""] and s.feed(b"ab") == []
    assert s.feed(b"c\nd") == [b"abc"] and s.pending == b"d"
