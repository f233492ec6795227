"""The supervisor's outputs: whole EVE lines from the workers (and the supervisor's own
dlp_worker events) go to every EVE destination whose `types` want them (each a file rotated
by size, or stdout) and to syslog.

Order per batch: every line is written to every destination that wants it, every
destination is flushed, and only then are the lines counted (and stats events fed to the
metrics): a line counted as written is on every destination. An OSError here (full disk,
unwritable file, collector gone) is the caller's to make loud; nothing after it is counted.
"""

from __future__ import annotations

import json

from dlp.daemon_config import EveOutput, Outputs
from dlp.outputs.metrics import Metrics
from dlp.outputs.rotating import RotatingFile
from dlp.outputs.syslog import SyslogSender

_TYPE_MARK = b'"event_type":"'


def event_type(line: bytes) -> str:
    """The event type of an EVE line as our writers format it, without parsing the JSON."""
    start = line.find(_TYPE_MARK) + len(_TYPE_MARK)
    return line[start:line.index(b'"', start)].decode()


class EveDestination:
    """One EVE file (or stdout) and the event types it takes (None = all)."""

    def __init__(self, cfg: EveOutput):
        self.file = RotatingFile(cfg.path, cfg.rotate_mib * 1024 * 1024, cfg.keep)
        self.types = None if cfg.types is None else frozenset(cfg.types)

    def wants(self, kind: str) -> bool:
        return self.types is None or kind in self.types


class OutputSet:
    def __init__(self, cfg: Outputs, metrics: Metrics):
        """Opens everything now, so a bad path or a collector that is down fails at start."""
        self.metrics = metrics
        self.eve: list[EveDestination] = []
        self.syslog = None
        try:
            for dest in cfg.eve:
                self.eve.append(EveDestination(dest))
            if cfg.syslog is not None:
                s = cfg.syslog
                self.syslog = SyslogSender(s.host, s.port, s.protocol, s.facility, s.types)
        except OSError:
            self.close()  # the destinations opened before the one that failed
            raise

    def write_lines(self, lines: list[bytes]) -> None:
        written = []  # (kind, parsed stats event or None), counted once everything is flushed
        for line in lines:
            kind = event_type(line)
            text = line.decode("utf-8") + "\n"
            event = json.loads(line) if kind in ("stats", "alert") else None
            for dest in self.eve:
                if dest.wants(kind):
                    dest.file.write(text)
            if self.syslog is not None:
                severity = event["alert"]["severity"] if kind == "alert" else None
                self.syslog.send(text, kind, severity)
            written.append((kind, event if kind == "stats" else None))
        for dest in self.eve:
            dest.file.flush()
        for kind, stats in written:
            if stats is not None:
                self.metrics.stats_event(stats)
            self.metrics.written(kind)

    def close(self) -> None:
        """Closes every output; the first OSError is raised after all were tried."""
        failure = None
        for closer in [d.file.close for d in self.eve] + ([self.syslog.close] if self.syslog else []):
            try:
                closer()
            except OSError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
