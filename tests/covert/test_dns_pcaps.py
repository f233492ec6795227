"""The committed captures (pcaps/covert, made by tools/covert_dns/record.py with real iodine,
dns2tcp, dig and dnsmasq) replayed with the default rules: every tunnel capture raises a
dns_tunnel alert on its tunnel's domain within 60 s or 50 queries of tunnel traffic, and
nothing else; benign captures raise none. `dlp train` rebuilds the shipped model's results
from the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from detectors.covert import model
from detectors.covert.training import load_manifest, transactions
from dlp import rules
from dlp.outputs.eve import EveWriter
from dlp.pipeline import Pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(ROOT, "pcaps", "covert", "manifest.json")
CAPTURES = load_manifest(MANIFEST)


def dns_alerts(path: str, tmp_path) -> list[dict]:
    eve = tmp_path / "eve.json"
    writer = EveWriter(str(eve))
    pipeline = Pipeline(rules.load(os.path.join(ROOT, "rules", "default.yaml")), writer)
    pipeline.replay_file(path)
    pipeline.finish()
    writer.close()
    events = [json.loads(line) for line in eve.read_text().splitlines()]
    return [e for e in events if e["event_type"] == "alert" and e["alert"]["detector"] == "dns_tunnel"]


def test_manifest_splits_by_variant_and_domain():
    splits = {c.split for c in CAPTURES}
    assert splits == {"train", "heldout"}
    train_domains = {d for c in CAPTURES if c.split == "train" for d in c.tunnel_domains}
    held_domains = {d for c in CAPTURES if c.split == "heldout" for d in c.tunnel_domains}
    assert train_domains and held_domains and not train_domains & held_domains
    assert {c.family for c in CAPTURES if c.split == "train"}.isdisjoint(
        {c.family for c in CAPTURES if c.split == "heldout" and c.label == "tunnel"})
    for c in CAPTURES:
        assert os.path.getsize(c.path) < 2_000_000


@pytest.mark.parametrize("cap", [c for c in CAPTURES if c.label == "tunnel"], ids=lambda c: c.name)
def test_tunnel_capture_alerts_on_its_domain_in_time(cap, tmp_path):
    alerts = dns_alerts(cap.path, tmp_path)
    domains = {d.decode() for d in cap.tunnel_domains}
    assert [a for a in alerts if a["covert"]["domain"] not in domains] == []
    assert len(alerts) == 1, alerts  # one per client and domain per window
    first = min(t.ts for t in transactions(cap.path)
                if any(t.question.name.endswith(d) for d in cap.tunnel_domains))
    alerted = datetime.strptime(alerts[0]["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    cov = alerts[0]["covert"]
    assert cov["queries"] <= 50 or alerted - first / 1e6 <= 60, (cov, alerted - first / 1e6)
    assert cov["client"] == alerts[0]["src_ip"] and cov["bytes_out"] > 0 and cov["sample"]


@pytest.mark.parametrize("cap", [c for c in CAPTURES if c.label == "benign"], ids=lambda c: c.name)
def test_benign_capture_is_quiet(cap, tmp_path):
    assert dns_alerts(cap.path, tmp_path) == []


def outcomes(card: dict) -> list[tuple]:
    return [(c["capture"], c.get("detected"), c["false_alerts"]) for c in card["heldout"]["captures"]]


def test_dlp_train_rebuilds_the_shipped_results(tmp_path):
    out = tmp_path / "m.skops"
    proc = subprocess.run([sys.executable, "-m", "dlp", "train", "--manifest", MANIFEST, "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rebuilt, shipped = model.load(str(out)).card, model.load().card
    assert rebuilt["data_sha256"] == shipped["data_sha256"]
    assert rebuilt["threshold"] == shipped["threshold"]
    # outcomes, not exact scores: another scikit-learn version may grow slightly other trees
    assert outcomes(rebuilt) == outcomes(shipped)
    assert (tmp_path / "m.md").read_text().count("| yes |") >= 6


@pytest.mark.parametrize("content,message", [
    (None, "cannot read manifest"),
    ('{"captures": [', "m.json:1: invalid JSON"),
    ('{"captures": [{"path": "x.pcap"}]}', "capture 0: missing or bad field"),
    ('{"captures": [{"path": "x.pcap", "split": "test", "label": "tunnel", "family": "f"}]}',
     "split must be train|heldout"),
    ('{"captures": [{"path": "x.pcap", "split": "train", "label": "tunnel", "family": "f"}]}',
     "needs tunnel_domains"),
    ('{"captures": []}', "no captures listed"),
])
def test_dlp_train_bad_manifest_is_a_one_line_error(content, message, tmp_path):
    manifest = tmp_path / "m.json"
    if content is not None:
        manifest.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "dlp", "train", "--manifest", str(manifest), "--out",
                           str(tmp_path / "out.skops")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.skops").exists()
