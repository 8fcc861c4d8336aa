"""The classifier inside scikit-learn tools, across processes, on real data."""

import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels


def scale_sequences(X):
    """Multiply every token by 2; a token-wise step that keeps X ragged."""
    return [2.0 * np.asarray(sequence) for sequence in X]


@pytest.fixture(scope="module")
def ragged():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 4)) * 2
    y = np.repeat(np.arange(3), 12)
    X = [centers[label] + rng.normal(size=(rng.integers(2, 9), 4)) for label in y]
    return X, y


def test_pipeline_on_ragged_list(ragged):
    X, y = ragged
    pipeline = Pipeline(
        [
            ("scale", FunctionTransformer(scale_sequences)),
            ("model", HardmaxTransformerClassifier(random_state=0)),
        ]
    )
    pipeline.fit(X, y)
    assert np.array_equal(pipeline.predict(X), y)
    assert pipeline.score(X, y) == 1.0


def test_grid_search_on_ragged_list(ragged):
    X, y = ragged
    search = GridSearchCV(
        HardmaxTransformerClassifier(random_state=0),
        {"pooling": [("mean",), ("max", "min")], "positional_moments": [0, 1]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.score(X, y) == 1.0


def test_cross_val_score_on_ragged_list(ragged):
    X, y = ragged
    scores = cross_val_score(
        HardmaxTransformerClassifier(random_state=0),
        X,
        y,
        cv=StratifiedKFold(4, shuffle=True, random_state=0),
    )
    assert scores.shape == (4,)
    # Three well separated classes: the nearest-prototype rule gets most right.
    assert scores.mean() > 0.8


def test_clone_keeps_parameters_and_drops_fit(ragged):
    X, y = ragged
    model = HardmaxTransformerClassifier(pooling=("max",), positional_moments=3).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "transformer_")


def test_same_random_state_gives_identical_layers(ragged):
    X, y = ragged
    first = HardmaxTransformerClassifier(random_state=7).fit(X, y)
    second = HardmaxTransformerClassifier(random_state=7).fit(X, y)
    assert first.n_params_ == second.n_params_
    for one, two in zip(first.transformer_.blocks, second.transformer_.blocks):
        for name in ("weight_in", "weight_out"):
            left = getattr(one.feed_forward, name)
            right = getattr(two.feed_forward, name)
            if hasattr(left, "toarray"):
                left, right = left.toarray(), right.toarray()
            assert np.array_equal(left, right)
    assert np.array_equal(first.decision_function(X), second.decision_function(X))


def test_joblib_model_predicts_same_in_fresh_process(ragged, tmp_path):
    X, y = ragged
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    rng = np.random.default_rng(5)
    X_new = [rng.normal(size=(rng.integers(1, 9), 4)) for _ in range(20)]
    joblib.dump(model, tmp_path / "model.joblib")
    np.savez(tmp_path / "data.npz", *X_new)
    script = (
        "import sys, joblib, numpy as np\n"
        "model = joblib.load(sys.argv[1])\n"
        "data = np.load(sys.argv[2])\n"
        "X = [data[f'arr_{i}'] for i in range(len(data.files))]\n"
        "np.save(sys.argv[3], model.decision_function(X))\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "model.joblib"),
            str(tmp_path / "data.npz"),
            str(tmp_path / "scores.npy"),
        ],
        check=True,
    )
    restored = np.load(tmp_path / "scores.npy")
    assert np.array_equal(restored, model.decision_function(X_new))


def test_predict_proba_agrees_with_predict(ragged):
    X, y = ragged
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    rng = np.random.default_rng(6)
    X_new = [rng.normal(size=(rng.integers(1, 9), 4)) * 2 for _ in range(50)]
    proba = model.predict_proba(X_new)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X_new))
    # Probabilities are not saturated at the typical margin.
    assert 0.05 < np.median(proba.max(axis=1)) < 0.999


def test_decision_function_binary_shape(ragged):
    X, y = ragged
    mask = y < 2
    X_binary = [sequence for sequence, keep in zip(X, mask) if keep]
    model = HardmaxTransformerClassifier().fit(X_binary, y[mask])
    scores = model.decision_function(X_binary)
    assert scores.shape == (mask.sum(),)
    assert np.array_equal(model.classes_[(scores > 0).astype(int)], y[mask])


def test_get_feature_names_out_matches_transform(ragged):
    X, y = ragged
    model = HardmaxTransformerClassifier(
        embedding="moments", pooling=("mean", "max"), positional_moments=1
    )
    model.fit(X, y)
    names = model.get_feature_names_out()
    assert names.shape == (model.transform(X[:2]).shape[1],)
    assert names[0] == "mean_x0"
    assert "max_x3_cos1" in names
    convolution = HardmaxTransformerClassifier(pooling=("mean", "max")).fit(X, y)
    names = convolution.get_feature_names_out()
    assert names.shape == (convolution.transform(X[:2]).shape[1],)
    assert names[0] == "mean_conv0"
    assert "max_conv83" in names
    assert "proportion_conv0_bias0" in names


@pytest.fixture(scope="module")
def japanese_vowels():
    return load_japanese_vowels("train"), load_japanese_vowels("test")


def test_japanese_vowels_exact_and_accurate(japanese_vowels):
    (X_train, y_train), (X_test, y_test) = japanese_vowels
    model = HardmaxTransformerClassifier(random_state=0).fit(X_train, y_train)
    assert model.score(X_train, y_train) == 1.0
    assert model.score(X_test, y_test) >= 0.95
    assert model.n_blocks_ <= len(X_train) + 2
