"""The DNS tunnel model on disk: a skops file, never a pickle.

The file holds {"format", "model" (a scikit-learn classifier), "features" (the names of the
window features it takes, in order: a subset of dns_features.FEATURES), "threshold",
"card" (training facts)}. Loading allows exactly the types listed in TRUSTED (skops refuses
anything else, so a crafted file cannot run code); a file needing another type is an error
naming it, and so is a file whose features this version cannot compute.
"""

from __future__ import annotations

import os
import zipfile
from array import array
from dataclasses import dataclass
from typing import Any

from detectors.covert.dns_features import FEATURES
from dlp.errors import ConfigError

FORMAT = "dlp-dns-tunnel/1"
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            "models", "dns_tunnel.skops")
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


class ForestScorer:
    """A random forest's trees as plain lists, walked in Python: one row costs tens of
    microseconds where predict_proba costs milliseconds of call overhead. Gives the same
    probability as predict_proba (tests check it)."""

    def __init__(self, model: TunnelModel):
        self.columns = model.columns
        if list(getattr(model.estimator, "classes_", [])) != [0, 1]:
            raise ConfigError("model classes must be [0, 1] (benign, tunnel)")
        trees = getattr(model.estimator, "estimators_", None) or [model.estimator]
        self.trees = []
        for est in trees:
            t = est.tree_
            values = t.value[:, 0, :]
            positive = [float(v[1] / v.sum()) if v.sum() else 0.0 for v in values]
            self.trees.append((t.children_left.tolist(), t.children_right.tolist(),
                               [self.columns[f] if f >= 0 else -1 for f in t.feature.tolist()],
                               t.threshold.tolist(), positive))

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
    import skops.io as sio

    sio.dump({"format": FORMAT, "model": model.estimator, "features": list(model.features),
              "threshold": model.threshold, "card": model.card}, path,
             compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED]
    if untrusted:
        os.unlink(path)
        raise ConfigError(f"{path}: model needs types outside the trusted list: {', '.join(untrusted)}")


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
