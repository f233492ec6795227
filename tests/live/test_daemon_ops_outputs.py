"""Several EVE destinations at once (dlp/live/outputs.py): each gets the event types it asks
for, every line is on every destination before it is counted, and a destination that fails
leaves the batch uncounted with the OSError for the supervisor to make loud."""

from __future__ import annotations

import json
import os
import sys

import pytest

from dlp.daemon_config import EveOutput, Outputs
from dlp.live.outputs import OutputSet
from dlp.outputs.metrics import Metrics
from dlp.outputs.rotating import RotatingFile

STATS = {"timestamp": "2026-11-27T09:00:00.000000+0000", "event_type": "stats",
         "stats": {"decoder": {"pkts": 10}, "flow": {"active": 1}}, "dlp": {"worker": 0, "interface": "eth1"}}
ALERT = {"timestamp": "2026-11-27T09:00:01.000000+0000", "event_type": "alert", "alert": {"severity": 2}}
FLOW = {"timestamp": "2026-11-27T09:00:02.000000+0000", "event_type": "flow", "flow": {"pkts_toserver": 3}}
DIED = {"timestamp": "2026-11-27T09:00:03.000000+0000", "event_type": "dlp_worker", "dlp_worker": {"worker": 0}}


def _line(event) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


BATCH = [_line(e) for e in (STATS, ALERT, FLOW, DIED)]


def _outputs(*eve: EveOutput, metrics: Metrics | None = None) -> OutputSet:
    return OutputSet(Outputs(eve=eve, syslog=None, metrics=None), metrics or Metrics())


def test_a_file_takes_everything_and_stdout_only_the_types_it_asks_for(tmp_path, monkeypatch):
    read_end, write_end = os.pipe()
    pipe = os.fdopen(write_end, "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", pipe)  # "-" is whatever stdout is when the outputs open
    outputs = _outputs(EveOutput(str(tmp_path / "all.json")), EveOutput("-", types=("alert", "dlp_worker")),
                       EveOutput(str(tmp_path / "flows.json"), types=("flow",)))
    outputs.write_lines(BATCH)
    outputs.close()  # flushes stdout but leaves it open: it is not ours
    pipe.close()
    with os.fdopen(read_end, "rb") as fh:
        assert fh.read() == BATCH[1] + b"\n" + BATCH[3] + b"\n"
    assert (tmp_path / "all.json").read_bytes() == b"".join(line + b"\n" for line in BATCH)
    assert (tmp_path / "flows.json").read_bytes() == BATCH[2] + b"\n"
    text = outputs.metrics.render()
    for kind in ("stats", "alert", "flow", "dlp_worker"):  # once per line, not per destination
        assert f'dlp_events_written_total{{event_type="{kind}"}} 1\n' in text


def test_lines_are_counted_only_after_every_destination_was_flushed(tmp_path):
    metrics = Metrics()
    outputs = _outputs(EveOutput(str(tmp_path / "a.json")), EveOutput(str(tmp_path / "b.json")), metrics=metrics)
    seen_at_flush = []
    for dest in outputs.eve:
        flush = dest.file.flush

        def observed(flush=flush, path=dest.file.path):
            seen_at_flush.append((os.path.basename(path), sum(metrics.events_written.values()),
                                  len(metrics.worker_stats)))
            flush()
        dest.file.flush = observed
    outputs.write_lines(BATCH)
    assert seen_at_flush == [("a.json", 0, 0), ("b.json", 0, 0)]  # nothing counted, no stats fed yet
    assert sum(metrics.events_written.values()) == 4 and len(metrics.worker_stats) == 1
    outputs.close()


def test_a_failing_destination_raises_and_leaves_the_batch_uncounted(tmp_path):
    metrics = Metrics()
    outputs = _outputs(EveOutput(str(tmp_path / "a.json")), EveOutput("/dev/full"), metrics=metrics)
    with pytest.raises(OSError) as err:
        outputs.write_lines(BATCH)
    assert "No space left" in str(err.value)
    assert not metrics.events_written and not metrics.worker_stats
    assert (tmp_path / "a.json").read_bytes().count(b"\n") == 4  # the good one still has the lines


def test_a_destination_that_cannot_open_closes_the_ones_opened_before(tmp_path, monkeypatch):
    closed = []
    real_close = RotatingFile.close
    monkeypatch.setattr(RotatingFile, "close", lambda self: closed.append(self.path) or real_close(self))
    with pytest.raises(FileNotFoundError):
        _outputs(EveOutput(str(tmp_path / "a.json")), EveOutput(str(tmp_path / "no-such-dir" / "b.json")))
    assert closed == [str(tmp_path / "a.json")]
