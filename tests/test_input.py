"""Input forms accepted by the classifier and the errors for bad input."""

import numpy as np
import pytest

from sklearn_hardmax import HardmaxTransformerClassifier


@pytest.fixture
def ragged():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(length, 2)) for length in (3, 1, 4, 2, 5, 2)]
    return X, np.array([0, 1, 0, 1, 0, 1])


def _padded(X):
    padded = np.full((len(X), max(len(s) for s in X), X[0].shape[1]), np.nan)
    for index, sequence in enumerate(X):
        padded[index, : len(sequence)] = sequence
    return padded


def test_input_padded_array_matches_list(ragged):
    X, y = ragged
    from_list = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    from_padded = HardmaxTransformerClassifier(random_state=0).fit(_padded(X), y)
    assert np.array_equal(from_list.transform(X), from_padded.transform(_padded(X)))
    assert from_padded.n_params_ == from_list.n_params_


def test_input_other_list_forms_match(ragged):
    X, y = ragged
    reference = HardmaxTransformerClassifier(random_state=0).fit(X, y).transform(X)
    objects = np.empty(len(X), dtype=object)
    objects[:] = X
    for form in (tuple(X), objects, [sequence.tolist() for sequence in X]):
        model = HardmaxTransformerClassifier(random_state=0).fit(form, y)
        assert np.array_equal(model.transform(form), reference)


def test_input_2d_array_is_one_token_per_row():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 3))
    y = np.arange(8) % 2
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    as_sequences = [row[None, :] for row in X]
    assert np.array_equal(model.transform(X), model.transform(as_sequences))
    assert np.array_equal(model.transform(X.tolist()), model.transform(X))
    assert model.n_features_in_ == 3


def test_input_padded_keeps_inner_rows():
    # Only trailing all-NaN rows are padding: a sequence of one real token
    # followed by padding has length 1.
    X = np.array([[[1.0], [np.nan], [np.nan]], [[2.0], [3.0], [4.0]]])
    model = HardmaxTransformerClassifier().fit(X, [0, 1])
    assert model.predict([np.array([[1.0]]), np.array([[2.0], [3.0], [4.0]])]).tolist() == [0, 1]


@pytest.mark.parametrize(
    "X, message",
    [
        ([np.ones((2, 2)), np.ones((0, 2))], "Sequence 1 is empty"),
        ([np.ones((2, 2)), np.ones((2, 3))], "Sequence 1 has 3 features per token"),
        # The first failing sequence is named, and an empty one as empty.
        ([np.ones((2, 2)), np.ones((2, 3)), np.ones((0, 2))], "Sequence 1 has 3 features"),
        ([np.ones((2, 2)), np.ones((0, 3)), np.ones((2, 3))], r"Sequence 1 is empty \(shape \(0, 3\)\)"),
        ([np.ones((2, 2)), np.array([[1.0, np.nan]])], "NaN: sequence 1, token 0, feature 1"),
        ([np.array([[np.inf, 1.0]]), np.ones((2, 2))], "infinity: sequence 0, token 0"),
        ([np.ones((2, 2)), np.ones((2, 2)) * 1j], "Complex data not supported: sequence 1"),
        ([np.ones((2, 2)), np.array([["a", "b"]])], "Sequence 1 contains non-numeric"),
        ([np.ones((2, 2)), np.ones(2)], "Sequence 1 is 1-D"),
        ([np.ones((2, 2)), []], "Sequence 1 is empty; every sequence needs"),
        ([np.ones((2, 2)), [[1.0, 2.0], [3.0]]], "Sequence 1 is ragged"),
        (np.ones((2, 2, 2, 2)), "got a 4-D array"),
        (np.ones(4), "Reshape your data"),
        (np.ones((2, 0)), "0 feature"),
    ],
)
def test_input_rejected_with_clear_message(X, message):
    with pytest.raises(ValueError, match=message):
        HardmaxTransformerClassifier().fit(X, np.arange(len(X)) % 2)


def test_input_none_rejected(ragged):
    X, y = ragged
    with pytest.raises(ValueError, match="X is None. Expected a list of 2-D arrays"):
        HardmaxTransformerClassifier().fit(None, y)
    model = HardmaxTransformerClassifier(embedding="moments").fit(X, y)
    with pytest.raises(ValueError, match="X is None"):
        model.predict(None)


