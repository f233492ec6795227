"""Rules reload (SIGHUP): new detectors swap in between packets, flows are kept; a bad rules
file is rejected loudly and the running rules stay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from dlp import rules
from dlp.outputs.eve import EveWriter
from dlp.pipeline import Pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARDS = os.path.join(ROOT, "pcaps", "http", "json-cards-upload.pcap")
NO_DETECTORS = "version: 1\ndetectors:\n  content:\n    enabled: false\n"
WITH_PAN = "version: 1\ndetectors:\n  pan: {}\n"


def test_reload_swaps_detectors_and_rejects_a_bad_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(NO_DETECTORS)
    eve_path = tmp_path / "eve.json"
    writer = EveWriter(str(eve_path))
    pipeline = Pipeline(rules.load(str(path)), writer)
    path.write_text(WITH_PAN)
    pipeline.request_reload(str(path))
    pipeline._reload()
    assert pipeline.reloads == 1 and [d.name for d in pipeline.dispatcher.detectors] == ["pan"]
    path.write_text("version: 1\ndetectors:\n  pan:\n    min_distinct: lots\n")
    pipeline.request_reload(str(path))
    pipeline._reload()  # rejected: pan stays
    assert pipeline.reloads == 1 and [d.name for d in pipeline.dispatcher.detectors] == ["pan"]
    pipeline.replay_file(CARDS)
    pipeline.finish()
    writer.close()
    alerts = [e for e in map(json.loads, eve_path.read_text().splitlines()) if e["event_type"] == "alert"]
    assert [a["alert"]["detector"] for a in alerts] == ["pan"]


def test_sighup_during_replay_reloads(tmp_path):
    big = tmp_path / "big.pcap"
    subprocess.run([sys.executable, "-m", "bench.gen_mixed", str(big), "--size-mb", "100"], check=True,
                   cwd=ROOT, capture_output=True, timeout=120)
    path = tmp_path / "rules.yaml"
    path.write_text(NO_DETECTORS)
    proc = subprocess.Popen([sys.executable, "-m", "dlp", "replay", str(big), "--rules", str(path),
                             "--eve", str(tmp_path / "eve.json"), "--quiet", "--log-level", "info"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the interpreter is up and replaying
    path.write_text(WITH_PAN)
    proc.send_signal(signal.SIGHUP)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(e["event"] == "rules_reloaded" and e["detectors"] == ["pan"] for e in events), err
