"""Training and evaluation of the DNS tunnel model from labelled captures (`dlp train`).

The manifest (pcaps/covert/manifest.json) lists captures with `split` (train | heldout),
`label` (tunnel | benign), `family` and `tunnel_domains`. Each capture is replayed through
the real pipeline (decode, flows, DNS pairing); its transactions go through the detector's
own window tracker (dns_windows.DnsWindows with the detector's default settings), and every
window the detector would score becomes a row: positive when the window's registered domain
is one of the capture's tunnel domains, negative otherwise. The model never sees a held-out
capture; the held-out captures are then replayed through the real detector with the saved
model to measure what an operator gets: alerts per capture, time and queries to detection.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field

from detectors.base import DnsTransaction
from detectors.covert.dns_features import FEATURES, TIMING_FEATURES, NameScorer
from detectors.covert.dns_windows import DnsWindows
from detectors.covert.model import TunnelModel
from dlp.errors import ConfigError

# Timing is left out of the model: lab captures (ours and the public ones) run at loopback
# speed, so rate features would learn the lab, not tunnels (shared MANIFEST, warning 3).
MODEL_FEATURES = tuple(f for f in FEATURES if f not in TIMING_FEATURES)


@dataclass
class Capture:
    path: str
    split: str
    label: str
    family: str
    tunnel_domains: tuple[bytes, ...]
    name: str = ""


@dataclass
class Rows:
    x: list[list[float]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    capture: list[str] = field(default_factory=list)


def load_manifest(path: str) -> list[Capture]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read manifest: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for i, entry in enumerate(data.get("captures", [])):
        try:
            cap = Capture(os.path.join(base, entry["path"]), entry["split"], entry["label"], entry["family"],
                          tuple(d.lower().encode() for d in entry.get("tunnel_domains", [])),
                          os.path.splitext(os.path.basename(entry["path"]))[0])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: capture {i}: missing or bad field {exc}") from None
        if cap.split not in ("train", "heldout") or cap.label not in ("tunnel", "benign"):
            raise ConfigError(f"{path}: capture {i}: split must be train|heldout, label tunnel|benign")
        if cap.label == "tunnel" and not cap.tunnel_domains:
            raise ConfigError(f"{path}: capture {i}: a tunnel capture needs tunnel_domains")
        out.append(cap)
    if not out:
        raise ConfigError(f"{path}: no captures listed")
    return out


class _Collect:
    """A detector stand-in that keeps every DNS transaction the dispatcher builds."""

    name = "collect"
    inputs = frozenset({"dns"})

    def __init__(self):
        self.items: list[DnsTransaction] = []

    def applies(self, item) -> bool:
        return isinstance(item, DnsTransaction) and item.question is not None

    def inspect(self, item) -> list:
        self.items.append(item)
        return []


def replay(path: str, detectors: list) -> list:
    """Replay one capture with the given detector objects; the findings, in order."""
    from dlp.config import EngineConfig
    from dlp.outputs.eve import EveWriter
    from dlp.pipeline import Pipeline
    from dlp.rules import RuleSet

    pipeline = Pipeline(RuleSet(path, (), EngineConfig()), EveWriter(None))
    findings: list = []
    pipeline.dispatcher.set_detectors(detectors)
    pipeline.dispatcher.on_finding = lambda flow, finding, item: findings.append((finding, item))
    pipeline.replay_file(path)
    pipeline.finish()
    return findings


def transactions(path: str) -> list[DnsTransaction]:
    collector = _Collect()
    replay(path, [collector])
    return collector.items


def default_windows() -> DnsWindows:
    """The detector's windows with its default settings, snapshotted every `score_every`
    queries (the detector backs off in long windows to save time; training wants rows)."""
    from detectors.dns_tunnel import DnsTunnelParams

    p = DnsTunnelParams()
    return DnsWindows(p.window_seconds, p.max_window_queries, p.max_windows, p.min_queries,
                      p.score_every, p.min_unique_share, backoff=False)


def window_rows(cap: Capture, names: NameScorer, rows: Rows) -> int:
    """Add the capture's scored windows to `rows`; the number of DNS transactions."""
    tracker = default_windows()
    items = transactions(cap.path)
    for item in items:
        key = tracker.key(item)
        window = tracker.observe(item, key)
        if window is not None:
            rows.x.append(window.features(names))
            rows.y.append(1 if key[1] in cap.tunnel_domains else 0)
            rows.capture.append(cap.name)
    return len(items)


