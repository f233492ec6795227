"""The supervisor: starts the workers (forked, one socketpair each), is the single writer of
their EVE lines, restarts a worker that dies, and turns signals into worker actions.

* Lines are taken whole from each worker's stream (a partial line waits for its end), so
  outputs never hold interleaved fragments; each batch is written and flushed before counted.
* SIGHUP: the rules file is checked here too (a good one is used for workers started later)
  and forwarded; each worker swaps its detectors between packets or keeps the old ones.
* SIGTERM/SIGINT: forwarded; workers flush their open flows and pending lines, the
  supervisor writes everything they send until each has exited, then exits 0.
* A dead worker is restarted and counted (dlp_worker_restarts_total), after a pause that
  grows with each quick death; when workers keep dying (MAX_QUICK_DEATHS within
  QUICK_DEATH_WINDOW s, e.g. the interface is gone) the daemon ends with EXIT_CRASH_LOOP.
  Its counters are carried over to its successor in the metrics (Metrics.retire), so
  totals never go down.
* A worker that died abnormally (a signal, a non-zero exit) took its open flows with it: no
  flow records, no detection of their pending data. That is said in a `dlp_worker` EVE
  event (`worker_died_event`) and counted (dlp_worker_lost_flows_total), as of the worker's
  last stats event.
* An output that fails (full disk, unwritable file, collector gone) is logged, the workers
  are stopped and the daemon exits EXIT_OUTPUT_FAILED: never a silent drop.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time

import structlog

from dlp import rules as rules_mod
from dlp.errors import ConfigError
from dlp.live.outputs import OutputSet
from dlp.live.worker import WorkerSpec, worker_main
from dlp.outputs.eve import encode_line, timestamp
from dlp.outputs.metrics import Metrics, MetricsServer

log = structlog.get_logger("dlp.live.supervisor")

EXIT_OK, EXIT_WORKER_FAILED, EXIT_OUTPUT_FAILED, EXIT_CRASH_LOOP = 0, 1, 3, 5
MAX_QUICK_DEATHS, QUICK_DEATH_WINDOW, RESTART_BACKOFF = 5, 30.0, 1.0
STOP_GRACE = 60.0


class LineSplitter:
    """Bytes of a worker's stream in, whole lines out (without their newline); the start of
    a line waits in `pending` until its end arrives."""

    __slots__ = ("pending",)

    def __init__(self):
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        end = data.rfind(b"\n")
        if end < 0:
            self.pending += data
            return []
        lines = (self.pending + data[:end]).split(b"\n")
        self.pending = data[end + 1:]
        return lines


def worker_died_event(spec: WorkerSpec, pid: int, exit_code: int, last_stats: dict | None,
                      now_us: int) -> dict:
    """The EVE event for a worker that died abnormally (`exit_code` as from
    os.waitstatus_to_exitcode: negative = killed by that signal). What it lost is known as of
    its last stats event (`last_stats`, None if it had not sent one yet): flows it opened
    since are lost too, uncounted."""
    killed = exit_code < 0
    died = {"worker": spec.index, "interface": spec.interface, "pid": pid,
            "exit_code": None if killed else exit_code,
            "signal": _signal_name(-exit_code) if killed else None,
            "flows_lost": None, "last_stats": None,
            "lost": "the worker's open flows: their flow records and the detection of their "
                    "pending data"}
    if last_stats is not None:
        stats = last_stats.get("stats", {})
        died["flows_lost"] = stats.get("flow", {}).get("active")
        died["last_stats"] = {"timestamp": last_stats.get("timestamp"),
                              "flows_active": died["flows_lost"],
                              "packets": stats.get("decoder", {}).get("pkts")}
    return {"timestamp": timestamp(now_us), "event_type": "dlp_worker", "dlp_worker": died}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Child:
    __slots__ = ("spec", "pid", "sock", "lines", "started", "exit_code")

    def __init__(self, spec: WorkerSpec, pid: int, sock: socket.socket):
        self.spec, self.pid, self.sock = spec, pid, sock
        self.lines = LineSplitter()
        self.started = time.monotonic()
        self.exit_code: int | None = None


class Supervisor:
    def __init__(self, specs: list[WorkerSpec], ruleset, outputs: OutputSet, metrics: Metrics,
                 metrics_listen: tuple[str, int] | None):
        self.specs = specs
        self.ruleset = ruleset
        self.outputs = outputs
        self.metrics = metrics
        self.metrics_server = MetricsServer(metrics, *metrics_listen) if metrics_listen else None
        self.children: dict[int, _Child] = {}  # by worker index
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.hup = False
        self.quick_deaths: list[float] = []
        self.restarts_due: list[tuple[float, WorkerSpec]] = []  # (when, worker)
        self.exit_code = EXIT_OK

    # -- running ---------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        for spec in self.specs:
            self._start(spec)
        if self.metrics_server:
            self.metrics_server.start()
            log.warning("metrics_listening", address="%s:%d" % self.metrics_server.address)
        log.warning("daemon_started", pid=os.getpid(), workers=len(self.specs),
                    interfaces=sorted({s.interface for s in self.specs}))
        try:
            self._loop()
        except OSError as exc:
            log.error("output_failed", error=str(exc), errno=exc.errno,
                      detail="stopping: events can no longer be written")
            self._kill_all()
            self.exit_code = EXIT_OUTPUT_FAILED
        finally:
            if self.metrics_server:
                self.metrics_server.stop()
        try:
            self.outputs.close()
        except OSError as exc:
            log.error("output_failed", error=str(exc), errno=exc.errno)
            self.exit_code = EXIT_OUTPUT_FAILED
        return self.exit_code

    def _loop(self) -> None:
        deadline = None
        while self.children or (self.restarts_due and not self.stopping):
            for key, _ in self.selector.select(timeout=0.2):
                self._read(key.data)
            self._reap()
            self._start_due()
            if self.hup:
                self.hup = False
                self._reload()
            if self.stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
                self._signal_all(signal.SIGTERM)
            if deadline is not None and time.monotonic() > deadline:
                log.error("workers_did_not_stop", grace_s=STOP_GRACE)
                self._kill_all()
                self.exit_code = EXIT_WORKER_FAILED

    def _on_stop(self, *_):
        self.stopping = True

    def _on_hup(self, *_):
        self.hup = True

    # -- workers ---------------------------------------------------------------------
    def _start(self, spec: WorkerSpec) -> None:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: nothing of the supervisor's but its own socket
            code = 1
            try:
                parent_end.close()
                for child in self.children.values():
                    child.sock.close()
                if self.metrics_server:  # the listening socket stays the supervisor's
                    self.metrics_server.server.socket.close()
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                code = worker_main(spec, self.ruleset, child_end)
            except BaseException as exc:  # noqa: BLE001 - reported, then the child exits
                log.error("worker_failed", worker=spec.index, error=repr(exc), exc_info=True)
            finally:
                os._exit(code)
        child_end.close()
        child = _Child(spec, pid, parent_end)
        self.children[spec.index] = child
        self.selector.register(parent_end, selectors.EVENT_READ, child)
        log.info("worker_started", worker=spec.index, interface=spec.interface, pid=pid)

    def _read(self, child: _Child) -> bool:
        """Write the whole lines the worker sent; False at end of stream."""
        try:
            data = child.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            self.selector.unregister(child.sock)
            return False
        lines = child.lines.feed(data)
        if lines:
            self.outputs.write_lines(lines)
        return True

    def _reap(self) -> None:
        for index, child in list(self.children.items()):
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid == 0:
                continue
            self._drain(child)
            del self.children[index]
            code = os.waitstatus_to_exitcode(status)
            last_stats = self.metrics.retire(child.spec.interface, index)
            if self.stopping and code == 0:
                log.info("worker_stopped", worker=index, pid=child.pid)
                continue
            lost = self._report_lost_flows(child, code, last_stats) if code != 0 else 0
            log.error("worker_died", worker=index, pid=child.pid, exit_code=code,
                      lost_partial_line_bytes=len(child.lines.pending), flows_lost=lost)
            if self.stopping:
                if self.exit_code == EXIT_OK:
                    self.exit_code = EXIT_WORKER_FAILED
                continue
            self._restart(child)

    def _report_lost_flows(self, child: _Child, code: int, last_stats: dict | None) -> int | None:
        """Writes the dlp_worker event (through the outputs, as any line) and counts the
        flows; returns their number as of the last stats event (None = unknown)."""
        event = worker_died_event(child.spec, child.pid, code, last_stats, time.time_ns() // 1000)
        lost = event["dlp_worker"]["flows_lost"]
        self.outputs.write_lines([encode_line(event).encode()])
        self.metrics.flows_lost(lost or 0)
        return lost

    def _drain(self, child: _Child) -> None:
        child.sock.setblocking(False)
        try:
            while self._read(child):
                pass
        except (BlockingIOError, KeyError, ValueError):
            pass
        finally:
            try:
                self.selector.unregister(child.sock)
            except (KeyError, ValueError):
                pass
            child.sock.close()

    def _restart(self, child: _Child) -> None:
        now = time.monotonic()
        delay = 0.0
        if now - child.started < QUICK_DEATH_WINDOW:
            self.quick_deaths = [t for t in self.quick_deaths if now - t < QUICK_DEATH_WINDOW] + [now]
            if len(self.quick_deaths) >= MAX_QUICK_DEATHS:
                log.error("workers_keep_dying", deaths=len(self.quick_deaths),
                          window_s=QUICK_DEATH_WINDOW, detail="giving up")
                self.exit_code = EXIT_CRASH_LOOP
                self.stopping = True
                return
            delay = len(self.quick_deaths) * RESTART_BACKOFF  # a link flap gets time to end
        with self.metrics.lock:
            self.metrics.worker_restarts += 1
        log.warning("worker_restarted", worker=child.spec.index, restarts=self.metrics.worker_restarts,
                    after_s=delay)
        self.restarts_due.append((now + delay, child.spec))

    def _start_due(self) -> None:
        now = time.monotonic()
        due = [spec for when, spec in self.restarts_due if when <= now]
        self.restarts_due = [(when, spec) for when, spec in self.restarts_due if when > now]
        if not self.stopping:
            for spec in due:
                self._start(spec)

    def _signal_all(self, sig: int) -> None:
        for child in self.children.values():
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass

    def _kill_all(self) -> None:
        self._signal_all(signal.SIGKILL)
        for child in self.children.values():
            os.waitpid(child.pid, 0)
            child.sock.close()
        self.children.clear()

    def _reload(self) -> None:
        """Check the new rules here (loudly) and keep them for workers started later; every
        worker reloads by itself between packets."""
        path = self.specs[0].rules_path
        try:
            new = rules_mod.load(path)
            new.build_detectors()
        except ConfigError as exc:
            log.error("rules_reload_rejected", file=path, error=str(exc), detail="old rules kept")
        else:
            self.ruleset = rules_mod.RuleSet(new.path, new.detectors, self.ruleset.engine)
        self._signal_all(signal.SIGHUP)
