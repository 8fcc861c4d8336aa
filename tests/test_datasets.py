"""Tests for the bundled Japanese Vowels data and the ``.ts`` reader."""

import gzip
import hashlib
import io
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_hardmax.datasets import (
    MissingValuesWarning,
    load_japanese_vowels,
    load_ts_file,
)

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
    from_path = load_ts_file(path)
    from_string_path = load_ts_file(str(path))
    X, y = load_japanese_vowels("train")
    for loaded_X, loaded_y in (from_path, from_string_path):
        assert len(loaded_X) == len(X)
        np.testing.assert_array_equal(loaded_X[-1], X[-1])
        np.testing.assert_array_equal(loaded_y, y)


# load_ts_file on hand-written input

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
    return load_ts_file(io.StringIO(text))


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


@pytest.mark.parametrize("value", ["true", "", "false a b", "maybe a"])
def test_load_ts_file_class_label_invalid(value):
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
        load_ts_file(io.BytesIO(b"@classLabel true a\n@data\n1:a\n"))


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


# load_ts_file on paths, compressed files and streams


def test_load_ts_file_bundled_gz_equals_loader():
    data = resources.files("sklearn_hardmax.datasets") / "data"
    for split in ("train", "test"):
        expected_X, expected_y = load_japanese_vowels(split)
        with resources.as_file(data / (FILENAMES[split] + ".gz")) as path:
            X, y = load_ts_file(path)
        assert len(X) == len(expected_X)
        for sequence, expected in zip(X, expected_X):
            np.testing.assert_array_equal(sequence, expected)
            assert sequence.dtype == expected.dtype
        np.testing.assert_array_equal(y, expected_y)
        assert y.dtype == expected_y.dtype


def test_load_ts_file_gz_path(tmp_path):
    text = HEADER + "1,2,3:4,5,6:a\n7:8:b\n"
    path = tmp_path / "Tiny_TRAIN.ts.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    for source in (path, str(path)):
        X, y = load_ts_file(source)
        np.testing.assert_array_equal(X[0], [[1, 4], [2, 5], [3, 6]])
        np.testing.assert_array_equal(X[1], [[7, 8]])
        assert y.tolist() == ["a", "b"]


def test_load_ts_file_gz_suffix_case_insensitive(tmp_path):
    path = tmp_path / "TINY.TS.GZ"
    path.write_bytes(gzip.compress(b"@classLabel true a\n@data\n1,2:a\n"))
    X, _ = load_ts_file(path)
    np.testing.assert_array_equal(X[0], [[1], [2]])


def test_load_ts_file_gz_path_not_gzip(tmp_path):
    path = tmp_path / "plain.ts.gz"
    path.write_text("@classLabel true a\n@data\n1:a\n", encoding="utf-8")
    with pytest.raises(OSError, match=r"gzip"):
        load_ts_file(path)


def test_load_ts_file_plain_path(tmp_path):
    path = tmp_path / "Tiny_TEST.ts"
    path.write_text(HEADER + "1,2:3,4:b\n", encoding="utf-8")
    for source in (path, str(path)):
        X, y = load_ts_file(source)
        np.testing.assert_array_equal(X[0], [[1, 3], [2, 4]])
        assert y.tolist() == ["b"]


def test_load_ts_file_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_ts_file(tmp_path / "absent.ts")


def test_load_ts_file_byte_order_mark(tmp_path):
    text = "\ufeff# comment\n@classLabel true a\n@data\n1:a\n"
    path = tmp_path / "bom.ts"
    path.write_text(text, encoding="utf-8")
    from_path, _ = load_ts_file(path)
    from_stream, _ = load_text(text)
    np.testing.assert_array_equal(from_path[0], [[1]])
    np.testing.assert_array_equal(from_stream[0], [[1]])


@pytest.mark.parametrize("source", [42, None, ["@data\n"], b"@data\n"])
def test_load_ts_file_invalid_source_type(source):
    with pytest.raises(TypeError, match=r"Expected a path .* or a text stream"):
        load_ts_file(source)


