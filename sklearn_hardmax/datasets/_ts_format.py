"""Reader for the ``.ts`` text format of the UEA & UCR time series archive.

A ``.ts`` file starts with header lines beginning with ``@`` (for example
``@dimensions 12`` and ``@classLabel true 1 2 3``) and ends the header with
``@data``. Every line after ``@data`` is one sequence: its channels separated by
``:``, each channel a comma-separated list of values over time, and the class label
after the last ``:`` unless the header says ``@classLabel false``. The value ``?``
marks a missing value. Lines starting with ``#`` are comments.
"""

import gzip
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

_MISSING_POLICIES = ("raise", "drop")

# Spelling of each header tag in messages, keyed by its lower-case form. Some
# writers spell '@dimensions' as '@dimension', so both are read.
_TAG_NAMES = {
    "@problemname": "@problemName",
    "@timestamps": "@timeStamps",
    "@missing": "@missing",
    "@univariate": "@univariate",
    "@dimensions": "@dimensions",
    "@dimension": "@dimensions",
    "@equallength": "@equalLength",
    "@serieslength": "@seriesLength",
    "@classlabel": "@classLabel",
    "@targetlabel": "@targetLabel",
    "@data": "@data",
}

# A warning lists at most this many line numbers in its message, so that a file
# with thousands of incomplete sequences does not print a page of numbers. The
# full list is in the warning's ``line_numbers`` attribute.
_MAX_LISTED_LINES = 20


class MissingValuesWarning(UserWarning):
    """Warning that ``load_ts_file`` dropped sequences with missing values.

    ``load_ts_file(path, missing="drop")`` issues it once per file, after
    reading the whole file, when at least one data line contains ``?``.

    Parameters
    ----------
    message : str
        Text of the warning, with the number of dropped sequences and their
        line numbers.
    line_numbers : sequence of int, default=()
        Line numbers of the dropped data lines, counted from 1 as an editor
        shows them, with comment and header lines included.

    Attributes
    ----------
    line_numbers : tuple of int
        Line numbers of all dropped data lines, also when the message lists
        only the first of them.

    See Also
    --------
    load_ts_file : Load a ``.ts`` file, optionally dropping incomplete sequences.
    """

    def __init__(self, message, line_numbers=()):
        super().__init__(message)
        self.line_numbers = tuple(line_numbers)


@dataclass
class _Header:
    """Header values that constrain the data lines of a ``.ts`` file."""

    n_channels: int | None = None
    n_channels_origin: str = "'@dimensions'"
    univariate: bool | None = None
    has_class_labels: bool | None = None
    class_labels: tuple[str, ...] = ()
    equal_length: bool = False
    series_length: int | None = None
    series_length_origin: str = "'@seriesLength'"
    # Line number of each tag read so far, to report duplicate tags.
    tag_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class _ParsedFile:
    """Sequences, labels and dropped line numbers of one ``.ts`` file."""

    sequences: list
    labels: np.ndarray | None
    dropped_line_numbers: list[int]


