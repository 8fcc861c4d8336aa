"""TokenTransformer: token-wise transformers on every input form and in tools."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import NMF, PCA
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    Normalizer,
    StandardScaler,
)
from sklearn.utils import estimator_checks, get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax import TokenTransformer


class LabelRecorder(TransformerMixin, BaseEstimator):
    """Identity transformer that stores the X and y that ``fit`` received."""

    def fit(self, X, y=None):
        self.fitted_X_ = X
        self.fitted_y_ = y
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X


class TargetRequiringTransformer(LabelRecorder):
    """Identity transformer whose tags mark y as required by ``fit``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _pad(X, max_tokens=None):
    """Stack sequences into a 3-D array with trailing all-NaN padding rows."""
    if max_tokens is None:
        max_tokens = max(len(sequence) for sequence in X)
    padded = np.full((len(X), max_tokens, X[0].shape[1]), np.nan)
    for index, sequence in enumerate(X):
        padded[index, : len(sequence)] = sequence
    return padded


@pytest.fixture
def ragged():
    rng = np.random.default_rng(0)
    lengths = (3, 1, 6, 2, 5, 4)
    return [rng.normal(size=(length, 4)) * 3 + 1 for length in lengths]


@pytest.fixture(scope="module")
def labelled():
    """Three classes of 12 sequences each, 2 to 8 tokens of 4 features."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 4)) * 2
    y = np.repeat(np.arange(3), 12)
    X = [centers[label] + rng.normal(size=(rng.integers(2, 9), 4)) for label in y]
    return X, y


# scikit-learn's estimator checks, with no expected failures.


@parametrize_with_checks([TokenTransformer(), TokenTransformer(PCA(n_components=1))])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# scikit-learn 1.9 runs these checks in its own test suite only, not in
# parametrize_with_checks, so they run here by name.
EXTRA_CHECKS = [
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_dataframe_column_names_consistency",
    "check_param_validation",
]


# The pandas checks fit on an array and transform a DataFrame on purpose, so
# scikit-learn warns about the missing feature names.
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names")
@pytest.mark.parametrize("check_name", EXTRA_CHECKS)
@pytest.mark.parametrize(
    "estimator",
    [TokenTransformer(), TokenTransformer(PCA(n_components=2))],
    ids=["default", "pca"],
)
def test_sklearn_output_and_name_checks(estimator, check_name):
    check = getattr(estimator_checks, check_name)
    check(type(estimator).__name__, estimator)


# Each input form comes back in its own form.


def test_transform_list_returns_list(ragged):
    output = TokenTransformer().fit(ragged).transform(ragged)
    assert isinstance(output, list)
    assert [sequence.shape for sequence in output] == [s.shape for s in ragged]


def test_transform_tuple_returns_list(ragged):
    output = TokenTransformer().fit(ragged).transform(tuple(ragged))
    assert isinstance(output, list)
    assert len(output) == len(ragged)


def test_transform_object_array_returns_object_array(ragged):
    objects = np.empty(len(ragged), dtype=object)
    objects[:] = ragged
    output = TokenTransformer().fit(objects).transform(objects)
    assert isinstance(output, np.ndarray)
    assert output.dtype == object
    assert output.shape == (len(ragged),)
    assert [sequence.shape for sequence in output] == [s.shape for s in ragged]


def test_transform_nested_lists_return_list(ragged):
    nested = [sequence.tolist() for sequence in ragged]
    output = TokenTransformer().fit(nested).transform(nested)
    assert isinstance(output, list)
    assert [sequence.shape for sequence in output] == [s.shape for s in ragged]


def test_transform_padded_returns_padded(ragged):
    padded = _pad(ragged)
    output = TokenTransformer().fit(padded).transform(padded)
    assert isinstance(output, np.ndarray)
    assert output.shape == padded.shape


def test_transform_table_returns_table():
    X = np.random.default_rng(2).normal(size=(10, 3))
    output = TokenTransformer().fit(X).transform(X)
    assert isinstance(output, np.ndarray)
    assert output.shape == (10, 3)


def test_transform_list_of_rows_returns_table():
    rows = np.random.default_rng(3).normal(size=(6, 2)).tolist()
    output = TokenTransformer().fit(rows).transform(rows)
    assert isinstance(output, np.ndarray)
    assert output.shape == (6, 2)


def test_fit_transform_matches_fit_then_transform(ragged):
    for X in (ragged, _pad(ragged), np.vstack(ragged)):
        fitted = TokenTransformer(PCA(n_components=2)).fit(X).transform(X)
        at_once = TokenTransformer(PCA(n_components=2)).fit_transform(X)
        np.testing.assert_allclose(np.vstack(at_once), np.vstack(fitted))


# The output is the inner transformer applied to the stacked tokens.


def test_transform_matches_inner_on_stacked_tokens(ragged):
    stacked = np.vstack(ragged)
    expected = StandardScaler().fit(stacked).transform(stacked)
    output = TokenTransformer(StandardScaler()).fit(ragged).transform(ragged)
    np.testing.assert_allclose(np.vstack(output), expected)


def test_transform_sequences_split_at_lengths(ragged):
    expected = StandardScaler().fit(np.vstack(ragged))
    output = TokenTransformer().fit(ragged).transform(ragged)
    for sequence, transformed in zip(ragged, output, strict=True):
        np.testing.assert_allclose(transformed, expected.transform(sequence))


def test_default_transformer_is_standard_scaler(ragged):
    model = TokenTransformer().fit(ragged)
    assert model.transformer is None
    assert isinstance(model.transformer_, StandardScaler)
    np.testing.assert_allclose(model.transformer_.mean_, np.vstack(ragged).mean(axis=0))


def test_fit_clones_transformer(ragged):
    inner = PCA(n_components=2)
    model = TokenTransformer(inner).fit(ragged)
    assert model.transformer_ is not inner
    assert not hasattr(inner, "components_")


def test_fit_padded_matches_fit_list(ragged):
    from_list = TokenTransformer().fit(ragged)
    from_padded = TokenTransformer().fit(_pad(ragged, max_tokens=9))
    np.testing.assert_allclose(
        from_padded.transformer_.mean_, from_list.transformer_.mean_
    )
    np.testing.assert_allclose(
        from_padded.transformer_.scale_, from_list.transformer_.scale_
    )


# PCA changes the number of features per token.


def test_pca_changes_token_size_list(ragged):
    output = TokenTransformer(PCA(n_components=2)).fit(ragged).transform(ragged)
    assert [sequence.shape for sequence in output] == [(len(s), 2) for s in ragged]


def test_pca_changes_token_size_padded(ragged):
    padded = _pad(ragged)
    output = TokenTransformer(PCA(n_components=3)).fit(padded).transform(padded)
    assert output.shape == (len(ragged), padded.shape[1], 3)


def test_pca_matches_inner_on_stacked_tokens(ragged):
    stacked = np.vstack(ragged)
    expected = PCA(n_components=2).fit(stacked).transform(stacked)
    output = TokenTransformer(PCA(n_components=2)).fit(ragged).transform(ragged)
    np.testing.assert_allclose(np.vstack(output), expected)


# Padding rows stay NaN and the sequence lengths are kept.


def test_padded_output_keeps_padding_rows(ragged):
    padded = _pad(ragged, max_tokens=8)
    output = TokenTransformer(PCA(n_components=2)).fit(padded).transform(padded)
    input_padding = np.isnan(padded).all(axis=2)
    output_padding = np.isnan(output).all(axis=2)
    assert np.array_equal(output_padding, input_padding)


def test_padded_output_keeps_lengths(ragged):
    padded = _pad(ragged, max_tokens=8)
    output = TokenTransformer().fit(padded).transform(padded)
    lengths = (~np.isnan(output).all(axis=2)).sum(axis=1)
    assert lengths.tolist() == [len(sequence) for sequence in ragged]


def test_padded_output_keeps_all_padding_column(ragged):
    # A trailing column of padding in every sequence is kept, not trimmed.
    padded = _pad(ragged, max_tokens=10)
    output = TokenTransformer().fit(padded).transform(padded)
    assert output.shape[1] == 10
    assert np.isnan(output[:, -1]).all()


def test_padded_output_tokens_have_no_nan(ragged):
    padded = _pad(ragged)
    output = TokenTransformer().fit(padded).transform(padded)
    tokens = output[~np.isnan(padded).all(axis=2)]
    assert np.isfinite(tokens).all()


def test_padded_output_matches_list_output(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    from_list = model.transform(ragged)
    from_padded = model.transform(_pad(ragged))
    for index, sequence in enumerate(from_list):
        np.testing.assert_allclose(from_padded[index, : len(sequence)], sequence)


# Fitting on one form and transforming another.


def test_fit_list_transform_padded(ragged):
    model = TokenTransformer().fit(ragged)
    output = model.transform(_pad(ragged))
    assert output.shape == _pad(ragged).shape
    np.testing.assert_allclose(output[2, :6], model.transform([ragged[2]])[0])


def test_fit_list_transform_table(ragged):
    model = TokenTransformer().fit(ragged)
    table = np.vstack(ragged)
    output = model.transform(table)
    assert output.shape == table.shape
    np.testing.assert_allclose(output, np.vstack(model.transform(ragged)))


def test_fit_padded_transform_list(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(_pad(ragged))
    output = model.transform(ragged)
    assert isinstance(output, list)
    assert [sequence.shape for sequence in output] == [(len(s), 2) for s in ragged]


def test_fit_table_transform_list(ragged):
    model = TokenTransformer().fit(np.vstack(ragged))
    output = model.transform(ragged)
    assert isinstance(output, list)
    np.testing.assert_allclose(np.vstack(output), model.transform(np.vstack(ragged)))


# Input validation.


def test_transform_wrong_token_size_list_raises(ragged):
    model = TokenTransformer().fit(ragged)
    with pytest.raises(ValueError, match="X has 3 features, but TokenTransformer is "):
        model.transform([np.ones((2, 3))])


def test_transform_wrong_token_size_padded_raises(ragged):
    model = TokenTransformer().fit(ragged)
    with pytest.raises(ValueError, match="expecting 4 features as input"):
        model.transform(np.ones((2, 3, 5)))


def test_transform_wrong_token_size_table_raises(ragged):
    model = TokenTransformer().fit(ragged)
    with pytest.raises(ValueError, match="X has 2 features, but TokenTransformer"):
        model.transform(np.ones((3, 2)))


def test_transform_before_fit_raises(ragged):
    with pytest.raises(NotFittedError, match="TokenTransformer instance is not fitted"):
        TokenTransformer().transform(ragged)


def test_fit_nan_inside_sequence_raises(ragged):
    ragged[1] = np.array([[1.0, np.nan, 0.0, 0.0]])
    with pytest.raises(ValueError, match="NaN: sequence 1, token 0, feature 1"):
        TokenTransformer().fit(ragged)


def test_fit_non_transformer_raises(ragged):
    with pytest.raises(InvalidParameterError, match="The 'transformer' parameter"):
        TokenTransformer("scaler").fit(ragged)


def test_fit_label_count_mismatch_raises(ragged):
    with pytest.raises(ValueError, match="X has 6 sequences but y has 5 labels"):
        TokenTransformer().fit(ragged, [0, 1, 0, 1, 0])


def test_fit_scalar_label_raises(ragged):
    with pytest.raises(ValueError, match="y has 1 labels"):
        TokenTransformer().fit(ragged, 0)


def test_transform_inner_output_wrong_rows_raises(ragged):
    first_row = FunctionTransformer(lambda tokens: tokens[:1])
    model = TokenTransformer(first_row).fit(ragged)
    with pytest.raises(ValueError, match=r"shape \(1, 4\) for 21 tokens"):
        model.transform(ragged)


# Labels reach the inner transformer, one per token.


def test_fit_repeats_labels_over_tokens(ragged):
    y = np.arange(len(ragged))
    model = TokenTransformer(LabelRecorder()).fit(ragged, y)
    expected = np.repeat(y, [len(sequence) for sequence in ragged])
    assert np.array_equal(model.transformer_.fitted_y_, expected)


def test_fit_repeats_labels_padded(ragged):
    y = np.array(list("abcdef"))
    model = TokenTransformer(LabelRecorder()).fit(_pad(ragged), y)
    expected = np.repeat(y, [len(sequence) for sequence in ragged])
    assert np.array_equal(model.transformer_.fitted_y_, expected)


def test_fit_repeats_multioutput_rows(ragged):
    y = np.arange(2 * len(ragged)).reshape(-1, 2)
    model = TokenTransformer(LabelRecorder()).fit(ragged, y)
    assert model.transformer_.fitted_y_.shape == (21, 2)
    assert model.transformer_.fitted_y_[:3].tolist() == [[0, 1]] * 3


def test_fit_table_passes_labels_unchanged():
    X = np.ones((4, 2))
    y = pd.Series([1, 0, 1, 0], index=list("wxyz"))
    model = TokenTransformer(LabelRecorder()).fit(X, y)
    assert model.transformer_.fitted_y_ is y


def test_fit_without_labels_passes_none(ragged):
    model = TokenTransformer(LabelRecorder()).fit(ragged)
    assert model.transformer_.fitted_y_ is None


def test_fit_select_k_best_keeps_informative_feature():
    rng = np.random.default_rng(4)
    y = np.arange(20) % 2
    X = [rng.normal(size=(rng.integers(1, 6), 3)) for _ in y]
    for sequence, label in zip(X, y, strict=True):
        sequence[:, 1] += 5 * label
    model = TokenTransformer(SelectKBest(f_classif, k=1)).fit(X, y)
    assert model.transformer_.get_support().tolist() == [False, True, False]
    assert model.get_feature_names_out().tolist() == ["x1"]


# inverse_transform and get_feature_names_out delegate to the inner transformer.


def test_inverse_transform_round_trip_list(ragged):
    model = TokenTransformer().fit(ragged)
    restored = model.inverse_transform(model.transform(ragged))
    assert isinstance(restored, list)
    for sequence, back in zip(ragged, restored, strict=True):
        np.testing.assert_allclose(back, sequence)


def test_inverse_transform_round_trip_padded(ragged):
    padded = _pad(ragged)
    model = TokenTransformer(PCA(n_components=4)).fit(padded)
    restored = model.inverse_transform(model.transform(padded))
    np.testing.assert_allclose(restored, padded)


def test_inverse_transform_pca_restores_token_size(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    restored = model.inverse_transform(model.transform(ragged))
    assert [sequence.shape for sequence in restored] == [s.shape for s in ragged]


def test_inverse_transform_wrong_token_size_raises(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    with pytest.raises(ValueError, match="expects 2, the output size of PCA"):
        model.inverse_transform(ragged)


def test_inverse_transform_unavailable_without_inner():
    assert not hasattr(TokenTransformer(Normalizer()), "inverse_transform")
    assert hasattr(TokenTransformer(), "inverse_transform")


def test_get_feature_names_out_pca(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    assert model.get_feature_names_out().tolist() == ["pca0", "pca1"]


def test_get_feature_names_out_dataframe_names():
    frame = pd.DataFrame(np.eye(3), columns=["pitch", "energy", "rate"])
    model = TokenTransformer().fit(frame)
    assert model.feature_names_in_.tolist() == ["pitch", "energy", "rate"]
    assert model.get_feature_names_out().tolist() == ["pitch", "energy", "rate"]


def test_get_feature_names_out_wrong_count_raises(ragged):
    model = TokenTransformer().fit(ragged)
    with pytest.raises(ValueError, match="input_features should have length equal"):
        model.get_feature_names_out(["a", "b"])


def test_get_feature_names_out_unavailable_without_inner(ragged):
    model = TokenTransformer(FunctionTransformer(np.tanh)).fit(ragged)
    assert not hasattr(model, "get_feature_names_out")


def test_fit_list_drops_dataframe_names():
    model = TokenTransformer().fit(pd.DataFrame(np.eye(2), columns=["a", "b"]))
    model.fit([np.eye(2)])
    assert not hasattr(model, "feature_names_in_")
    assert model.n_features_in_ == 2


# Output containers.


def test_set_output_pandas_table_returns_dataframe():
    frame = pd.DataFrame(np.eye(3), columns=["a", "b", "c"], index=list("xyz"))
    output = TokenTransformer().set_output(transform="pandas").fit_transform(frame)
    assert isinstance(output, pd.DataFrame)
    assert output.columns.tolist() == ["a", "b", "c"]
    assert output.index.tolist() == ["x", "y", "z"]


def test_set_output_pandas_ragged_raises(ragged):
    model = TokenTransformer().set_output(transform="pandas").fit(ragged)
    with pytest.raises(ValueError, match="set_output\\(transform='default'\\)"):
        model.transform(ragged)


def test_set_output_pandas_ragged_fit_transform_raises(ragged):
    model = TokenTransformer().set_output(transform="pandas")
    with pytest.raises(ValueError, match="X is a list of sequences"):
        model.fit_transform(ragged)
    assert not hasattr(model, "transformer_")


def test_inner_pandas_output_is_reset(ragged):
    inner = StandardScaler().set_output(transform="pandas")
    output = TokenTransformer(inner).fit(ragged).transform(ragged)
    assert all(isinstance(sequence, np.ndarray) for sequence in output)


def test_sparse_inner_output_made_dense(ragged):
    inner = KBinsDiscretizer(n_bins=3, encode="onehot", strategy="uniform")
    output = TokenTransformer(inner).fit(ragged).transform(ragged)
    assert all(isinstance(sequence, np.ndarray) for sequence in output)
    assert output[0].shape == (3, 12)
    assert np.array_equal(output[0].sum(axis=1), [4.0, 4.0, 4.0])


# Tags.


def test_tags_reject_nan():
    assert get_tags(TokenTransformer()).input_tags.allow_nan is False


def test_tags_propagate_positive_only():
    assert get_tags(TokenTransformer(NMF())).input_tags.positive_only is True
    assert get_tags(TokenTransformer()).input_tags.positive_only is False


def test_tags_propagate_target_required():
    tags = get_tags(TokenTransformer(TargetRequiringTransformer()))
    assert tags.target_tags.required is True
    assert get_tags(TokenTransformer()).target_tags.required is False


def test_tags_preserve_only_float64():
    tags = get_tags(TokenTransformer())
    assert tags.transformer_tags.preserves_dtype == ["float64"]


# In scikit-learn tools, in front of the classifier.


def _pipeline(**transformer_parameters):
    return Pipeline(
        [
            ("tokens", TokenTransformer(PCA(n_components=3, **transformer_parameters))),
            ("model", HardmaxTransformerClassifier(random_state=0)),
        ]
    )


def test_pipeline_before_classifier_on_ragged_list(labelled):
    X, y = labelled
    pipeline = _pipeline().fit(X, y)
    assert pipeline.score(X, y) == 1.0
    assert pipeline.named_steps["model"].n_features_in_ == 3


def test_pipeline_predicts_padded_after_list_fit(labelled):
    X, y = labelled
    pipeline = _pipeline().fit(X, y)
    assert np.array_equal(pipeline.predict(_pad(X)), pipeline.predict(X))


def test_grid_search_tunes_inner_and_classifier(labelled):
    X, y = labelled
    search = GridSearchCV(
        _pipeline(),
        {
            "tokens__transformer__n_components": [2, 4],
            "model__positional_moments": [0, 1],
        },
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best_tokens = search.best_estimator_.named_steps["tokens"]
    assert best_tokens.transformer_.n_components_ in (2, 4)
    assert search.best_estimator_.score(X, y) == 1.0


def test_cross_val_score_stratified(labelled):
    X, y = labelled
    scores = cross_val_score(
        _pipeline(), X, y, cv=StratifiedKFold(4, shuffle=True, random_state=0)
    )
    assert scores.shape == (4,)
    # The three classes are well separated, so most sequences are classified
    # correctly.
    assert scores.mean() > 0.8


# Persistence and cloning.


def test_joblib_round_trip(ragged, tmp_path):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    joblib.dump(model, tmp_path / "tokens.joblib")
    restored = joblib.load(tmp_path / "tokens.joblib")
    np.testing.assert_array_equal(
        np.vstack(restored.transform(ragged)), np.vstack(model.transform(ragged))
    )


def test_pickle_round_trip_padded(ragged):
    model = TokenTransformer().fit(ragged)
    restored = pickle.loads(pickle.dumps(model))
    padded = _pad(ragged)
    np.testing.assert_array_equal(restored.transform(padded), model.transform(padded))


def test_clone_keeps_parameters_and_drops_fit(ragged):
    model = TokenTransformer(PCA(n_components=2)).fit(ragged)
    copy = clone(model)
    assert copy.get_params()["transformer__n_components"] == 2
    assert copy.transformer is not model.transformer
    assert not hasattr(copy, "transformer_")


def test_set_params_reaches_inner_transformer(ragged):
    model = TokenTransformer(PCA(n_components=2))
    model.set_params(transformer__n_components=1).fit(ragged)
    assert model.transform(ragged)[0].shape == (3, 1)
