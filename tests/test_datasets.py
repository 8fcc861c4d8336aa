"""Tests for the bundled Japanese Vowels data and the ``.ts`` reader."""

import gzip
import hashlib
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_hardmax.datasets import load_japanese_vowels
from sklearn_hardmax.datasets._ts_format import _load_ts_file

# md5 of the uncompressed .ts files, also listed in the data folder's README.md.
EXPECTED_MD5 = {
    "train": "9165e3eec783ac6342d658685c864d19",
    "test": "14d15214e3ab6ac39ab2d48901d3e2a3",
}
FILENAMES = {
    "train": "JapaneseVowels_TRAIN.ts",
    "test": "JapaneseVowels_TEST.ts",
}
CLASS_LABELS = [str(label) for label in range(1, 10)]

# CI places an uncompressed reference copy of the data beside the clone, and a
# user's checkout may not have it, so the tests that use it skip without it.
REFERENCE_FOLDER = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "JapaneseVowels"
)
requires_reference = pytest.mark.skipif(
    not REFERENCE_FOLDER.is_dir(),
    reason=f"reference copy of the data not found at {REFERENCE_FOLDER}",
)


def read_bundled_bytes(split):
    resource = (
        resources.files("sklearn_hardmax.datasets")
        / "data"
        / (FILENAMES[split] + ".gz")
    )
    with resource.open("rb") as compressed:
        return gzip.decompress(compressed.read())


def parse_reference_file(path):
    """Parse a .ts file with plain string splitting, independent of the reader."""
    lines = path.read_text(encoding="ascii").splitlines()
    data_start = lines.index("@data") + 1
    data_lines = lines[data_start:]
    sequences = []
    labels = []
    for line in data_lines:
        *channels, label = line.split(":")
        values = [
            [float(value) for value in channel.split(",")] for channel in channels
        ]
        sequences.append(np.array(values).T)
        labels.append(label)
    return sequences, labels


# load_japanese_vowels


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_japanese_vowels_types(split):
    X, y = load_japanese_vowels(split)
    assert isinstance(X, list)
    for sequence in X:
        assert isinstance(sequence, np.ndarray)
        assert sequence.dtype == np.float64
        assert sequence.ndim == 2
        assert sequence.shape[1] == 12
        assert sequence.flags.c_contiguous
    assert isinstance(y, np.ndarray)
    assert y.ndim == 1
    assert y.dtype.kind == "U"


def test_load_japanese_vowels_default_is_train():
    X_default, y_default = load_japanese_vowels()
    X_train, y_train = load_japanese_vowels(split="train")
    assert len(X_default) == len(X_train)
    for default, train in zip(X_default, X_train):
        np.testing.assert_array_equal(default, train)
    np.testing.assert_array_equal(y_default, y_train)


def test_load_japanese_vowels_train_counts():
    X, y = load_japanese_vowels("train")
    assert len(X) == 270
    assert len(y) == 270
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == CLASS_LABELS
    assert counts.tolist() == [30] * 9


def test_load_japanese_vowels_test_counts():
    X, y = load_japanese_vowels("test")
    assert len(X) == 370
    assert len(y) == 370
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == CLASS_LABELS
    assert counts.min() == 24
    assert counts.max() == 88


def test_load_japanese_vowels_train_lengths():
    X, _ = load_japanese_vowels("train")
    lengths = [sequence.shape[0] for sequence in X]
    assert min(lengths) == 7
    assert max(lengths) == 26


def test_load_japanese_vowels_test_lengths():
    X, _ = load_japanese_vowels("test")
    lengths = [sequence.shape[0] for sequence in X]
    assert min(lengths) == 7
    assert max(lengths) == 29


def test_load_japanese_vowels_values_finite():
    for split in ("train", "test"):
        X, _ = load_japanese_vowels(split)
        assert all(np.isfinite(sequence).all() for sequence in X)


