"""The replay pipeline: capture -> decode -> flows/streams -> detection -> outputs."""

from __future__ import annotations

import gc
import time
from collections import Counter
from dataclasses import dataclass, field

import structlog

from dlp.app.dispatch import DetectionDispatcher
from dlp.capture.pcapfile import CaptureFile
from dlp.decode.decoder import Decoder
from dlp.flow.engine import FlowEngine
from dlp.outputs import eve
from dlp.outputs.streams import StreamWriter
from dlp import rules
from dlp.errors import ConfigError
from dlp.rules import RuleSet
from dlp.stream.consumer import FanOut, NullConsumer

log = structlog.get_logger("dlp.pipeline")


@dataclass
class Summary:
    files: int = 0
    packets: int = 0
    bytes: int = 0
    flows: int = 0
    gaps: int = 0
    decode_errors: Counter = field(default_factory=Counter)
    not_inspected: Counter = field(default_factory=Counter)
    anomalies: Counter = field(default_factory=Counter)
    alerts: Counter = field(default_factory=Counter)  # by detector
    rule_hits: Counter = field(default_factory=Counter)  # (detector, rule) -> hits
    capture_problems: list = field(default_factory=list)
    flows_closed: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    capture_bytes: int = 0


# The engine keeps many long-lived objects per flow; the default collector thresholds make
# Python rescan them all the time. Fewer, larger generation-0 sweeps cost far less.
GC_THRESHOLDS = (100_000, 50, 100)


