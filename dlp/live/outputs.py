"""The supervisor's outputs: whole EVE lines from the workers go to the EVE file (rotated by
size, or stdout) and to syslog; each line is counted only after it was written and flushed.
An OSError here (full disk, unwritable file, collector gone) is the caller's to make loud."""

from __future__ import annotations

import json

from dlp.daemon_config import Outputs
from dlp.outputs.metrics import Metrics
from dlp.outputs.rotating import RotatingFile
from dlp.outputs.syslog import SyslogSender

_TYPE_MARK = b'"event_type":"'


def event_type(line: bytes) -> str:
    """The event type of an EVE line as our writers format it, without parsing the JSON."""
    start = line.find(_TYPE_MARK) + len(_TYPE_MARK)
    return line[start:line.index(b'"', start)].decode()


class OutputSet:
    def __init__(self, cfg: Outputs, metrics: Metrics):
        """Opens everything now, so a bad path or a collector that is down fails at start."""
        self.metrics = metrics
        self.eve = None
        self.syslog = None
        if cfg.eve is not None:
            self.eve = RotatingFile(cfg.eve.path, cfg.eve.rotate_mib * 1024 * 1024, cfg.eve.keep)
        if cfg.syslog is not None:
            s = cfg.syslog
            self.syslog = SyslogSender(s.host, s.port, s.protocol, s.facility, s.types)

    def write_lines(self, lines: list[bytes]) -> None:
        kinds = []
        for line in lines:
            kind = event_type(line)
            kinds.append(kind)
            text = line.decode("utf-8") + "\n"
            event = json.loads(line) if kind in ("stats", "alert") else None
            if self.eve is not None:
                self.eve.write(text)
            if self.syslog is not None:
                severity = event["alert"]["severity"] if kind == "alert" else None
                self.syslog.send(text, kind, severity)
            if kind == "stats":
                self.metrics.stats_event(event)
        if self.eve is not None:
            self.eve.flush()
        for kind in kinds:  # counted once written and flushed
            self.metrics.written(kind)

    def close(self) -> None:
        if self.eve is not None:
            self.eve.close()
        if self.syslog is not None:
            self.syslog.close()