def test_load_japanese_vowels_first_sequence():
    # The first data line of the training file starts with these values, channel
    # by channel, so they are the first row once tokens come first.
    X, y = load_japanese_vowels("train")
    assert X[0].shape == (20, 12)
    assert X[0][0, 0] == 1.860936
    assert X[0][1, 0] == 1.891651
    assert X[0][0, 1] == -0.207383
    assert y[0] == "1"


@pytest.mark.parametrize("split", ["validation", "TRAIN", "", None, 0])
def test_load_japanese_vowels_invalid_split(split):
    with pytest.raises(
        ValueError, match=r"Invalid split .* Expected 'train' or 'test'"
    ) as info:
        load_japanese_vowels(split)
    assert repr(split) in str(info.value)


# Bundled files


@pytest.mark.parametrize("split", ["train", "test"])
def test_bundled_file_md5(split):
    digest = hashlib.md5(read_bundled_bytes(split)).hexdigest()
    assert digest == EXPECTED_MD5[split]


def test_bundled_readme_lists_md5():
    readme = (
        resources.files("sklearn_hardmax.datasets") / "data" / "README.md"
    ).read_text(encoding="utf-8")
    for digest in EXPECTED_MD5.values():
        assert digest in readme
    assert "CC BY 4.0" in readme


@requires_reference
def test_expected_md5_matches_provenance():
    provenance = (REFERENCE_FOLDER / "PROVENANCE.md").read_text(encoding="utf-8")
    assert f"TRAIN {EXPECTED_MD5['train']}" in provenance
    assert f"TEST {EXPECTED_MD5['test']}" in provenance


@requires_reference
@pytest.mark.parametrize("split", ["train", "test"])
def test_bundled_file_matches_reference_bytes(split):
    reference = (REFERENCE_FOLDER / FILENAMES[split]).read_bytes()
    assert read_bundled_bytes(split) == reference


@requires_reference
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_japanese_vowels_matches_reference(split):
    X, y = load_japanese_vowels(split)
    expected_X, expected_y = parse_reference_file(REFERENCE_FOLDER / FILENAMES[split])
    assert len(X) == len(expected_X)
    for sequence, expected in zip(X, expected_X):
        np.testing.assert_array_equal(sequence, expected)
    assert y.tolist() == expected_y


@requires_reference
def test_load_ts_file_reads_path():
    path = REFERENCE_FOLDER / FILENAMES["train"]
    from_path = _load_ts_file(path)
    from_string_path = _load_ts_file(str(path))
    X, y = load_japanese_vowels("train")
    for loaded_X, loaded_y in (from_path, from_string_path):
        assert len(loaded_X) == len(X)
        np.testing.assert_array_equal(loaded_X[-1], X[-1])
        np.testing.assert_array_equal(loaded_y, y)


# _load_ts_file on hand-written input

HEADER = """\
# A comment line.
@problemName Tiny
@dimensions 2
@equalLength false
@classLabel true a b
@data
"""
# Line numbers of the first and second data lines after HEADER.
FIRST_DATA_LINE = 7
SECOND_DATA_LINE = 8


def load_text(text):
    return _load_ts_file(io.StringIO(text))