def load_ts_file(path, *, missing="raise"):
    """Load sequences and class labels from a UEA/UCR ``.ts`` file.

    The ``.ts`` format of the UEA & UCR time series archive stores one sequence
    per line, channels first. This function returns each sequence tokens first,
    the layout that ``HardmaxTransformerClassifier`` expects. Sequences may
    differ in length, and any number of channels is supported.

    The header is checked line by line. The supported tags are, case-insensitively:

    - ``@problemName <name>``: must have a value, which is otherwise unused.
    - ``@timeStamps false``: ``@timeStamps true`` is rejected, because the
      reader only reads plain comma-separated values.
    - ``@missing true|false``: checked to be a boolean. Whatever its value,
      the parameter ``missing`` decides what happens to ``?`` in the data.
    - ``@univariate true|false``: with ``true``, every sequence must have one
      channel.
    - ``@dimensions <n>`` (also spelled ``@dimension``): every sequence must
      have ``n`` channels. Without it, the first sequence sets the count.
    - ``@equalLength true|false`` and ``@seriesLength <n>``: with
      ``@equalLength true``, every sequence must have ``n`` time steps, or the
      length of the first sequence when ``@seriesLength`` is absent.
      ``@seriesLength`` is not enforced otherwise.
    - ``@classLabel true <label> ...`` or ``@classLabel false``: one of the two
      is required. With ``true``, every data line ends with ``:`` and one of
      the listed labels. With ``false``, data lines have no label field.
    - ``@targetLabel false``: ``@targetLabel true`` marks a regression file and
      is rejected, because this library classifies.
    - ``@data``: ends the header and takes no value.

    Each tag may appear once. Lines starting with ``#`` and blank lines are
    skipped everywhere. Leading and trailing whitespace is ignored, and so is a
    UTF-8 byte order mark.

    Parameters
    ----------
    path : str, os.PathLike or text stream
        Path of a ``.ts`` file, read as UTF-8, or an open text stream such as an
        ``io.StringIO``. A path ending in ``.gz`` is decompressed with gzip as
        it is read.
    missing : {"raise", "drop"}, default="raise"
        What to do with a data line that contains the missing value ``?``.
        ``"raise"`` raises a ``ValueError`` that names the line. ``"drop"``
        leaves the sequence out of ``X`` and ``y`` and issues one
        :class:`MissingValuesWarning` that lists the dropped lines. A dropped
        line must still be valid otherwise.

    Returns
    -------
    X : list of ndarray of shape (n_tokens, n_channels)
        One C-contiguous float64 array per data line, in file order. Rows are
        time steps (tokens) and columns are channels, which is the transpose of
        the channels-first layout of the file. ``n_tokens`` may differ between
        sequences.
    y : ndarray of shape (n_sequences,) of str, or None
        Class label of each sequence, as the string written in the file, or
        ``None`` when the header says ``@classLabel false``.

    Raises
    ------
    ValueError
        If ``missing`` is invalid, or if the text is not a valid ``.ts`` file of
        classification data. The message names the line number and the
        problem. Header problems include an unknown, duplicate or invalid tag
        and a missing ``@data`` or ``@classLabel`` line. Data problems include
        a channel count that differs from ``@dimensions``, channels of unequal
        length within one sequence, non-numeric or non-finite values and
        labels not listed in ``@classLabel``. A missing value ``?`` raises with
        ``missing="raise"``, and so does a file in which ``missing="drop"``
        leaves no sequence.
    TypeError
        If ``path`` is neither a path nor a text stream, or is a binary stream.
    OSError
        If the file cannot be opened, or a ``.gz`` file is not valid gzip.

    See Also
    --------
    sklearn_hardmax.datasets.load_japanese_vowels : Load a bundled ``.ts`` data
        set.
    sklearn_hardmax.formats.to_channels_first : Convert the sequences to the
        channels-first layout of the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_hardmax.datasets import load_ts_file
    >>> text = '''@problemName Tiny
    ... @dimensions 2
    ... @equalLength false
    ... @classLabel true up down
    ... @data
    ... 1,2,3:4,5,6:up
    ... 7,8:9,10:down
    ... '''
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "Tiny_TRAIN.ts"
    ...     _ = path.write_text(text, encoding="utf-8")
    ...     X, y = load_ts_file(path)
    >>> [sequence.shape for sequence in X]
    [(3, 2), (2, 2)]
    >>> X[1]
    array([[ 7.,  9.],
           [ 8., 10.]])
    >>> y.tolist()
    ['up', 'down']

    The bundled data sets are ``.ts.gz`` files, which are read the same way:

    >>> from importlib import resources
    >>> data = resources.files("sklearn_hardmax.datasets") / "data"
    >>> with resources.as_file(data / "JapaneseVowels_TEST.ts.gz") as path:
    ...     X, y = load_ts_file(path)
    >>> len(X), X[0].shape, y[:3].tolist()
    (370, (19, 12), ['1', '1', '1'])
    """
    _check_missing_policy(missing)
    parsed = _read_ts(path, missing)
    if parsed.dropped_line_numbers:
        warnings.warn(
            _make_missing_values_warning(
                parsed.dropped_line_numbers, len(parsed.sequences)
            ),
            stacklevel=2,
        )
    return parsed.sequences, parsed.labels