def test_load_ts_file_returns_contiguous_float64():
    X, y = load_text(HEADER + "1,2,3:4,5,6:a\n")
    assert isinstance(X, list)
    assert X[0].dtype == np.float64
    assert X[0].flags.c_contiguous
    assert y.dtype.kind == "U"


# load_ts_file header tags, one hand-written file per case


def test_load_ts_file_full_uea_header():
    text = (
        "#Written like the archive's multivariate files.\n"
        "@problemName Example\n"
        "@timeStamps false\n"
        "@missing false\n"
        "@univariate false\n"
        "@dimensions 2\n"
        "@equalLength true\n"
        "@seriesLength 3\n"
        "@classLabel true Standing Running\n"
        "@data\n"
        "1,2,3:4,5,6:Running\n"
        "7,8,9:1,2,3:Standing\n"
    )
    X, y = load_text(text)
    assert [sequence.shape for sequence in X] == [(3, 2), (3, 2)]
    np.testing.assert_array_equal(X[1], [[7, 1], [8, 2], [9, 3]])
    assert y.tolist() == ["Running", "Standing"]


def test_load_ts_file_full_univariate_header():
    text = (
        "@problemName Example\n"
        "@timeStamps false\n"
        "@missing false\n"
        "@univariate true\n"
        "@equalLength true\n"
        "@seriesLength 4\n"
        "@classLabel true 0 1\n"
        "@data\n"
        "1.5,2,3,4:0\n"
        "5,6,7,8:1\n"
    )
    X, y = load_text(text)
    np.testing.assert_array_equal(X[0], [[1.5], [2], [3], [4]])
    assert y.tolist() == ["0", "1"]


def test_load_ts_file_problem_name_with_spaces():
    X, _ = load_text("@problemName Two words\n@classLabel true a\n@data\n1:a\n")
    assert len(X) == 1


def test_load_ts_file_problem_name_without_value():
    with pytest.raises(ValueError, match=r"Line 2: '@problemName' has no value"):
        load_text("# comment\n@problemName\n@classLabel true a\n@data\n1:a\n")


def test_load_ts_file_timestamps_false_accepted():
    X, _ = load_text("@timeStamps false\n@classLabel true a\n@data\n1,2:a\n")
    np.testing.assert_array_equal(X[0], [[1], [2]])


def test_load_ts_file_timestamps_invalid():
    text = "@timeStamps yes\n@classLabel true a\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid @timeStamps value 'yes'"):
        load_text(text)


@pytest.mark.parametrize("value", ["true", "false", "TRUE"])
def test_load_ts_file_missing_tag_accepted(value):
    X, _ = load_text(f"@missing {value}\n@classLabel true a\n@data\n1:a\n")
    assert len(X) == 1


def test_load_ts_file_missing_tag_invalid():
    text = "@classLabel true a\n@missing\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 2: invalid @missing value ''"):
        load_text(text)


def test_load_ts_file_univariate_sets_one_channel():
    text = "@univariate true\n@classLabel true a\n@data\n1,2:a\n1:2:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 5: found 2 channels, expected 1 as set by '@univariate true'",
    ):
        load_text(text)


def test_load_ts_file_univariate_contradicts_dimensions():
    text = "@univariate true\n@dimensions 3\n@classLabel true a\n@data\n1:2:3:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 2: '@dimensions 3' contradicts '@univariate true' on line 1",
    ):
        load_text(text)


def test_load_ts_file_univariate_with_one_dimension():
    text = "@univariate true\n@dimensions 1\n@classLabel true a\n@data\n1,2:a\n"
    X, _ = load_text(text)
    assert X[0].shape == (2, 1)


def test_load_ts_file_univariate_false_multichannel():
    text = "@univariate false\n@classLabel true a\n@data\n1:2:3:a\n"
    X, _ = load_text(text)
    assert X[0].shape == (1, 3)


def test_load_ts_file_univariate_invalid():
    text = "@univariate 1\n@classLabel true a\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid @univariate value '1'"):
        load_text(text)