def test_load_ts_file_unequal_lengths():
    sequences, labels = load_text(HEADER + "1,2,3:4,5,6:a\n7:8:b\n")
    assert len(sequences) == 2
    np.testing.assert_array_equal(sequences[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(sequences[1], [[7, 8]])
    assert labels.tolist() == ["a", "b"]


def test_load_ts_file_skips_blank_and_comments():
    text = HEADER + "\n# comment between data lines\n1,2:3,4:b\n\n"
    sequences, labels = load_text(text)
    assert len(sequences) == 1
    assert labels.tolist() == ["b"]


def test_load_ts_file_accepts_whitespace_and_crlf():
    text = HEADER.replace("\n", "\r\n") + " 1.5, 2e-3 : -3 ,4 : a \r\n"
    sequences, labels = load_text(text)
    np.testing.assert_array_equal(sequences[0], [[1.5, -3.0], [2e-3, 4.0]])
    assert labels.tolist() == ["a"]


def test_load_ts_file_header_case_insensitive():
    text = "@DIMENSIONS 1\n@classlabel TRUE x\n@DATA\n1,2:x\n"
    sequences, labels = load_text(text)
    assert sequences[0].shape == (2, 1)
    assert labels.tolist() == ["x"]


def test_load_ts_file_without_dimensions():
    text = "@classLabel true a\n@data\n1:2:3:a\n4:5:6:a\n"
    sequences, _ = load_text(text)
    assert sequences[0].shape == (1, 3)


def test_load_ts_file_without_dimensions_mismatch():
    text = "@classLabel true a\n@data\n1:2:3:a\n4:5:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 4: found 2 channels, expected 3 as set by the first sequence "
        r"\(line 3\)",
    ):
        load_text(text)


def test_load_ts_file_dimensions_mismatch():
    text = HEADER + "1,2:3,4:a\n1,2:3,4:5,6:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {SECOND_DATA_LINE}: found 3 channels, expected 2 as set by "
        "'@dimensions'",
    ):
        load_text(text)


def test_load_ts_file_channel_lengths_differ():
    text = HEADER + "1,2,3:4,5:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {FIRST_DATA_LINE}: channel 2 has 2 values but channel 1 has 3",
    ):
        load_text(text)


def test_load_ts_file_missing_value():
    text = HEADER + "1,?:3,4:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {FIRST_DATA_LINE}, channel 1, value 2: missing value '\?'",
    ):
        load_text(text)


def test_load_ts_file_non_numeric_value():
    text = HEADER + "1,2:3,x4:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {FIRST_DATA_LINE}, channel 2, value 2: invalid value 'x4'",
    ):
        load_text(text)


def test_load_ts_file_empty_value():
    text = HEADER + "1,,2:3,4,5:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {FIRST_DATA_LINE}, channel 1, value 2: invalid value ''",
    ):
        load_text(text)


@pytest.mark.parametrize("token", ["nan", "NaN", "inf", "-Infinity"])
def test_load_ts_file_non_finite_value(token):
    text = HEADER + f"1,2:3,{token}:a\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {FIRST_DATA_LINE}, channel 2, value 2: non-finite value",
    ):
        load_text(text)


def test_load_ts_file_unknown_label():
    text = HEADER + "1,2:3,4:a\n1,2:3,4:c\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {SECOND_DATA_LINE}: class label 'c' is not listed",
    ):
        load_text(text)


def test_load_ts_file_empty_label():
    text = HEADER + "1,2:3,4:\n"
    with pytest.raises(
        ValueError, match=rf"Line {FIRST_DATA_LINE}: class label '' is not listed"
    ):
        load_text(text)


def test_load_ts_file_line_without_colon():
    text = HEADER + "1,2,3\n"
    with pytest.raises(ValueError, match=rf"Line {FIRST_DATA_LINE}: no ':' found"):
        load_text(text)


def test_load_ts_file_missing_data_line():
    text = "@dimensions 2\n@classLabel true a\n"
    with pytest.raises(
        ValueError, match=r"Line 2: end of input reached without an '@data' line"
    ):
        load_text(text)


def test_load_ts_file_empty_input():
    with pytest.raises(ValueError, match=r"The input is empty"):
        load_text("")


def test_load_ts_file_data_before_header_end():
    text = "@classLabel true a\n1,2:a\n@data\n"
    with pytest.raises(ValueError, match=r"Line 2: data line found before '@data'"):
        load_text(text)


def test_load_ts_file_header_after_data():
    text = HEADER + "1,2:3,4:a\n@dimensions 2\n"
    with pytest.raises(
        ValueError,
        match=rf"Line {SECOND_DATA_LINE}: header line '@dimensions 2' found after",
    ):
        load_text(text)


