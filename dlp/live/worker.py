"""One worker process: its share of the interface's flows (fanout) -> Pipeline -> EVE lines
sent to the supervisor, which alone writes the outputs.

Signals: SIGHUP asks the pipeline to reload the rules between batches (a bad file is
rejected, the old rules stay); SIGTERM ends the loop, flushes every open flow
(Pipeline.finish) and the pending lines, and exits 0. An exception while handling a packet
is logged with the packet's flow and counted, and the worker goes on with the next packet.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from dataclasses import dataclass

import structlog

from dlp.decode.decoder import Decoder
from dlp.decode.packet import ip_text
from dlp.live.capture import RecvCapture, RingCapture
from dlp.live.ebpf import BypassUnavailable, KernelBypass
from dlp.live.offload import KernelOffload
from dlp.outputs.eve import EveWriter, encode_line
from dlp.pipeline import Pipeline

log = structlog.get_logger("dlp.live.worker")

EXIT_OK, EXIT_OUTPUT_GONE = 0, 4
POLL_MS = 100


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to start; built by the supervisor from the validated config."""

    index: int
    interface: str
    reader: type  # capture.RingCapture or RecvCapture
    reader_options: dict
    rules_path: str
    stats_interval: float
    # builds the worker's pipeline from (ruleset, eve_writer); None = Pipeline. The hook for
    # pipelines that add to it (e.g. dlp.tls.live_pipeline.LiveKeylogPipeline for --keylog)
    pipeline_factory: object = None
    # size of the kernel's table of bypassed flows (dlp/live/ebpf.py); 0 = no kernel bypass
    kernel_bypass_flows: int = 0


class ChannelWriter(EveWriter):
    """An EveWriter whose lines go down the socket to the supervisor. Lines are sent whole
    (sendall of complete lines), alerts at once, other events at the end of each batch."""

    def __init__(self, sock: socket.socket, decorate_stats):
        super().__init__(None)
        self.sock = sock
        self.pending: list[str] = []
        self.decorate_stats = decorate_stats

    def write(self, event: dict, flush: bool = False) -> None:
        kind = event["event_type"]
        if kind == "stats":
            self.decorate_stats(event)
        self.pending.append(encode_line(event) + "\n")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if flush or len(self.pending) >= 256:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            data, self.pending = "".join(self.pending).encode(), []
            self.sock.sendall(data)

    def close(self) -> None:
        self.flush()


class Worker:
    def __init__(self, spec: WorkerSpec, ruleset, sock: socket.socket):
        self.spec = spec
        self.stop = False
        self.packet_errors = 0
        self.bypass_table = _bypass_table(spec, ruleset.engine.vlan_tracking)
        options = dict(spec.reader_options)
        if self.bypass_table is not None:
            options["kernel_bypass"] = self.bypass_table
        self.capture = spec.reader(spec.interface, **options)
        self.writer = ChannelWriter(sock, self._decorate_stats)
        self.pipeline = (spec.pipeline_factory or Pipeline)(ruleset, self.writer)
        self.offload = None
        if self.bypass_table is not None:
            self.offload = KernelOffload(self.bypass_table)
            self.pipeline.engine.set_offload(self.offload)
        self.describe = Decoder()  # names the flow of a packet whose handling failed

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides
        signal.signal(signal.SIGHUP, lambda *_: self.pipeline.request_reload(self.spec.rules_path))
        next_stats = time.monotonic() + self.spec.stats_interval
        while not self.stop:
            batch = self.capture.batch(POLL_MS)
            if batch:
                self.feed(batch)
            if time.monotonic() >= next_stats:
                next_stats += self.spec.stats_interval
                self.pipeline.advance_clock(time.time_ns() // 1000)
                if self.offload is not None:
                    self.offload.sync_all()
                self.pipeline.write_stats(self.pipeline.engine.now)
            elif not batch:
                self.pipeline.advance_clock(time.time_ns() // 1000)
                self.pipeline.feed(())  # applies a pending reload on a quiet link
            self.writer.flush()
        self.pipeline.finish()  # open flows flushed as flow events, and a last stats event
        self.writer.close()
        self.capture.close()
        if self.bypass_table is not None:
            self.bypass_table.close()
        return EXIT_OK

    def _on_term(self, *_):
        self.stop = True

    def feed(self, batch: list) -> None:
        records = iter(batch)
        before = self.pipeline.summary.packets
        while True:
            try:
                self.pipeline.feed(records, packet_time_stats=False)
                return
            except Exception as exc:  # noqa: BLE001 - one packet must not stop the daemon
                self.packet_errors += 1
                failed = batch[self.pipeline.summary.packets - before - 1]
                log.error("packet_handling_failed", worker=self.spec.index, error=repr(exc),
                          flow=self._flow_of(failed), exc_info=True)

    def _flow_of(self, record) -> str:
        pkt = self.describe.decode(record[1], record[2], record[3], record[0])
        if pkt is None:
            return "undecodable"
        return f"{pkt.proto} {ip_text(pkt.src)}:{pkt.sport} -> {ip_text(pkt.dst)}:{pkt.dport}"

    def _decorate_stats(self, event: dict) -> None:
        """Suricata's `capture` section (kernel counters of this worker's socket) and ours."""
        packets, drops = self.capture.kernel_stats()
        event["stats"]["capture"] = {"kernel_packets": packets, "kernel_drops": drops}
        if self.offload is not None:  # Suricata's capture.bypassed: dropped for us, by design
            event["stats"]["capture"]["kernel_bypassed"] = self.offload.dropped_packets
            event["stats"]["capture"]["kernel_bypassed_bytes"] = self.offload.dropped_bytes
            event["stats"]["capture"]["offloaded_flows"] = len(self.offload)
        event["dlp"].update({"worker": self.spec.index, "interface": self.spec.interface,
                             "pid": os.getpid(), "rss_bytes": _rss_bytes(),
                             "packet_errors": self.packet_errors,
                             "rules": self.pipeline.ruleset.path,
                             "rules_reloads": self.pipeline.reloads})


def _bypass_table(spec: WorkerSpec, vlan_tracking: bool):
    """The kernel's bypass table for this worker's socket, or None: not asked for, not a
    packet socket reader, or the kernel refused the program (then user-space bypass only).
    Keyed by VLAN as the engine's flows are."""
    if not spec.kernel_bypass_flows or spec.reader not in (RingCapture, RecvCapture):
        return None
    try:
        return KernelBypass(spec.kernel_bypass_flows, user_filter=spec.reader_options.get("bpf"),
                            vlan_in_key=vlan_tracking)
    except BypassUnavailable as exc:
        log.warning("kernel_bypass_unavailable", worker=spec.index, reason=str(exc),
                    detail="bypassed flows' packets still reach the worker")
        return None


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker_main(spec: WorkerSpec, ruleset, sock: socket.socket) -> int:
    """Entry point in the forked child; returns the exit code."""
    try:
        return Worker(spec, ruleset, sock).run()
    except (BrokenPipeError, ConnectionResetError):
        return EXIT_OUTPUT_GONE  # the supervisor is gone: nobody to write to
