"""What a person sees on the terminal: a progress bar while replaying, a summary after."""

from __future__ import annotations

import os
import time


class Progress:
    """A one-line progress bar on a terminal, redrawn at most a few times a second."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.name = ""
        self.started = 0.0
        self._last = 0.0

    def start(self, path: str) -> None:
        self.name = os.path.basename(path)
        self.started = self._last = time.perf_counter()

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last < 0.2:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(frac * self.WIDTH)
        rate = done / (now - self.started) / 1e6 if now > self.started else 0.0
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r{self.name[:30]:30} [{bar}] {frac * 100:5.1f}% {rate:7.1f} MB/s")
        self.stream.flush()

    def done(self) -> None:
        self.update(1, 1)
        self._last = 0.0
        self.update(1, 1)
        self.stream.write("\n")
        self.stream.flush()


def format_summary(s, eve_path: str | None) -> str:
    secs = max(s.seconds, 1e-9)
    lines = [
        "== dlp replay summary ==",
        f"files        {s.files}",
        f"packets      {s.packets}",
        f"bytes        {s.bytes}",
        f"flows        {s.flows}  (closed: {_kv(s.flows_closed)})",
        f"gaps         {s.gaps}",
        f"decode errors {sum(s.decode_errors.values())}  {_kv(s.decode_errors)}",
        f"not inspected {sum(s.not_inspected.values())}  {_kv(s.not_inspected)}",
        f"alerts       {sum(s.alerts.values())}  {_kv(s.alerts)}",
        f"speed        {s.packets / secs:,.0f} packets/s, {s.capture_bytes / secs / 1e6:.1f} MB/s"
        f" ({secs:.2f} s)",
    ]
    if s.anomalies:
        top = s.anomalies.most_common(8)
        lines.append(f"anomalies    {_kv(dict(top))}")
    for problem in s.capture_problems:
        lines.append(f"capture      {problem}")
    if s.rule_hits:
        lines.append("rule hits:")
        width = max(len(rule) for _d, rule in s.rule_hits)
        for (detector, rule), hits in sorted(s.rule_hits.items()):
            lines.append(f"  {rule:{width}}  {detector:12} {hits}")
    if eve_path and eve_path != "-":
        lines.append(f"events       {eve_path}")
    return "\n".join(lines)


def _kv(counter) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counter.items())) if counter else "-"