def fit(rows: Rows, seed: int):
    from sklearn.ensemble import RandomForestClassifier

    cols = [FEATURES.index(f) for f in MODEL_FEATURES]
    forest = RandomForestClassifier(n_estimators=100, max_depth=8, min_samples_leaf=2,
                                    class_weight="balanced", oob_score=True, random_state=seed, n_jobs=1)
    forest.fit([[r[i] for i in cols] for r in rows.x], rows.y)
    return forest


def held_out_scores(rows: Rows, seed: int) -> list[float]:
    """Each training row scored by a forest trained without its capture (leave one capture
    out): how the model treats a family it has not seen, the situation in production."""
    scores = [0.0] * len(rows.y)
    for name in sorted(set(rows.capture)):
        inside = [i for i, c in enumerate(rows.capture) if c != name]
        if len({rows.y[i] for i in inside}) < 2:
            continue
        part = Rows([rows.x[i] for i in inside], [rows.y[i] for i in inside])
        forest = fit(part, seed)
        left = [i for i, c in enumerate(rows.capture) if c == name]
        cols = [FEATURES.index(f) for f in MODEL_FEATURES]
        probs = forest.predict_proba([[rows.x[i][c] for c in cols] for i in left])[:, 1]
        for i, p in zip(left, probs):
            scores[i] = float(p)
    return scores


def oob_benign_alerting(forest, rows: Rows, threshold: float) -> list[int]:
    """(benign training windows, those whose out-of-bag score reaches the threshold): how
    often a benign window from a known family would alert, from trees that never saw it."""
    oob = forest.oob_decision_function_[:, 1]
    benign = [s for s, y in zip(oob, rows.y) if y == 0]
    return [len(benign), sum(1 for s in benign if s >= threshold)]


def cv_by_capture(scores: list[float], rows: Rows, threshold: float) -> dict:
    """Per training capture, left out: windows, tunnel windows, windows at or above threshold."""
    out: dict[str, list[int]] = {}
    for s, y, name in zip(scores, rows.y, rows.capture):
        entry = out.setdefault(name, [0, 0, 0])
        entry[0] += 1
        entry[1] += y
        entry[2] += int(s >= threshold)
    return out


def data_hash(captures: list[Capture], manifest: str) -> str:
    h = hashlib.sha256()
    with open(manifest, "rb") as fh:
        h.update(fh.read())
    for cap in sorted(captures, key=lambda c: c.path):
        with open(cap.path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def versions() -> dict:
    import numpy
    import sklearn
    import skops

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "skops": skops.__version__, "numpy": numpy.__version__}


# With balanced class weights 0.5 is the even-odds cut; the card reports what it costs
# (out-of-bag and leave-one-capture-out alerting) so an operator can move it (rules file).
DEFAULT_THRESHOLD = 0.5


def build(manifest: str, seed: int = 0, threshold: float = DEFAULT_THRESHOLD) -> tuple[TunnelModel, dict]:
    """Train on the manifest's train captures; (model, facts for the card)."""
    captures = load_manifest(manifest)
    names = NameScorer()
    rows, counts = Rows(), {}
    for cap in captures:
        if cap.split == "train":
            counts[cap.name] = window_rows(cap, names, rows)
    if len(set(rows.y)) < 2:
        raise ConfigError(f"{manifest}: training needs windows of both classes")
    forest = fit(rows, seed)
    cv_scores = held_out_scores(rows, seed)
    importances = sorted(zip(MODEL_FEATURES, forest.feature_importances_.tolist()), key=lambda p: -p[1])
    card = {"data_sha256": data_hash(captures, manifest), "versions": versions(), "seed": seed,
            "train_captures": {c.name: c.family for c in captures if c.split == "train"},
            "train_queries": counts, "train_rows": len(rows.y), "train_positive_rows": sum(rows.y),
            "oob_score": round(forest.oob_score_, 4), "threshold": threshold,
            "oob_benign_alerting": oob_benign_alerting(forest, rows, threshold),
            "cv_by_capture": cv_by_capture(cv_scores, rows, threshold),
            "importances": [(n, round(v, 4)) for n, v in importances]}
    return TunnelModel(forest, MODEL_FEATURES, threshold, card), card