def _check_missing_policy(missing):
    if not isinstance(missing, str) or missing not in _MISSING_POLICIES:
        raise ValueError(
            f"Invalid missing={missing!r}. Expected 'raise' to reject missing "
            "values or 'drop' to drop the sequences that contain them."
        )


def _read_ts(path, missing):
    """Open ``path`` as text if it is a path and parse it."""
    if isinstance(path, (str, os.PathLike)):
        # Decompress by file name, because a gzip file is binary and cannot be
        # read as UTF-8 text. 'utf-8-sig' drops a byte order mark if there is one.
        if os.fsdecode(path).lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig") as stream:
                return _parse_lines(stream, missing)
        with open(path, encoding="utf-8-sig") as stream:
            return _parse_lines(stream, missing)
    if not hasattr(path, "read"):
        raise TypeError(
            f"Expected a path (str or os.PathLike) or a text stream, got "
            f"{type(path).__name__}."
        )
    return _parse_lines(path, missing)


def _make_missing_values_warning(dropped_line_numbers, n_kept):
    n_dropped = len(dropped_line_numbers)
    listed_numbers = dropped_line_numbers[:_MAX_LISTED_LINES]
    listed = ", ".join(str(number) for number in listed_numbers)
    if n_dropped > _MAX_LISTED_LINES:
        listed += (
            f" and {n_dropped - _MAX_LISTED_LINES} more (all are in the "
            "warning's line_numbers attribute)"
        )
    lines = "line" if n_dropped == 1 else "lines"
    message = (
        f"Dropped {n_dropped} of {n_dropped + n_kept} sequences because they "
        f"contain missing values '?', on {lines} {listed}."
    )
    return MissingValuesWarning(message, dropped_line_numbers)


def _parse_lines(lines, missing):
    """Parse the lines of a ``.ts`` file into a ``_ParsedFile``."""
    header = _Header()
    in_data = False
    sequences = []
    labels = []
    dropped_line_numbers = []
    line_number = 0
    for line_number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            raise TypeError(
                "Expected a path or a text stream, got a binary stream. Open the "
                "file in text mode, for example with gzip.open(path, 'rt')."
            )
        if line_number == 1:
            line = line.removeprefix("\ufeff")
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if in_data:
            if line.startswith("@"):
                raise ValueError(
                    f"Line {line_number}: header line {line!r} found after '@data'. "
                    "Move all header lines above '@data'."
                )
            sequence, label, has_missing = _parse_sequence(
                line, line_number, header, missing
            )
            if has_missing:
                dropped_line_numbers.append(line_number)
                continue
            sequences.append(sequence)
            labels.append(label)
        elif line.startswith("@"):
            in_data = _parse_header_line(line, line_number, header)
        else:
            raise ValueError(
                f"Line {line_number}: data line found before '@data'. Add an "
                "'@data' line between the header and the data."
            )

    _check_end_of_input(line_number, in_data, sequences, dropped_line_numbers)
    if not header.has_class_labels:
        labels = None
    else:
        labels = np.array(labels, dtype=str)
    return _ParsedFile(sequences, labels, dropped_line_numbers)


def _check_end_of_input(line_number, in_data, sequences, dropped_line_numbers):
    if line_number == 0:
        raise ValueError(
            "The input is empty. Expected a .ts file whose header ends with '@data'."
        )
    if not in_data:
        raise ValueError(
            f"Line {line_number}: end of input reached without an '@data' line. "
            "A .ts file must end its header with '@data'."
        )
    if sequences:
        return
    if dropped_line_numbers:
        raise ValueError(
            f"Line {line_number}: all {len(dropped_line_numbers)} sequences contain "
            "missing values '?', so missing='drop' leaves no sequence. Impute "
            "the missing values before loading."
        )
    raise ValueError(
        f"Line {line_number}: no sequences found after '@data'. Add at least "
        "one data line."
    )


