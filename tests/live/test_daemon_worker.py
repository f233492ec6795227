"""A worker run in-process on a capture file instead of an interface (the capture reader is
a parameter of WorkerSpec): exceptions in packet handling are counted and the worker goes
on; SIGHUP reloads (a bad file is kept out); SIGTERM flushes open flows and ends with 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading

import pytest

from dlp.capture.pcapfile import CaptureFile
from dlp.cli import load_rules
from dlp.live.worker import EXIT_OK, Worker, WorkerSpec
from dlp.pipeline import Pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARDS = os.path.join(ROOT, "pcaps", "http", "json-cards-upload.pcap")


class FileReader:
    """Stands in for RingCapture: the capture's records in batches of 4, then SIGTERM to
    this process, as the supervisor would send."""

    def __init__(self, interface: str, path: str, on_empty=None):
        with CaptureFile(path) as cap:
            records = list(cap)
        self.batches = [records[i:i + 4] for i in range(0, len(records), 4)]
        self.total = len(records)
        self.on_empty = on_empty or (lambda: os.kill(os.getpid(), signal.SIGTERM))

    def batch(self, timeout_ms: int) -> list:
        if self.batches:
            return self.batches.pop(0)
        self.on_empty()
        return []

    def kernel_stats(self):
        return self.total, 0

    def close(self):
        pass


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _run(worker: Worker, theirs: socket.socket) -> tuple[int, list[dict]]:
    received = bytearray()
    reader = threading.Thread(target=lambda: [received.extend(c) for c in iter(lambda: theirs.recv(65536), b"")])
    reader.start()
    code = worker.run()
    worker.writer.sock.close()
    reader.join(timeout=10)
    return code, [json.loads(line) for line in received.decode().splitlines()]


def _worker(rules_path=None, pipeline_factory=None, **reader_options):
    ours, theirs = socket.socketpair()
    spec = WorkerSpec(0, "test0", FileReader, {"path": CARDS, **reader_options},
                      rules_path or os.path.join(ROOT, "rules", "default.yaml"), 3600.0, pipeline_factory)
    return Worker(spec, load_rules(rules_path), ours), theirs


def test_exception_in_packet_handling_is_counted_and_the_worker_goes_on(restore_signals):
    worker, theirs = _worker()
    real = worker.pipeline.engine.process
    seen = []

    def flaky(pkt):
        seen.append(pkt)
        if len(seen) == 3:  # the client's ACK ending the handshake
            raise RuntimeError("injected fault")
        real(pkt)

    worker.pipeline.engine.process = flaky
    code, events = _run(worker, theirs)
    assert code == EXIT_OK
    total = worker.capture.total
    stats = [e for e in events if e["event_type"] == "stats"][-1]
    assert stats["dlp"]["packet_errors"] == 1 and worker.packet_errors == 1
    assert stats["stats"]["decoder"]["pkts"] == total and len(seen) == total  # every packet after it too
    assert stats["stats"]["capture"] == {"kernel_packets": total, "kernel_drops": 0}
    alerts = [e for e in events if e["event_type"] == "alert"]
    assert [a["alert"]["detector"] for a in alerts] == ["pan"]  # the upload after the fault
    flows = [e for e in events if e["event_type"] == "flow"]
    assert len(flows) == 1 and flows[0]["flow"]["alerted"]  # flushed by SIGTERM's finish


def test_sighup_with_a_bad_file_keeps_the_rules_then_a_good_file_is_taken(restore_signals, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(open(os.path.join(ROOT, "rules", "default.yaml")).read())
    steps = iter([
        lambda: (rules.write_text("version: 1\ndetectors: [oops]\n"), os.kill(os.getpid(), signal.SIGHUP)),
        lambda: (rules.write_text("version: 1\ndetectors:\n  pan: {enabled: false}\n"),
                 os.kill(os.getpid(), signal.SIGHUP)),
        lambda: os.kill(os.getpid(), signal.SIGTERM),
    ])
    worker, theirs = _worker(str(rules), on_empty=lambda: next(steps, lambda: None)())
    code, events = _run(worker, theirs)
    assert code == EXIT_OK
    assert worker.pipeline.reloads == 1  # the bad file was rejected, the good one taken
    assert [d.name for d in worker.pipeline.ruleset.detectors] == []
    assert [e["alert"]["detector"] for e in events if e["event_type"] == "alert"] == ["pan"]


def test_a_pipeline_factory_builds_the_workers_pipeline(restore_signals):
    class Counting(Pipeline):
        def feed(self, records, housekeeping=None, packet_time_stats=True):
            self.batches = getattr(self, "batches", 0) + 1
            super().feed(records, housekeeping, packet_time_stats)

    worker, theirs = _worker(pipeline_factory=Counting)
    code, events = _run(worker, theirs)
    assert code == EXIT_OK and isinstance(worker.pipeline, Counting)
    assert worker.pipeline.batches >= worker.capture.total // 4
    assert [e["alert"]["detector"] for e in events if e["event_type"] == "alert"] == ["pan"]