def test_load_ts_file_dimension_singular_spelling():
    text = "@dimension 2\n@classLabel true a\n@data\n1:2:a\n1:2:3:a\n"
    with pytest.raises(
        ValueError, match=r"Line 5: found 3 channels, expected 2 as set by"
    ):
        load_text(text)


def test_load_ts_file_equal_length_false_accepts_any():
    text = "@equalLength false\n@classLabel true a\n@data\n1:a\n1,2,3:a\n"
    X, _ = load_text(text)
    assert [sequence.shape[0] for sequence in X] == [1, 3]


def test_load_ts_file_equal_length_with_series_length():
    text = (
        "@equalLength true\n@seriesLength 2\n@classLabel true a\n@data\n1,2:a\n3,4:a\n"
    )
    X, _ = load_text(text)
    assert [sequence.shape[0] for sequence in X] == [2, 2]


@pytest.mark.parametrize("value", ["0", "-3", "2.5", ""])
def test_load_ts_file_invalid_series_length(value):
    text = f"@classLabel true a\n@seriesLength {value}\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 2: invalid @seriesLength value"):
        load_text(text)


def test_load_ts_file_class_label_false():
    text = "@dimensions 2\n@classLabel false\n@data\n1,2,3:4,5,6\n7:8\n"
    X, y = load_text(text)
    assert y is None
    np.testing.assert_array_equal(X[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(X[1], [[7, 8]])


def test_load_ts_file_class_label_false_univariate():
    X, y = load_text("@classLabel FALSE\n@data\n1,2,3\n4\n")
    assert y is None
    assert [sequence.shape for sequence in X] == [(3, 1), (1, 1)]


def test_load_ts_file_class_label_false_trailing_colon():
    text = "@classLabel false\n@data\n1,2:3,4:\n"
    with pytest.raises(
        ValueError,
        match=r"Line 3: data line ends with ':', but '@classLabel false' means",
    ):
        load_text(text)


def test_load_ts_file_class_label_false_extra_field():
    # Without labels, a label field is read as one more channel, so the channel
    # count no longer matches '@dimensions'.
    text = "@dimensions 1\n@classLabel false\n@data\n1,2:a\n"
    with pytest.raises(ValueError, match=r"Line 4: found 2 channels, expected 1"):
        load_text(text)


def test_load_ts_file_class_labels_keep_case():
    X, y = load_text("@classLabel true Up up\n@data\n1:Up\n2:up\n")
    assert y.tolist() == ["Up", "up"]
    assert len(X) == 2


def test_load_ts_file_target_label_rejected():
    text = "@problemName Rain\n@targetLabel true\n@data\n1,2:0.5\n"
    with pytest.raises(
        ValueError,
        match=r"Line 2: '@targetLabel true' marks a regression file",
    ):
        load_text(text)


def test_load_ts_file_target_label_false_accepted():
    text = "@targetLabel false\n@classLabel true a\n@data\n1:a\n"
    X, y = load_text(text)
    assert len(X) == 1
    assert y.tolist() == ["a"]


def test_load_ts_file_target_label_invalid():
    text = "@targetLabel\n@classLabel true a\n@data\n1:a\n"
    with pytest.raises(ValueError, match=r"Line 1: invalid @targetLabel value ''"):
        load_text(text)


def test_load_ts_file_data_with_value():
    text = "@classLabel true a\n@data 1:a\n"
    with pytest.raises(ValueError, match=r"Line 2: '@data' takes no value"):
        load_text(text)


def test_load_ts_file_unknown_tag():
    text = "@classLabel true a\n@dimensons 2\n@data\n1:a\n"
    with pytest.raises(
        ValueError, match=r"Line 2: unknown header tag '@dimensons'. Expected one of"
    ):
        load_text(text)


def test_load_ts_file_bare_at_sign():
    with pytest.raises(ValueError, match=r"Line 1: unknown header tag '@'"):
        load_text("@\n@classLabel true a\n@data\n1:a\n")


def test_load_ts_file_duplicate_tag():
    text = "@dimensions 2\n@classLabel true a\n@DIMENSIONS 2\n@data\n1:2:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 3: duplicate '@dimensions' line, already given on line 1",
    ):
        load_text(text)


def test_load_ts_file_duplicate_dimension_spellings():
    text = "@dimensions 2\n@dimension 2\n@classLabel true a\n@data\n1:2:a\n"
    with pytest.raises(ValueError, match=r"Line 2: duplicate '@dimensions' line"):
        load_text(text)


def test_load_ts_file_duplicate_class_label():
    text = "@classLabel true a\n@classLabel false\n@data\n1\n"
    with pytest.raises(ValueError, match=r"Line 2: duplicate '@classLabel' line"):
        load_text(text)


def test_load_ts_file_tag_values_case_insensitive():
    text = (
        "@TIMESTAMPS FALSE\n@Univariate True\n@EQUALLENGTH TRUE\n"
        "@ClassLabel True a\n@DATA\n1,2:a\n"
    )
    X, _ = load_text(text)
    assert X[0].shape == (2, 1)


def test_load_ts_file_tab_separated_tag():
    X, _ = load_text("@dimensions\t2\n@classLabel\ttrue\ta\n@data\n1:2:a\n")
    assert X[0].shape == (1, 2)


# load_ts_file with missing values

MISSING_TEXT = (
    "@problemName Gaps\n"  # line 1
    "@missing true\n"
    "@dimensions 2\n"
    "@classLabel true a b\n"
    "@data\n"  # line 5
    "1,2:3,4:a\n"
    "1,?:3,4:b\n"  # line 7 contains a missing value
    "5,6,7:8,9,10:b\n"
    "# a comment counts as a line\n"
    "?,?:?,?:a\n"  # line 10 contains missing values only
    "11:12:a\n"
)


def test_load_ts_file_missing_raise_names_line():
    with pytest.raises(
        ValueError,
        match=r"Line 7, channel 1, value 2: missing value '\?'. Pass missing='drop'",
    ):
        load_text(MISSING_TEXT)


def test_load_ts_file_missing_drop_keeps_complete():
    with pytest.warns(MissingValuesWarning):
        X, y = load_ts_file(io.StringIO(MISSING_TEXT), missing="drop")
    assert len(X) == 3
    np.testing.assert_array_equal(X[0], [[1, 3], [2, 4]])
    np.testing.assert_array_equal(X[1], [[5, 8], [6, 9], [7, 10]])
    np.testing.assert_array_equal(X[2], [[11, 12]])
    assert y.tolist() == ["a", "b", "a"]
    assert all(np.isfinite(sequence).all() for sequence in X)


def test_load_ts_file_missing_drop_warning_message():
    with pytest.warns(MissingValuesWarning) as record:
        load_ts_file(io.StringIO(MISSING_TEXT), missing="drop")
    assert len(record) == 1
    warning = record[0].message
    assert str(warning) == (
        "Dropped 2 of 5 sequences because they contain missing values '?', on "
        "lines 7, 10."
    )
    assert warning.line_numbers == (7, 10)


def test_load_ts_file_missing_drop_warning_location():
    # stacklevel points the warning at the caller of load_ts_file.
    with pytest.warns(MissingValuesWarning) as record:
        load_ts_file(io.StringIO(MISSING_TEXT), missing="drop")
    assert record[0].filename == __file__


def test_load_ts_file_missing_drop_single_line():
    text = "@classLabel true a\n@data\n1:a\n?:a\n"
    with pytest.warns(MissingValuesWarning, match=r"Dropped 1 of 2 .* on line 4\.$"):
        load_ts_file(io.StringIO(text), missing="drop")


def test_load_ts_file_missing_drop_many_lines():
    lines = ["@classLabel true a", "@data", "1:a"] + ["?:a"] * 25
    with pytest.warns(MissingValuesWarning) as record:
        X, _ = load_ts_file(io.StringIO("\n".join(lines)), missing="drop")
    assert len(X) == 1
    warning = record[0].message
    assert "on lines 4, 5, 6," in str(warning)
    assert "23 and 5 more (all are in the warning's line_numbers" in str(warning)
    assert warning.line_numbers == tuple(range(4, 29))


def test_load_ts_file_missing_drop_without_missing_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y = load_ts_file(io.StringIO(HEADER + "1,2:3,4:a\n"), missing="drop")
    assert len(X) == 1
    assert y.tolist() == ["a"]


def test_load_ts_file_missing_drop_all_sequences():
    text = "@classLabel true a\n@data\n?:a\n1,?:a\n"
    with pytest.raises(
        ValueError,
        match=r"Line 4: all 2 sequences contain missing values '\?', so "
        r"missing='drop' leaves no sequence",
    ):
        load_ts_file(io.StringIO(text), missing="drop")


def test_load_ts_file_missing_drop_still_validates_line():
    text = HEADER + "1,?:3,x:a\n"
    with pytest.raises(
        ValueError, match=rf"Line {FIRST_DATA_LINE}, channel 2, value 2: invalid"
    ):
        load_ts_file(io.StringIO(text), missing="drop")


def test_load_ts_file_missing_drop_checks_labels():
    text = HEADER + "1,?:3,4:c\n"
    with pytest.raises(
        ValueError, match=rf"Line {FIRST_DATA_LINE}: class label 'c' is not listed"
    ):
        load_ts_file(io.StringIO(text), missing="drop")


def test_load_ts_file_missing_drop_without_labels():
    text = "@classLabel false\n@data\n1,2\n?,3\n"
    with pytest.warns(MissingValuesWarning, match=r"on line 4"):
        X, y = load_ts_file(io.StringIO(text), missing="drop")
    assert y is None
    assert len(X) == 1


@pytest.mark.parametrize("missing", ["ignore", "RAISE", None, True])
def test_load_ts_file_invalid_missing_policy(missing):
    with pytest.raises(ValueError, match=r"Invalid missing=.* Expected 'raise'"):
        load_ts_file(io.StringIO(HEADER + "1,2:3,4:a\n"), missing=missing)


def test_missing_values_warning_is_user_warning():
    assert issubclass(MissingValuesWarning, UserWarning)
    warning = MissingValuesWarning("text", [3, 4])
    assert str(warning) == "text"
    assert warning.line_numbers == (3, 4)


@st.composite
def sequences_with_gaps(draw):
    n_channels, sequences, labels = draw(labelled_sequences())
    has_gap = draw(
        st.lists(st.booleans(), min_size=len(sequences), max_size=len(sequences))
    )
    return n_channels, sequences, labels, has_gap


def replace_first_value(line):
    """Replace the first value of a data line with the missing value '?'."""
    ends = [position for position in (line.find(","), line.find(":")) if position >= 0]
    return "?" + line[min(ends) :]


@given(sequences_with_gaps())
def test_load_ts_file_missing_drop_round_trip(case):
    n_channels, sequences, labels, has_gap = case
    lines = format_ts(n_channels, sequences, labels).splitlines()
    data_start = lines.index("@data") + 1
    for index, gap in enumerate(has_gap):
        if gap:
            lines[data_start + index] = replace_first_value(lines[data_start + index])
    text = "\n".join(lines) + "\n"
    kept = [index for index, gap in enumerate(has_gap) if not gap]
    expected_lines = tuple(
        data_start + 1 + index for index, gap in enumerate(has_gap) if gap
    )

    if not kept:
        with pytest.raises(ValueError, match=r"leaves no sequence"):
            load_ts_file(io.StringIO(text), missing="drop")
        return
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        X, y = load_ts_file(io.StringIO(text), missing="drop")
    assert len(X) == len(kept)
    for sequence, index in zip(X, kept):
        np.testing.assert_array_equal(sequence, sequences[index])
    assert y.tolist() == [labels[index] for index in kept]
    dropped = [item.message for item in record]
    if expected_lines:
        assert len(dropped) == 1
        assert isinstance(dropped[0], MissingValuesWarning)
        assert dropped[0].line_numbers == expected_lines
    else:
        assert dropped == []
