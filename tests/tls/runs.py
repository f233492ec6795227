"""The two ways the key-log tests run a capture: `dlp replay --keylog` (a subprocess, as a
user runs it) and LiveKeylogPipeline fed in capture batches (as the daemon's worker does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dlp.capture.pcapfile import CaptureFile
from dlp.cli import load_rules
from dlp.outputs.eve import EveWriter
from dlp.tls.live_pipeline import LiveKeylogPipeline

BATCH = 20  # packets per feed(), as a capture ring hands them out


def replay(d, pcap: str, *extra: str) -> list[dict]:
    eve = d / f"eve{len(os.listdir(d))}.json"
    subprocess.run([sys.executable, "-m", "dlp", "replay", "--quiet", "--eve", str(eve), *extra, pcap],
                   check=True, timeout=120)
    return read_eve(eve)


def run_live(pcap: str, keylog: str, eve, rules: str | None = None):
    """The capture through LiveKeylogPipeline in batches, then finish(): (summary, events)."""
    writer = EveWriter(str(eve))
    pipeline = LiveKeylogPipeline(load_rules(rules), writer, keylog)
    with CaptureFile(pcap) as cap:
        records = list(cap)
    for i in range(0, len(records), BATCH):
        pipeline.feed(records[i:i + BATCH])
    summary = pipeline.finish()
    writer.close()
    return summary, read_eve(eve)


def read_eve(path) -> list[dict]:
    with open(path) as fh:
        return [json.loads(line) for line in fh]


def flow_records(events: list[dict]) -> dict[int, dict]:
    return {e["flow_id"]: e for e in events if e["event_type"] == "flow"}


def alerts(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event_type"] == "alert"]