class Pipeline:
    """Everything after the capture: one instance per replay or live worker."""

    def __init__(self, ruleset: RuleSet, eve_writer: eve.EveWriter, streams_dir: str | None = None):
        gc.set_threshold(*GC_THRESHOLDS)
        self.ruleset = ruleset
        self.eve = eve_writer
        self.decoder = Decoder()
        self.summary = Summary()
        self.dispatcher = DetectionDispatcher(ruleset.build_detectors(), self._alert,
                                              on_unscanned=self._unscanned)
        consumers = [self.dispatcher, _FlowLogger(eve_writer)]
        self.streams = StreamWriter(streams_dir) if streams_dir else None
        if self.streams:
            consumers.insert(0, self.streams)
        self.engine = FlowEngine(ruleset.engine, FanOut(consumers))
        # (flow) -> bool: something besides detection still needs this flow's packets, so it
        # is not bypassed (e.g. the key log's tshark, every TLS packet)
        self.keeps_packets: list = []
        if self.streams is None:  # stream files want every byte; detection alone may stop early
            self.dispatcher.request_bypass = self._request_bypass
        self._next_stats = None
        self.reload_requested: str | None = None  # a rules path, set by SIGHUP
        self.reloads = 0

    def _request_bypass(self, flow) -> None:
        """Detection wants no more of this flow: bypass it, unless a keeper needs its packets."""
        if not any(keeps(flow) for keeps in self.keeps_packets):
            self.engine.request_bypass(flow)

    def add_consumer(self, consumer) -> None:
        """Another listener of the flow engine, after the built-in ones (call before any
        packet is fed)."""
        self.engine.set_consumer(FanOut([*self.engine.consumer.consumers, consumer]))

    def request_reload(self, path: str) -> None:
        """Safe from a signal handler: the reload happens between packets."""
        self.reload_requested = path

    def _reload(self) -> None:
        """Swap in the rules file's detectors; flows and their state are kept. A bad file is
        rejected loudly and the running rules stay."""
        path, self.reload_requested = self.reload_requested, None
        try:
            new = rules.load(path)
            detectors = new.build_detectors()
        except ConfigError as exc:
            log.error("rules_reload_rejected", file=path, error=str(exc), kept=self.ruleset.path)
            return
        if new.engine != self.ruleset.engine:
            log.warning("rules_reload_engine_ignored", file=path,
                        detail="engine settings apply at start; restart to change them")
        self.dispatcher.set_detectors(detectors)
        self.ruleset = RuleSet(new.path, new.detectors, self.ruleset.engine)
        self.reloads += 1
        log.warning("rules_reloaded", file=path, detectors=[d.name for d in new.detectors])

    def _alert(self, flow, finding, item) -> None:
        flow.alerted = True
        self.summary.alerts[finding.detector] += 1
        self.eve.write(eve.alert_event(flow, finding, item.ts, item), flush=True)

    def _unscanned(self, flow, tx, limits: list[str]) -> None:
        """A body limit left part of a transaction uninspected: an EVE anomaly event (as
        Suricata's app-layer anomalies) naming the flow, the transaction and the limits."""
        self.eve.write(eve.anomaly_event(flow, tx, limits), flush=True)

    def replay_file(self, path: str, progress=None) -> None:
        """Feed one capture file through. Raises CaptureError if it cannot be read at all."""
        with CaptureFile(path) as cap:
            self.summary.files += 1
            self.summary.capture_bytes += cap.size
            report = (lambda: progress.update(cap.position, cap.size)) if progress else None
            self.feed(cap, housekeeping=report)
            if cap.status.truncated:
                self.summary.capture_problems.append(f"{path}: {cap.status.truncated}")
                log.warning("capture_truncated", file=path, detail=cap.status.truncated)

    def feed(self, records, housekeeping=None, packet_time_stats: bool = True) -> None:
        """Run (ts_us, linktype, frame, wirelen) records from any packet source (a capture
        file, a live ring) through decode -> flows -> detection. Stats events follow packet
        time unless `packet_time_stats` is off (a live worker writes them on the wall clock).
        An exception from one packet propagates with the counts of the packets before it
        kept; given an iterator, the caller can call feed again to go on after it."""
        summary = self.summary
        decode = self.decoder.decode
        process = self.engine.process
        interval = self.ruleset.engine.stats_interval * 1_000_000
        packets = nbytes = 0
        next_stats = self._next_stats if packet_time_stats else float("inf")
        try:
            for ts, linktype, frame, wirelen in records:
                packets += 1
                nbytes += wirelen
                pkt = decode(linktype, frame, wirelen, ts)
                if pkt is not None:
                    process(pkt)
                if next_stats is None:
                    next_stats = ts + interval
                elif ts >= next_stats:
                    next_stats = ts + interval
                    summary.packets += packets
                    summary.bytes += nbytes
                    packets = nbytes = 0
                    self.write_stats(ts)
                if not packets & 0x3FFF:  # every 16384 packets: housekeeping
                    if housekeeping is not None:
                        housekeeping()
                    if self.reload_requested is not None:
                        self._reload()
        finally:
            if packet_time_stats:
                self._next_stats = next_stats
            summary.packets += packets
            summary.bytes += nbytes
        if self.reload_requested is not None:  # between files and batches too
            self._reload()

    def advance_clock(self, now_us: int) -> None:
        """Live capture on a quiet link: time passes without packets, so idle flows still
        time out (replay time only moves with packets)."""
        if now_us > self.engine.now:
            self.engine.now = now_us
            self.engine.expire(now_us)

    def finish(self) -> Summary:
        self.engine.shutdown()
        self.write_stats(self.engine.now)
        if self.streams:
            self.streams.close()
        s = self.summary
        s.flows = self.engine.flows_total
        s.flows_closed = self.engine.flows_closed
        s.gaps = self.engine.events["tcp.reassembly_gap"]
        s.decode_errors = self.decoder.errors
        s.not_inspected = self.decoder.skipped
        s.anomalies = self.engine.events + self.decoder.events
        s.rule_hits = self.dispatcher.hits
        return s

    def write_stats(self, ts: int) -> None:
        e = self.engine
        d = self.decoder
        stats = {
            "decoder": {"pkts": self.summary.packets, "bytes": self.summary.bytes,
                        "invalid": sum(d.errors.values()),
                        "event": {k.replace(".", "_"): v for k, v in sorted(d.errors.items())}},
            "flow": {"total": e.flows_total, "active": len(e.flows),
                     "memuse": e.mem.used},
            "tcp": {"reassembly_gap": e.events["tcp.reassembly_gap"],
                    "overlap_diff_data": e.events["tcp.overlap_different_data"],
                    "reassembly_memuse": e.mem.used},
            "detect": {"alert": sum(self.summary.alerts.values())},
        }
        ours = {"anomalies": dict(sorted((e.events + d.events + self.dispatcher.events).items())),
                "not_inspected": dict(sorted(d.skipped.items())),
                "flows_closed": dict(sorted(e.flows_closed.items())),
                "detector_errors": dict(self.dispatcher.errors),
                "stream_memory_peak": e.mem.peak}
        self.eve.write({"timestamp": eve.timestamp(ts), "event_type": "stats",
                        "stats": stats, "dlp": ours}, flush=True)


class _FlowLogger(NullConsumer):
    """Writes a flow record when a flow ends."""

    def __init__(self, writer: eve.EveWriter):
        self.writer = writer

    def on_close(self, flow) -> None:
        self.writer.write(eve.flow_event(flow))


def replay(paths: list[str], ruleset: RuleSet, eve_writer: eve.EveWriter,
           streams_dir: str | None = None, progress=None) -> Summary:
    pipeline = Pipeline(ruleset, eve_writer, streams_dir)
    started = time.perf_counter()
    for path in paths:
        pipeline.replay_file(path, progress)
    summary = pipeline.finish()
    summary.seconds = time.perf_counter() - started
    return summary
