"""The DNS tunnel model on disk: a skops file, never a pickle.

The file holds {"format", "model" (a scikit-learn classifier), "features" (the names of the
window features it takes, in order: a subset of dns_features.FEATURES), "threshold",
"card" (training facts)}. Loading allows exactly the types listed in TRUSTED (skops refuses
anything else, so a crafted file cannot run code); a file needing another type is an error
naming it, and so is a file whose features this version cannot compute.

Beside it, `dlp train` writes the forest's trees as plain JSON (`<model>.trees.json`, tied to
the skops file by its SHA-256). The detector scores from that: starting it costs milliseconds
and no scikit-learn import (which alone takes seconds and ~120 MiB). A skops file without its
trees file, or with a stale one, is loaded through skops as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from array import array
from dataclasses import dataclass
from typing import Any

from detectors.covert.dns_features import FEATURES
from dlp.errors import ConfigError
from dlp.shipped import shipped

FORMAT = "dlp-dns-tunnel/1"
DEFAULT_PATH = shipped("models", "dns_tunnel.skops")
# Everything a RandomForestClassifier file needs beyond what skops trusts by default
# (builtins, numpy arrays and dtypes, sklearn estimators it knows).
TRUSTED = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class TunnelModel:
    estimator: Any
    features: tuple[str, ...]
    threshold: float
    card: dict

    @property
    def columns(self) -> list[int]:
        """Positions of the model's features in dns_features.FEATURES."""
        return [FEATURES.index(name) for name in self.features]

    def scores(self, rows: list[list[float]]) -> list[float]:
        """Probability of "tunnel" per row (rows hold every FEATURES value, in order)."""
        cols = self.columns
        picked = [[row[i] for i in cols] for row in rows]
        return [float(p[1]) for p in self.estimator.predict_proba(picked)]


TREES_FORMAT = "dlp-dns-tunnel-trees/1"


def export_trees(model: TunnelModel) -> list:
    """Each tree as [left, right, feature (index into model.features, -1 at leaves),
    threshold, probability of "tunnel" at the node]."""
    if list(getattr(model.estimator, "classes_", [])) != [0, 1]:
        raise ConfigError("model classes must be [0, 1] (benign, tunnel)")
    out = []
    for est in getattr(model.estimator, "estimators_", None) or [model.estimator]:
        t = est.tree_
        values = t.value[:, 0, :]
        positive = [float(v[1] / v.sum()) if v.sum() else 0.0 for v in values]
        out.append([t.children_left.tolist(), t.children_right.tolist(), t.feature.tolist(),
                    t.threshold.tolist(), positive])
    return out


class ForestScorer:
    """A random forest's trees as plain lists, walked in Python: one row costs tens of
    microseconds where predict_proba costs milliseconds of call overhead. Gives the same
    probability as predict_proba (tests check it). Built from a loaded model, or from the
    exported trees (`Runtime`)."""

    def __init__(self, model: TunnelModel | None = None, *, features=None, trees=None):
        if model is not None:
            features, trees = model.features, export_trees(model)
        self.columns = [FEATURES.index(name) for name in features]
        self.trees = [(left, right, [self.columns[f] if f >= 0 else -1 for f in feature],
                       threshold, positive)
                      for left, right, feature, threshold, positive in trees]

    def score(self, row: list[float]) -> float:
        """Probability of "tunnel" for one row holding every FEATURES value, in order."""
        row = array("f", row).tolist()  # sklearn compares float32 features with the thresholds
        total = 0.0
        for left, right, feature, threshold, positive in self.trees:
            node = 0
            while left[node] != -1:
                node = left[node] if row[feature[node]] <= threshold[node] else right[node]
            total += positive[node]
        return total / len(self.trees)


def save(model: TunnelModel, path: str) -> None:
    """Write the skops file and, beside it, its trees for the detector (trees_path)."""
    import skops.io as sio

    sio.dump({"format": FORMAT, "model": model.estimator, "features": list(model.features),
              "threshold": model.threshold, "card": model.card}, path,
             compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED]
    if untrusted:
        os.unlink(path)
        raise ConfigError(f"{path}: model needs types outside the trusted list: {', '.join(untrusted)}")
    with open(trees_path(path), "w", encoding="utf-8") as fh:
        json.dump({"format": TREES_FORMAT, "skops_sha256": _sha256(path),
                   "features": list(model.features), "threshold": model.threshold,
                   "trees": export_trees(model)}, fh, separators=(",", ":"))
        fh.write("\n")


def trees_path(path: str) -> str:
    return os.path.splitext(path)[0] + ".trees.json"


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@dataclass(frozen=True)
class Runtime:
    """What the detector needs: a scorer and the model's threshold."""

    scorer: ForestScorer
    threshold: float


def load_runtime(path: str = DEFAULT_PATH) -> Runtime:
    """The scorer for the model at `path`: from its trees file when that belongs to this
    exact skops file (checked by hash), else through skops."""
    try:
        digest = _sha256(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read model: {exc.strerror}") from None
    try:
        with open(trees_path(path), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        data = None
    if (isinstance(data, dict) and data.get("format") == TREES_FORMAT
            and data.get("skops_sha256") == digest):
        unknown = [f for f in data["features"] if f not in FEATURES]
        if unknown:
            raise ConfigError(f"{path}: model wants features this version lacks: {', '.join(unknown)}")
        return Runtime(ForestScorer(features=data["features"], trees=data["trees"]),
                       float(data["threshold"]))
    model = load(path)
    return Runtime(ForestScorer(model), model.threshold)


_CACHE: dict[tuple, TunnelModel] = {}


def load(path: str = DEFAULT_PATH) -> TunnelModel:
    """The model at `path`; loaded once per file version (a rules reload or a second
    pipeline reuses it, a retrained file is read again)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read model: {exc.strerror}") from None
    key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE.clear()  # one model in use at a time; do not keep old versions alive
        _CACHE[key] = _load(path)
    return _CACHE[key]


def _load(path: str) -> TunnelModel:
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read model: {exc.strerror or exc}") from None
    except Exception as exc:  # zip or schema errors: not a skops file
        raise ConfigError(f"{path}: not a skops model file ({type(exc).__name__}: {exc})") from None
    if untrusted:
        raise ConfigError(f"{path}: model uses untrusted types: {', '.join(untrusted)}")
    try:
        data = sio.load(path, trusted=TRUSTED)
    except Exception as exc:
        raise ConfigError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a {FORMAT} model")
    unknown = [f for f in data["features"] if f not in FEATURES]
    if unknown:
        raise ConfigError(f"{path}: model wants features this version lacks: {', '.join(unknown)}")
    if not hasattr(data["model"], "predict_proba"):
        raise ConfigError(f"{path}: model cannot give probabilities")
    return TunnelModel(data["model"], tuple(data["features"]), float(data["threshold"]),
                       dict(data.get("card") or {}))