def _parse_header_line(line, line_number, header):
    """Store one header line in ``header`` and return whether it is ``@data``."""
    tag, *rest = line.split(maxsplit=1)
    tag = tag.lower()
    value = rest[0] if rest else ""
    if tag not in _TAG_NAMES:
        known = ", ".join(sorted(set(_TAG_NAMES.values()), key=str.lower))
        raise ValueError(
            f"Line {line_number}: unknown header tag {tag!r}. Expected one of "
            f"{known}. Fix the tag or remove the line."
        )
    name = _TAG_NAMES[tag]
    if name in header.tag_lines:
        raise ValueError(
            f"Line {line_number}: duplicate '{name}' line, already given on line "
            f"{header.tag_lines[name]}. Keep only one."
        )
    header.tag_lines[name] = line_number

    if name == "@data":
        _check_header_complete(value, line_number, header)
        return True
    if name == "@problemName":
        if not value:
            raise ValueError(
                f"Line {line_number}: '@problemName' has no value. Add the "
                "problem name, for example '@problemName JapaneseVowels'."
            )
    elif name == "@timeStamps":
        if _parse_bool(value, name, line_number):
            raise ValueError(
                f"Line {line_number}: '@timeStamps true' is not supported, "
                "because this reader only reads plain comma-separated values. "
                "Convert the file to one without time stamps."
            )
    elif name == "@missing":
        _parse_bool(value, name, line_number)
    elif name == "@univariate":
        header.univariate = _parse_bool(value, name, line_number)
    elif name == "@dimensions":
        header.n_channels = _parse_positive_int(value, name, line_number)
    elif name == "@equalLength":
        header.equal_length = _parse_bool(value, name, line_number)
    elif name == "@seriesLength":
        header.series_length = _parse_positive_int(value, name, line_number)
    elif name == "@classLabel":
        header.has_class_labels, header.class_labels = _parse_class_labels(
            value, line_number
        )
    elif name == "@targetLabel":
        if _parse_bool(value, name, line_number):
            raise ValueError(
                f"Line {line_number}: '@targetLabel true' marks a regression file, "
                "but sklearn-hardmax classifies sequences and reads only class "
                "labels. Use a classification file with '@classLabel true'."
            )
    return False


def _check_header_complete(value, line_number, header):
    """Check the header when ``@data`` ends it."""
    if value:
        raise ValueError(
            f"Line {line_number}: '@data' takes no value, found {value!r}. Put the "
            "first data line on the next line."
        )
    if header.has_class_labels is None:
        raise ValueError(
            f"Line {line_number}: '@data' found before any '@classLabel' line. "
            "Add '@classLabel true' followed by the class labels, or "
            "'@classLabel false' for unlabelled data."
        )
    if header.univariate:
        if header.n_channels is None:
            header.n_channels = 1
            header.n_channels_origin = "'@univariate true'"
        elif header.n_channels != 1:
            raise ValueError(
                f"Line {header.tag_lines['@dimensions']}: '@dimensions "
                f"{header.n_channels}' contradicts '@univariate true' on line "
                f"{header.tag_lines['@univariate']}. Fix one of the two lines."
            )


def _parse_positive_int(value, name, line_number):
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < 1:
        raise ValueError(
            f"Line {line_number}: invalid {name} value {value!r}. Expected a "
            "positive integer."
        )
    return number


def _parse_bool(value, name, line_number):
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(
            f"Line {line_number}: invalid {name} value {value!r}. Expected "
            "'true' or 'false'."
        )
    return lowered == "true"


def _parse_class_labels(value, line_number):
    """Return whether the data lines have labels, and the listed labels."""
    flag, *class_labels = value.split() or [""]
    flag = flag.lower()
    if flag == "false" and not class_labels:
        return False, ()
    if flag == "true" and class_labels:
        return True, tuple(class_labels)
    raise ValueError(
        f"Line {line_number}: invalid '@classLabel {value}'. Expected "
        "'@classLabel true' followed by the class labels, or '@classLabel false' "
        "alone for unlabelled data."
    )


