"""Tests for the conversions between sequence layouts in ``sklearn_hardmax.formats``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels
from sklearn_hardmax.formats import (
    from_channels_first,
    from_padded,
    to_channels_first,
    to_padded,
)

EQUAL = [
    np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]),
    np.array([[4.0, 40.0], [5.0, 50.0], [6.0, 60.0]]),
]
UNEQUAL = [
    np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]),
    np.array([[4.0, 40.0]]),
    np.array([[5.0, 50.0], [6.0, 60.0]]),
]


def assert_sequences_equal(actual, expected):
    assert isinstance(actual, list)
    assert len(actual) == len(expected)
    for index, (sequence, reference) in enumerate(zip(actual, expected)):
        assert sequence.dtype == np.float64, index
        assert sequence.flags.c_contiguous, index
        np.testing.assert_array_equal(sequence, reference)


finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def sequence_lists(draw, equal_length=False):
    n_features = draw(st.integers(min_value=1, max_value=4))
    n_sequences = draw(st.integers(min_value=1, max_value=5))
    if equal_length:
        lengths = [draw(st.integers(min_value=1, max_value=6))] * n_sequences
    else:
        lengths = draw(
            st.lists(
                st.integers(min_value=1, max_value=6),
                min_size=n_sequences,
                max_size=n_sequences,
            )
        )
    sequences = []
    for n_tokens in lengths:
        values = draw(
            st.lists(
                finite_floats,
                min_size=n_tokens * n_features,
                max_size=n_tokens * n_features,
            )
        )
        sequences.append(np.array(values).reshape(n_tokens, n_features))
    return sequences


# to_channels_first


def test_to_channels_first_equal_lengths_array():
    result = to_channels_first(EQUAL)
    assert isinstance(result, np.ndarray)
    assert result.shape == (2, 2, 3)
    assert result.dtype == np.float64
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(result[0], [[1, 2, 3], [10, 20, 30]])
    np.testing.assert_array_equal(result[1], EQUAL[1].T)


def test_to_channels_first_unequal_lengths_list():
    result = to_channels_first(UNEQUAL)
    assert isinstance(result, list)
    assert [series.shape for series in result] == [(2, 3), (2, 1), (2, 2)]
    for series, sequence in zip(result, UNEQUAL):
        assert series.flags.c_contiguous
        np.testing.assert_array_equal(series, sequence.T)


def test_to_channels_first_as_array_false():
    result = to_channels_first(EQUAL, as_array=False)
    assert isinstance(result, list)
    assert [series.shape for series in result] == [(2, 3), (2, 3)]


def test_to_channels_first_as_array_true():
    result = to_channels_first(EQUAL, as_array=True)
    assert isinstance(result, np.ndarray)
    assert result.shape == (2, 2, 3)


def test_to_channels_first_as_array_numpy_bool():
    assert isinstance(to_channels_first(EQUAL, as_array=np.bool_(False)), list)


def test_to_channels_first_as_array_true_unequal():
    with pytest.raises(
        ValueError,
        match=r"as_array=True requires sequences of equal length, but sequence 0 "
        r"has 3 tokens and sequence 1 has 1",
    ):
        to_channels_first(UNEQUAL, as_array=True)


@pytest.mark.parametrize("as_array", ["yes", "AUTO", None, 1, 0])
def test_to_channels_first_invalid_as_array(as_array):
    with pytest.raises(ValueError, match=r"Invalid as_array=.* Expected 'auto'"):
        to_channels_first(EQUAL, as_array=as_array)


def test_to_channels_first_copies_input():
    sequences = [np.ones((1, 3)), np.ones((2, 3))]
    result = to_channels_first(sequences)
    for series, sequence in zip(result, sequences):
        assert not np.shares_memory(series, sequence)
    single_column = [np.ones((4, 1))]
    assert not np.shares_memory(to_channels_first(single_column)[0], single_column[0])


def test_to_channels_first_accepts_tuple_and_lists():
    result = to_channels_first(([[1, 2], [3, 4]], [[5, 6], [7, 8]]))
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result[1], [[5, 7], [6, 8]])


def test_to_channels_first_accepts_object_array():
    X = np.empty(len(UNEQUAL), dtype=object)
    X[:] = UNEQUAL
    result = to_channels_first(X)
    assert [series.shape for series in result] == [(2, 3), (2, 1), (2, 2)]


def test_to_channels_first_empty_list():
    with pytest.raises(ValueError, match=r"X contains no sequences"):
        to_channels_first([])


def test_to_channels_first_mismatched_features():
    X = [np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4))]
    with pytest.raises(
        ValueError,
        match=r"Sequence 2 has 4 features but sequence 0 has 3. All sequences must "
        r"have the same number of features",
    ):
        to_channels_first(X)


def test_to_channels_first_one_dimensional_sequence():
    with pytest.raises(
        ValueError,
        match=r"Sequence 1 is 1-D with shape \(3,\), expected a 2-D array "
        r"\(n_tokens, n_features\). Reshape .* x\[:, np.newaxis\]",
    ):
        to_channels_first([np.ones((3, 1)), np.ones(3)])


def test_to_channels_first_three_dimensional_sequence():
    with pytest.raises(ValueError, match=r"Sequence 0 is 3-D with shape \(1, 2, 3\)"):
        to_channels_first([np.ones((1, 2, 3))])


def test_to_channels_first_empty_sequence():
    with pytest.raises(
        ValueError, match=r"Sequence 1 is empty \(shape \(0, 2\)\).* Remove it"
    ):
        to_channels_first([np.ones((1, 2)), np.ones((0, 2))])


def test_to_channels_first_zero_features():
    with pytest.raises(ValueError, match=r"Sequence 0 has 0 features"):
        to_channels_first([np.ones((3, 0))])


def test_to_channels_first_non_numeric():
    with pytest.raises(ValueError, match=r"Sequence 1 contains non-numeric values"):
        to_channels_first([[[1.0]], [["a"]]])


def test_to_channels_first_ragged_sequence():
    with pytest.raises(ValueError, match=r"Sequence 1 is ragged"):
        to_channels_first([[[1.0, 2.0]], [[1.0, 2.0], [3.0]]])


def test_to_channels_first_complex():
    with pytest.raises(ValueError, match=r"Sequence 0 has complex values"):
        to_channels_first([np.ones((2, 2)) * 1j])


def test_to_channels_first_three_dimensional_array():
    with pytest.raises(
        ValueError, match=r"got a 3-D array of shape \(2, 3, 2\).*from_padded\(X\)"
    ):
        to_channels_first(np.ones((2, 3, 2)))


def test_to_channels_first_two_dimensional_array():
    with pytest.raises(
        ValueError, match=r"got a 2-D array of shape \(4, 3\). Pass \[X\]"
    ):
        to_channels_first(np.ones((4, 3)))


@pytest.mark.parametrize("X", [None, 3, "sequences", {"a": 1}])
def test_to_channels_first_invalid_type(X):
    with pytest.raises(TypeError, match=r"to_channels_first expects a list"):
        to_channels_first(X)


def test_to_channels_first_keeps_non_finite():
    result = to_channels_first([np.array([[np.nan, np.inf]])])
    assert np.isnan(result[0, 0, 0])
    assert np.isposinf(result[0, 1, 0])


# from_channels_first


def test_from_channels_first_array():
    X = np.arange(12.0).reshape(2, 2, 3)
    result = from_channels_first(X)
    assert_sequences_equal(result, [X[0].T, X[1].T])
    assert result[0].shape == (3, 2)


def test_from_channels_first_list():
    X = [np.zeros((2, 5)), np.arange(6).reshape(2, 3)]
    result = from_channels_first(X)
    assert_sequences_equal(result, [np.zeros((5, 2)), np.arange(6).reshape(2, 3).T])


def test_from_channels_first_copies_input():
    X = np.ones((2, 1, 4))
    for sequence in from_channels_first(X):
        assert not np.shares_memory(sequence, X)
    series = [np.ones((3, 2))]
    assert not np.shares_memory(from_channels_first(series)[0], series[0])


def test_from_channels_first_mismatched_channels():
    with pytest.raises(ValueError, match=r"Series 1 has 3 channels but series 0 has 2"):
        from_channels_first([np.ones((2, 4)), np.ones((3, 4))])


def test_from_channels_first_one_dimensional_series():
    with pytest.raises(
        ValueError,
        match=r"Series 0 is 1-D with shape \(5,\), expected a 2-D array "
        r"\(n_channels, n_timepoints\). Reshape .* \(1, n_timepoints\)",
    ):
        from_channels_first([np.ones(5)])


def test_from_channels_first_empty_series():
    with pytest.raises(
        ValueError,
        match=r"Series 1 is empty \(shape \(2, 0\)\).* at least one time point",
    ):
        from_channels_first([np.ones((2, 3)), np.ones((2, 0))])


def test_from_channels_first_zero_channels():
    with pytest.raises(ValueError, match=r"Series 0 has 0 channels"):
        from_channels_first([np.ones((0, 3))])


def test_from_channels_first_two_dimensional_array():
    with pytest.raises(
        ValueError, match=r"got a 2-D array of shape \(4, 7\).*X\[:, np.newaxis, :\]"
    ):
        from_channels_first(np.ones((4, 7)))


def test_from_channels_first_four_dimensional_array():
    with pytest.raises(ValueError, match=r"got a 4-D array of shape \(1, 1, 1, 1\)"):
        from_channels_first(np.ones((1, 1, 1, 1)))


@pytest.mark.parametrize("shape", [(0, 2, 3), (2, 0, 3), (2, 3, 0)])
def test_from_channels_first_zero_size_axis(shape):
    with pytest.raises(ValueError, match=r"needs at least one case, one channel"):
        from_channels_first(np.ones(shape))


def test_from_channels_first_empty_list():
    with pytest.raises(ValueError, match=r"X contains no series"):
        from_channels_first([])


def test_from_channels_first_invalid_type():
    with pytest.raises(TypeError, match=r"from_channels_first expects a list"):
        from_channels_first(5)


def test_from_channels_first_non_numeric_array():
    with pytest.raises(ValueError, match=r"X contains non-numeric values"):
        from_channels_first(np.full((1, 1, 2), "a"))


# Channels-first round trips


@given(sequence_lists())
def test_channels_first_round_trip(sequences):
    channels_first = to_channels_first(sequences)
    assert_sequences_equal(from_channels_first(channels_first), sequences)


@given(sequence_lists(equal_length=True))
def test_channels_first_round_trip_array(sequences):
    channels_first = to_channels_first(sequences, as_array=True)
    assert channels_first.ndim == 3
    assert_sequences_equal(from_channels_first(channels_first), sequences)


def test_channels_first_round_trip_japanese_vowels():
    X, _ = load_japanese_vowels("test")
    channels_first = to_channels_first(X)
    assert isinstance(channels_first, list)
    assert channels_first[0].shape == (12, X[0].shape[0])
    assert_sequences_equal(from_channels_first(channels_first), X)


# to_padded


def test_to_padded_unequal_lengths():
    result = to_padded(UNEQUAL)
    assert result.shape == (3, 3, 2)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result[0], UNEQUAL[0])
    np.testing.assert_array_equal(result[1, :1], UNEQUAL[1])
    assert np.isnan(result[1, 1:]).all()
    np.testing.assert_array_equal(result[2, :2], UNEQUAL[2])
    assert np.isnan(result[2, 2]).all()


def test_to_padded_equal_lengths_no_padding():
    result = to_padded(EQUAL)
    assert not np.isnan(result).any()
    np.testing.assert_array_equal(result, np.stack(EQUAL))


def test_to_padded_longer_length():
    result = to_padded(UNEQUAL, length=5)
    assert result.shape == (3, 5, 2)
    assert np.isnan(result[0, 3:]).all()
    np.testing.assert_array_equal(result[0, :3], UNEQUAL[0])


def test_to_padded_numpy_integer_length():
    assert to_padded(EQUAL, length=np.int64(4)).shape == (2, 4, 2)


def test_to_padded_length_too_short():
    with pytest.raises(
        ValueError,
        match=r"length=2 is shorter than sequence 0, which has 3 tokens. Pass a "
        r"length of at least 3",
    ):
        to_padded(UNEQUAL, length=2)


def test_to_padded_length_too_short_names_longest():
    X = [np.ones((1, 1)), np.ones((4, 1)), np.ones((2, 1))]
    with pytest.raises(ValueError, match=r"shorter than sequence 1, which has 4"):
        to_padded(X, length=0)


@pytest.mark.parametrize("length", [2.5, 3.0, True, "3"])
def test_to_padded_invalid_length(length):
    with pytest.raises(ValueError, match=r"Invalid length=.* Expected a positive"):
        to_padded(EQUAL, length=length)


def test_to_padded_nan_in_sequence():
    X = [np.ones((2, 2)), np.array([[1.0, 2.0], [3.0, np.nan]])]
    with pytest.raises(
        ValueError,
        match=r"Sequence 1 contains NaN at token 1, feature 1. to_padded marks "
        r"padding with NaN",
    ):
        to_padded(X)


def test_to_padded_keeps_infinity():
    result = to_padded([np.array([[np.inf], [-np.inf]]), np.ones((1, 1))])
    assert np.isposinf(result[0, 0, 0])
    assert np.isneginf(result[0, 1, 0])
    assert np.isnan(result[1, 1, 0])


def test_to_padded_mismatched_features():
    with pytest.raises(ValueError, match=r"Sequence 1 has 1 features but sequence 0"):
        to_padded([np.ones((2, 2)), np.ones((2, 1))])


def test_to_padded_empty_sequence():
    with pytest.raises(ValueError, match=r"Sequence 0 is empty"):
        to_padded([np.ones((0, 2))])


def test_to_padded_three_dimensional_array():
    with pytest.raises(ValueError, match=r"to_padded expects a list"):
        to_padded(np.ones((2, 2, 2)))


def test_to_padded_does_not_share_memory():
    X = [np.ones((2, 2))]
    assert not np.shares_memory(to_padded(X), X[0])


# from_padded


def test_from_padded_strips_trailing_rows():
    X = np.array(
        [
            [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            [[7.0, 8.0], [np.nan, np.nan], [np.nan, np.nan]],
            [[9.0, 10.0], [11.0, 12.0], [np.nan, np.nan]],
        ]
    )
    result = from_padded(X)
    assert_sequences_equal(result, [X[0], X[1, :1], X[2, :2]])


def test_from_padded_without_padding():
    X = np.arange(12).reshape(2, 3, 2)
    assert_sequences_equal(from_padded(X), [X[0], X[1]])


def test_from_padded_accepts_nested_lists():
    result = from_padded([[[1.0], [np.nan]], [[2.0], [3.0]]])
    assert_sequences_equal(result, [[[1.0]], [[2.0], [3.0]]])


def test_from_padded_does_not_share_memory():
    X = np.ones((2, 3, 1))
    for sequence in from_padded(X):
        assert not np.shares_memory(sequence, X)


def test_from_padded_partial_nan_row():
    X = np.ones((2, 3, 2))
    X[1, 2, 0] = np.nan
    with pytest.raises(
        ValueError,
        match=r"Sequence 1, token 2 contains NaN in feature 0. Only trailing all-NaN "
        r"token rows are read as padding",
    ):
        from_padded(X)


def test_from_padded_nan_before_padding():
    X = np.ones((1, 4, 2))
    X[0, 1, 1] = np.nan
    X[0, 3] = np.nan
    with pytest.raises(
        ValueError, match=r"Sequence 0, token 1 contains NaN in feature 1"
    ):
        from_padded(X)


def test_from_padded_nan_row_inside_sequence():
    X = np.ones((3, 4, 2))
    X[2, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"Sequence 2, token 1 is all NaN but is followed by tokens that are not",
    ):
        from_padded(X)


def test_from_padded_all_nan_sequence():
    X = np.ones((3, 2, 2))
    X[1] = np.nan
    with pytest.raises(
        ValueError, match=r"Sequence 1 is all NaN, so it has no tokens.* Remove it"
    ):
        from_padded(X)


def test_from_padded_keeps_infinity():
    X = np.array([[[np.inf], [np.nan]]])
    result = from_padded(X)
    assert result[0].shape == (1, 1)
    assert np.isposinf(result[0][0, 0])


def test_from_padded_two_dimensional_array():
    with pytest.raises(
        ValueError,
        match=r"Expected a 3-D array .* got a 2-D array of shape \(2, 5\). For "
        r"univariate series .* X\[:, :, np.newaxis\]",
    ):
        from_padded(np.ones((2, 5)))


def test_from_padded_list_of_unequal_sequences():
    with pytest.raises(ValueError, match=r"X is ragged"):
        from_padded([np.ones((2, 1)), np.ones((3, 1))])


@pytest.mark.parametrize("shape", [(0, 2, 2), (2, 0, 2), (2, 2, 0)])
def test_from_padded_zero_size_axis(shape):
    with pytest.raises(ValueError, match=r"needs at least one sequence, one token"):
        from_padded(np.ones(shape))


def test_from_padded_non_numeric():
    with pytest.raises(ValueError, match=r"X contains non-numeric values"):
        from_padded([[["a"]]])


def test_from_padded_complex():
    with pytest.raises(ValueError, match=r"X has complex values"):
        from_padded(np.ones((1, 1, 1)) * 1j)


# Padded round trips and agreement with the estimator


@given(sequence_lists())
def test_padded_round_trip(sequences):
    padded = to_padded(sequences)
    assert padded.shape[1] == max(sequence.shape[0] for sequence in sequences)
    assert_sequences_equal(from_padded(padded), sequences)


@given(sequence_lists(), st.integers(min_value=0, max_value=3))
def test_padded_round_trip_extra_length(sequences, extra):
    length = max(sequence.shape[0] for sequence in sequences) + extra
    assert_sequences_equal(from_padded(to_padded(sequences, length=length)), sequences)


def test_padded_round_trip_japanese_vowels():
    X, _ = load_japanese_vowels("train")
    padded = to_padded(X)
    assert padded.shape == (270, 26, 12)
    assert_sequences_equal(from_padded(padded), X)


def test_padded_predictions_match_list():
    # The estimator reads a padded array as the same sequences as the list.
    X, y = load_japanese_vowels("train")
    X, y = X[:40], y[:40]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(to_padded(X)), model.predict(X))


# Agreement with other libraries, when they are installed


def test_to_padded_matches_tslearn():
    tslearn_utils = pytest.importorskip("tslearn.utils")
    expected = tslearn_utils.to_time_series_dataset(UNEQUAL)
    np.testing.assert_array_equal(to_padded(UNEQUAL), expected)
    assert_sequences_equal(from_padded(expected), UNEQUAL)


def test_channels_first_matches_aeon(tmp_path):
    aeon_datasets = pytest.importorskip("aeon.datasets")
    import gzip
    from importlib import resources

    resource = (
        resources.files("sklearn_hardmax.datasets")
        / "data"
        / "JapaneseVowels_TRAIN.ts.gz"
    )
    path = tmp_path / "JapaneseVowels_TRAIN.ts"
    path.write_bytes(gzip.decompress(resource.read_bytes()))
    aeon_X, aeon_y = aeon_datasets.load_from_ts_file(str(path))
    X, y = load_japanese_vowels("train")
    assert_sequences_equal(from_channels_first(aeon_X), X)
    for series, expected in zip(to_channels_first(X), aeon_X):
        np.testing.assert_array_equal(series, expected)
    assert aeon_y.tolist() == y.tolist()