def test_load_ts_file_no_sequences():
    with pytest.raises(ValueError, match=r"Line 6: no sequences found after '@data'"):
        load_text(HEADER)


def test_load_ts_file_missing_class_label_header():
    text = "@dimensions 1\n@data\n1:a\n"
    with pytest.raises(
        ValueError, match=r"Line 2: '@data' found before any '@classLabel' line"
    ):
        load_text(text)


@pytest.mark.parametrize("value", ["false", "true", ""])
def test_load_ts_file_class_label_without_labels(value):
    text = f"@classLabel {value}\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid '@classLabel"):
        load_text(text)


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_load_ts_file_invalid_dimensions(value):
    text = f"@dimensions {value}\n@classLabel true a\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid @dimensions value"):
        load_text(text)


def test_load_ts_file_invalid_boolean():
    text = "@equalLength maybe\n@classLabel true a\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid @equalLength value 'maybe'"):
        load_text(text)


def test_load_ts_file_timestamps_rejected():
    text = "@timeStamps true\n@classLabel true a\n@data\n(0,1):a\n"
    with pytest.raises(ValueError, match=r"Line 1: '@timeStamps true' is not"):
        load_text(text)


def test_load_ts_file_equal_length_mismatch():
    text = "@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 5: sequence has 3 values per channel, expected 2 .*line 4",
    ):
        load_text(text)


def test_load_ts_file_series_length_mismatch():
    text = "@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 5: sequence has 2 values per channel, expected 3 .*@seriesLength",
    ):
        load_text(text)


def test_load_ts_file_series_length_ignored_when_unequal():
    text = "@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n1:a\n"
    sequences, _ = load_text(text)
    assert [sequence.shape[0] for sequence in sequences] == [2, 1]


def test_load_ts_file_binary_stream():
    with pytest.raises(TypeError, match=r"binary stream"):
        _load_ts_file(io.BytesIO(b"@classLabel true a\n@data\n1:a\n"))


def test_load_ts_file_error_line_counts_comments():
    # Comment and blank lines count towards the line number in messages, so the
    # number matches what an editor shows.
    text = "# one\n\n# three\n@classLabel true a\n@data\n\n1:?:a\n"
    with pytest.raises(ValueError, match=r"Line 7, channel 2, value 1"):
        load_text(text)


finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def labelled_sequences(draw):
    n_channels = draw(st.integers(min_value=1, max_value=4))
    lengths = draw(
        st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5)
    )
    sequences = []
    for n_tokens in lengths:
        rows = draw(
            st.lists(
                st.lists(finite_floats, min_size=n_channels, max_size=n_channels),
                min_size=n_tokens,
                max_size=n_tokens,
            )
        )
        sequences.append(np.array(rows, dtype=np.float64).reshape(n_tokens, n_channels))
    labels = draw(
        st.lists(
            st.sampled_from(["x", "y", "z"]),
            min_size=len(lengths),
            max_size=len(lengths),
        )
    )
    return n_channels, sequences, labels


def format_ts(n_channels, sequences, labels):
    lines = [
        f"@dimensions {n_channels}",
        "@equalLength false",
        "@classLabel true x y z",
        "@data",
    ]
    for sequence, label in zip(sequences, labels):
        channels = [
            ",".join(repr(float(value)) for value in column) for column in sequence.T
        ]
        lines.append(":".join(channels) + ":" + label)
    return "\n".join(lines) + "\n"


@given(labelled_sequences())
def test_load_ts_file_round_trip(case):
    n_channels, sequences, labels = case
    parsed_sequences, parsed_labels = load_text(
        format_ts(n_channels, sequences, labels)
    )
    assert len(parsed_sequences) == len(sequences)
    for parsed, original in zip(parsed_sequences, sequences):
        np.testing.assert_array_equal(parsed, original)
    assert parsed_labels.tolist() == labels