def test_input_padded_nan_inside_sequence_rejected():
    X = np.array([[[1.0], [np.nan], [2.0]], [[2.0], [3.0], [4.0]]])
    with pytest.raises(ValueError, match="NaN: sequence 0, token 1"):
        HardmaxTransformerClassifier().fit(X, [0, 1])


def test_input_padded_partial_nan_row_rejected():
    X = np.array([[[1.0, 1.0], [np.nan, 2.0]], [[2.0, 1.0], [3.0, 1.0]]])
    with pytest.raises(ValueError, match="NaN: sequence 0, token 1, feature 0"):
        HardmaxTransformerClassifier().fit(X, [0, 1])


def test_input_padded_all_nan_sequence_rejected():
    X = np.array([[[1.0], [2.0]], [[np.nan], [np.nan]]])
    with pytest.raises(ValueError, match="Sequence 1 is empty"):
        HardmaxTransformerClassifier().fit(X, [0, 1])


def test_input_padded_inf_rejected():
    X = np.array([[[1.0], [np.inf]], [[2.0], [np.nan]]])
    with pytest.raises(ValueError, match="infinity: sequence 0, token 1"):
        HardmaxTransformerClassifier().fit(X, [0, 1])


def test_input_token_size_checked_at_predict(ragged):
    X, y = ragged
    model = HardmaxTransformerClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but HardmaxTransformerClassifier"):
        model.predict([np.ones((2, 3))])
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.ones((4, 3)))


def test_input_regression_target_rejected(ragged):
    X, _ = ragged
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        HardmaxTransformerClassifier().fit(X, np.linspace(0, 1, len(X)) + 0.5)


def test_input_label_count_mismatch_rejected(ragged):
    X, y = ragged
    with pytest.raises(ValueError, match="X has 6 sequences but y has 5 labels"):
        HardmaxTransformerClassifier().fit(X, y[:5])


def test_input_missing_labels_rejected(ragged):
    X, _ = ragged
    with pytest.raises(ValueError, match="requires y to be passed"):
        HardmaxTransformerClassifier().fit(X, None)


@pytest.mark.parametrize(
    "pooling", [(), ("avg",), ("mean", "mean"), ["max", "sum"]]
)
def test_pooling_parameter_rejected(ragged, pooling):
    X, y = ragged
    with pytest.raises(ValueError, match="The 'pooling' parameter"):
        HardmaxTransformerClassifier(pooling=pooling).fit(X, y)


def test_positional_moments_parameter_rejected(ragged):
    X, y = ragged
    with pytest.raises(ValueError, match="positional_moments"):
        HardmaxTransformerClassifier(positional_moments=-1).fit(X, y)


def test_input_not_modified(ragged):
    X, y = ragged
    copies = [sequence.copy() for sequence in X]
    padded = _padded(X)
    padded_copy = padded.copy()
    model = HardmaxTransformerClassifier().fit(X, y)
    model.predict(X)
    HardmaxTransformerClassifier().fit(padded, y).predict(padded)
    assert all(np.array_equal(a, b) for a, b in zip(X, copies))
    assert np.array_equal(padded, padded_copy, equal_nan=True)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 1, 2, 3, 1, 2]),
        np.array([True, False, True, False, True, False]),
        np.array(["b", "a", "c", "b", "a", "c"]),
        np.array([3.0, 1.0, 2.0, 3.0, 1.0, 2.0]),
        np.array(["b", "a", "c", "b", "a", "c"], dtype=object),
    ],
)
def test_input_label_types_accepted(ragged, labels):
    X, _ = ragged
    model = HardmaxTransformerClassifier(random_state=0).fit(X, labels)
    assert np.array_equal(model.predict(X), labels)


def test_input_bytes_labels_rejected(ragged):
    X, _ = ragged
    labels = np.array([b"a", b"b"] * 3)
    with pytest.raises(TypeError, match="bytes is not supported"):
        HardmaxTransformerClassifier().fit(X, labels)


@pytest.mark.parametrize("labels", [np.arange(30), np.arange(30).astype(str)])
def test_input_many_distinct_labels_warn(labels):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(3, 2)) for _ in range(30)]
    with pytest.warns(UserWarning, match="number of unique classes is greater than 50%"):
        HardmaxTransformerClassifier(embedding="moments", random_state=0).fit(X, labels)
