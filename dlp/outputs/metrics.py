"""Prometheus text exposition of the daemon's counters, served by http.server in a thread.

The supervisor keeps the latest stats event of each worker and its own counters (events
written by type, alerts written, worker restarts, flows lost with dead workers); `render`
turns them into the text format (version 0.0.4).

Worker `_total` counters are monotonic per (interface, worker) slot across restarts: a
worker process counts from zero, so when the supervisor retires a dead incarnation (`retire`)
its last reported counters are kept in `carried` and added to whatever the next incarnation
reports. A counter that goes down within one incarnation (which a worker should never do) is
treated the same way, so a dashboard never sees a total go backwards. What a dead worker
counted after its last stats event is unknown and not included. Gauges (active flows,
memory) are the current incarnation's only; a retired slot shows none until its successor
reports.
"""

from __future__ import annotations

import http.server
import threading
from collections import Counter

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (metric name, type, help, path into a worker's stats event)
WORKER_METRICS = (
    ("dlp_packets_total", "counter", "Packets decoded by the worker", ("stats", "decoder", "pkts")),
    ("dlp_bytes_total", "counter", "Bytes on the wire seen by the worker", ("stats", "decoder", "bytes")),
    ("dlp_decode_errors_total", "counter", "Malformed packets", ("stats", "decoder", "invalid")),
    ("dlp_kernel_packets_total", "counter", "Packets the kernel gave the worker's socket",
     ("stats", "capture", "kernel_packets")),
    ("dlp_kernel_drops_total", "counter", "Packets the kernel dropped (ring full)",
     ("stats", "capture", "kernel_drops")),
    ("dlp_flows_total", "counter", "Flows seen", ("stats", "flow", "total")),
    ("dlp_flows_active", "gauge", "Flows open now", ("stats", "flow", "active")),
    ("dlp_stream_memory_bytes", "gauge", "Buffered stream bytes", ("stats", "flow", "memuse")),
    ("dlp_worker_alerts_total", "counter", "Alerts raised by the worker", ("stats", "detect", "alert")),
    ("dlp_memory_rss_bytes", "gauge", "Resident memory of the worker", ("dlp", "rss_bytes")),
    ("dlp_packet_errors_total", "counter", "Packets whose handling raised (worker went on)",
     ("dlp", "packet_errors")),
)


COUNTERS = tuple((name, path) for name, kind, _, path in WORKER_METRICS if kind == "counter")


class Metrics:
    def __init__(self):
        self.lock = threading.Lock()
        self.worker_stats: dict[tuple[str, int], dict] = {}  # the current incarnation's last
        self.carried: dict[tuple[str, int], Counter] = {}  # counter name -> earlier incarnations' sum
        self.events_written: Counter = Counter()
        self.worker_restarts = 0
        self.lost_flows = 0

    def stats_event(self, event: dict) -> None:
        ours = event.get("dlp", {})
        slot = (ours.get("interface", ""), ours.get("worker", 0))
        with self.lock:
            before = self.worker_stats.get(slot)
            if before is not None:
                for name, path in COUNTERS:
                    old, new = _number(before, path), _number(event, path)
                    if new is not None and old is not None and new < old:  # a reset: keep what was counted
                        self.carried.setdefault(slot, Counter())[name] += old
            self.worker_stats[slot] = event

    def retire(self, interface: str, index: int) -> dict | None:
        """A worker process ended: its counters are carried over to the slot's next process.
        Returns its last stats event (None if it never sent one)."""
        with self.lock:
            last = self.worker_stats.pop((interface, index), None)
            if last is not None:
                carried = self.carried.setdefault((interface, index), Counter())
                for name, path in COUNTERS:
                    carried[name] += _number(last, path) or 0
        return last

    def flows_lost(self, count: int) -> None:
        with self.lock:
            self.lost_flows += count

    def written(self, event_type: str) -> None:
        with self.lock:
            self.events_written[event_type] += 1

    def render(self) -> str:
        with self.lock:
            out = []
            slots = sorted(set(self.worker_stats) | set(self.carried))
            for name, kind, text, path in WORKER_METRICS:
                out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for iface, index in slots:
                    value = self._value((iface, index), name, kind, path)
                    if value is not None:
                        out.append(f'{name}{{interface="{iface}",worker="{index}"}} {value}')
            out += ["# HELP dlp_events_written_total EVE events written and flushed, by type",
                    "# TYPE dlp_events_written_total counter"]
            out += [f'dlp_events_written_total{{event_type="{k}"}} {v}'
                    for k, v in sorted(self.events_written.items())]
            out += ["# HELP dlp_alerts_written_total Alerts written and flushed to the outputs",
                    "# TYPE dlp_alerts_written_total counter",
                    f"dlp_alerts_written_total {self.events_written['alert']}",
                    "# HELP dlp_worker_restarts_total Workers that died and were restarted",
                    "# TYPE dlp_worker_restarts_total counter",
                    f"dlp_worker_restarts_total {self.worker_restarts}",
                    "# HELP dlp_worker_lost_flows_total Open flows lost with workers that died "
                    "abnormally (their last stats event's count)",
                    "# TYPE dlp_worker_lost_flows_total counter",
                    f"dlp_worker_lost_flows_total {self.lost_flows}"]
        return "\n".join(out) + "\n"

    def _value(self, slot: tuple[str, int], name: str, kind: str, path: tuple[str, ...]):
        """A gauge: the current process's value. A counter: that plus earlier processes'."""
        event = self.worker_stats.get(slot)
        current = _number(event, path) if event is not None else None
        if kind != "counter" or slot not in self.carried or name not in self.carried[slot]:
            return current
        return self.carried[slot][name] + (current or 0)


def _number(event: dict, path: tuple[str, ...]) -> int | float | None:
    """The number at `path` in a stats event; None when absent or not a number."""
    for key in path:
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return event if isinstance(event, (int, float)) and not isinstance(event, bool) else None


class MetricsServer:
    """GET /metrics on (host, port) in a daemon thread."""

    def __init__(self, metrics: Metrics, host: str, port: int):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = metrics.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
