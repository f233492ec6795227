"""FlowRecordHold: TLS flows' records wait for their decrypted stream, others pass; bounded
by age and count. (End to end: the `alerted` checks in test_keylog_replay.py, test_live.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from dlp.cli import load_rules
from dlp.outputs.eve import EveWriter
from dlp.pipeline import Pipeline
from dlp.tls.records import FlowRecordHold

SECOND = 1_000_000


@dataclass
class FakeFlow:
    flow_id: int
    last: int = 0


class Written:
    """Stands in for the pipeline's flow logger: the flow ids it was given, in order."""

    def __init__(self):
        self.ids: list[int] = []

    def on_close(self, flow) -> None:
        self.ids.append(flow.flow_id)


def _hold(**kw):
    written = Written()
    return FlowRecordHold(written, **kw), written


def test_other_flows_pass_straight_through():
    hold, written = _hold()
    hold.on_close(FakeFlow(1))
    assert written.ids == [1] and not hold.held


def test_a_tls_flow_record_waits_for_its_decrypted_stream():
    hold, written = _hold()
    tls = FakeFlow(2)
    hold.expect(tls)
    hold.on_close(tls)
    assert written.ids == []
    tls.last = 5  # what the decrypted stream set meanwhile is in the record written later
    hold.release(tls)
    assert written.ids == [2] and not hold.held and not hold.expected


def test_a_stream_that_ended_before_the_flow_lets_the_record_through_at_close():
    hold, written = _hold()
    tls = FakeFlow(3)
    hold.expect(tls)
    hold.release(tls)
    assert written.ids == []
    hold.on_close(tls)
    assert written.ids == [3]


def test_stale_records_are_written_oldest_first():
    hold, written = _hold()
    flows = [FakeFlow(i, last=i * SECOND) for i in range(1, 5)]
    for flow in flows:
        hold.expect(flow)
        hold.on_close(flow)
    hold.release_stale(now_us=63 * SECOND, max_age_us=60 * SECOND)
    assert written.ids == [1, 2] and list(hold.held) == [3, 4]


def test_at_most_max_held_wait():
    hold, written = _hold(max_held=2)
    for i in range(5):
        hold.expect(FakeFlow(i))
        hold.on_close(FakeFlow(i))
    assert written.ids == [0, 1, 2] and list(hold.held) == [3, 4]


def test_release_all_writes_every_held_record_and_stops_holding():
    hold, written = _hold()
    for i in range(3):
        hold.expect(FakeFlow(i))
    hold.on_close(FakeFlow(0))
    hold.release_all()
    hold.on_close(FakeFlow(1))  # expected before, closed after the end: not held any more
    assert written.ids == [0, 1]


def test_install_takes_the_flow_loggers_place(tmp_path):
    pipeline = Pipeline(load_rules(None), EveWriter(str(tmp_path / "eve.json")))
    before = list(pipeline.engine.consumer.consumers)
    hold = FlowRecordHold.install(pipeline)
    after = pipeline.engine.consumer.consumers
    assert len(after) == len(before) and hold in after and hold.logger in before
    assert hold.logger not in after and [c for c in after if c is not hold] == [
        c for c in before if c is not hold.logger]