def _parse_sequence(line, line_number, header, missing):
    """Parse one data line into a (n_tokens, n_channels) array and its label.

    Returns the array, the label (None without labels) and whether the line
    contains a missing value, which only ``missing="drop"`` lets through.
    """
    channel_texts, label = _split_data_line(line, line_number, header)

    # Without @dimensions, the first sequence sets the channel count for the rest.
    if header.n_channels is None:
        header.n_channels = len(channel_texts)
        header.n_channels_origin = f"the first sequence (line {line_number})"
    if len(channel_texts) != header.n_channels:
        raise ValueError(
            f"Line {line_number}: found {len(channel_texts)} channels, expected "
            f"{header.n_channels} as set by {header.n_channels_origin}."
        )

    channels = []
    has_missing = False
    for channel_number, text in enumerate(channel_texts, start=1):
        values, channel_has_missing = _parse_channel(
            text, line_number, channel_number, missing
        )
        channels.append(values)
        has_missing = has_missing or channel_has_missing
    n_tokens = len(channels[0])
    for channel_number, channel in enumerate(channels, start=1):
        if len(channel) != n_tokens:
            raise ValueError(
                f"Line {line_number}: channel {channel_number} has {len(channel)} "
                f"values but channel 1 has {n_tokens}. All channels of a sequence "
                "must have the same length."
            )
    _check_sequence_length(n_tokens, line_number, header)

    # The file stores channels first, but callers index tokens (time steps) first.
    sequence = np.ascontiguousarray(np.array(channels, dtype=np.float64).T)
    return sequence, label, has_missing


def _split_data_line(line, line_number, header):
    """Split a data line into its channel texts and its label."""
    if not header.has_class_labels:
        channel_texts = line.split(":")
        if len(channel_texts) > 1 and not channel_texts[-1].strip():
            raise ValueError(
                f"Line {line_number}: data line ends with ':', but '@classLabel "
                "false' means that data lines have no class label. Remove the "
                "trailing ':' or list the labels with '@classLabel true'."
            )
        return channel_texts, None

    if ":" not in line:
        raise ValueError(
            f"Line {line_number}: no ':' found. A data line contains the channels "
            "separated by ':', then ':' and the class label."
        )
    *channel_texts, label = line.split(":")
    label = label.strip()
    if label not in header.class_labels:
        listed = ", ".join(header.class_labels)
        raise ValueError(
            f"Line {line_number}: class label {label!r} is not listed in "
            f"'@classLabel' ({listed}). Fix the label or add it to '@classLabel'."
        )
    return channel_texts, label


def _parse_channel(text, line_number, channel_number, missing):
    """Parse one channel and return its values and whether any is missing."""
    values = []
    has_missing = False
    for position, token in enumerate(text.split(","), start=1):
        token = token.strip()
        where = f"Line {line_number}, channel {channel_number}, value {position}"
        if token == "?":
            if missing == "raise":
                raise ValueError(
                    f"{where}: missing value '?'. Pass missing='drop' to drop the "
                    "sequences that contain missing values, or impute them "
                    "before loading."
                )
            # The sequence is dropped, so this NaN is only a placeholder.
            has_missing = True
            values.append(math.nan)
            continue
        try:
            value = float(token)
        except ValueError:
            raise ValueError(
                f"{where}: invalid value {token!r}. Expected a number."
            ) from None
        if not math.isfinite(value):
            raise ValueError(
                f"{where}: non-finite value {token!r}. Expected a finite number."
            )
        values.append(value)
    return values, has_missing


def _check_sequence_length(n_tokens, line_number, header):
    # '@seriesLength' is only enforced with '@equalLength true', because in an
    # unequal-length file no single length applies to every sequence.
    if not header.equal_length:
        return
    if header.series_length is None:
        header.series_length = n_tokens
        header.series_length_origin = f"the first sequence (line {line_number})"
    if n_tokens != header.series_length:
        raise ValueError(
            f"Line {line_number}: sequence has {n_tokens} values per channel, "
            f"expected {header.series_length} because '@equalLength' is true and "
            f"{header.series_length_origin} has that length."
        )
