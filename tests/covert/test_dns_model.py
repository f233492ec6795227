"""The model file: skops with an explicit trusted-types list (a file wanting anything else,
or not skops at all, is a clear error), the shipped model's shape, and the pure-Python forest
walk giving predict_proba's numbers."""

from __future__ import annotations

import os
import pickle
import random

import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import FunctionTransformer

from detectors.covert import model
from detectors.covert.dns_features import FEATURES
from dlp.errors import ConfigError

SHIPPED = model.load()
SCORER = model.ForestScorer(SHIPPED)


def test_shipped_model_shape():
    assert set(SHIPPED.features) <= set(FEATURES)
    assert 0 < SHIPPED.threshold <= 1
    assert len(SHIPPED.card["data_sha256"]) == 64 and SHIPPED.card["heldout"]["captures"]
    assert list(SHIPPED.estimator.classes_) == [0, 1]


def test_card_beside_the_model_describes_it():
    with open(os.path.splitext(model.DEFAULT_PATH)[0] + ".md", encoding="utf-8") as fh:
        card = fh.read()
    assert SHIPPED.card["data_sha256"] in card
    assert f"threshold: **{SHIPPED.threshold}**" in card


rows = st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=len(FEATURES), max_size=len(FEATURES))


@settings(max_examples=40, deadline=None)
@given(st.lists(rows, min_size=1, max_size=8))
def test_forest_walk_equals_predict_proba(batch):
    expected = SHIPPED.scores(batch)
    assert [SCORER.score(r) for r in batch] == pytest.approx(expected, abs=1e-9)


def small_model(seed: int = 0) -> model.TunnelModel:
    rng = random.Random(seed)
    x = [[rng.random() for _ in FEATURES] for _ in range(60)]
    y = [int(r[0] > 0.5) for r in x]
    forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed).fit(x, y)
    return model.TunnelModel(forest, FEATURES, 0.6, {"note": "test"})


def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / "m.skops")
    model.save(small_model(), path)
    got = model.load(path)
    assert got.threshold == 0.6 and got.features == FEATURES and got.card == {"note": "test"}
    row = [0.7] * len(FEATURES)
    assert model.ForestScorer(got).score(row) == pytest.approx(got.scores([row])[0])


def test_untrusted_types_are_refused(tmp_path):
    path = str(tmp_path / "evil.skops")
    sio.dump({"format": model.FORMAT, "model": FunctionTransformer(func=os.system), "features": [],
              "threshold": 0.5, "card": {}}, path)
    with pytest.raises(ConfigError, match="untrusted types: .*system"):
        model.load(path)


def test_pickle_and_junk_are_not_models(tmp_path):
    pkl = tmp_path / "m.pkl"
    pkl.write_bytes(pickle.dumps({"format": model.FORMAT}))
    with pytest.raises(ConfigError, match="not a skops model file"):
        model.load(str(pkl))
    other = tmp_path / "other.skops"
    sio.dump({"format": "something-else", "features": []}, str(other))
    with pytest.raises(ConfigError, match="not a dlp-dns-tunnel/1 model"):
        model.load(str(other))


def test_unknown_features_are_refused(tmp_path):
    m = small_model()
    path = str(tmp_path / "m.skops")
    model.save(model.TunnelModel(m.estimator, ("mean_sub_len",) * (len(FEATURES) - 1) + ("from_the_future",),
                                 0.5, {}), path)
    with pytest.raises(ConfigError, match="from_the_future"):
        model.load(path)


# -- the trees file the detector scores from -------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(st.lists(rows, min_size=1, max_size=8))
def test_shipped_trees_file_scores_as_the_skops_model(batch):
    runtime = model.load_runtime()
    assert runtime.threshold == SHIPPED.threshold
    assert [runtime.scorer.score(r) for r in batch] == pytest.approx(SHIPPED.scores(batch), abs=1e-9)


def test_stale_or_missing_trees_file_falls_back_to_skops(tmp_path):
    path = str(tmp_path / "m.skops")
    model.save(small_model(1), path)
    row = [0.7] * len(FEATURES)
    truth = model.load(path).scores([row])[0]
    assert model.load_runtime(path).scorer.score(row) == pytest.approx(truth)
    other = str(tmp_path / "other.skops")
    model.save(small_model(2), other)
    os.replace(model.trees_path(other), model.trees_path(path))  # trees of another model: stale
    assert model.load_runtime(path).scorer.score(row) == pytest.approx(truth)
    os.unlink(model.trees_path(path))
    assert model.load_runtime(path).scorer.score(row) == pytest.approx(truth)


def test_detector_starts_without_importing_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; from detectors.dns_tunnel import DnsTunnelDetector; DnsTunnelDetector(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'skops', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "[]"
