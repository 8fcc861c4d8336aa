"""Reader for the ``.ts`` text format of the UEA & UCR time series archive.

A ``.ts`` file starts with header lines beginning with ``@`` (for example
``@dimensions 12`` and ``@classLabel true 1 2 3``) and ends the header with
``@data``. Every line after ``@data`` is one sequence: its channels separated by
``:``, each channel a comma-separated list of values over time, and the class label
after the last ``:``. Lines starting with ``#`` are comments.
"""

import math
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class _Header:
    """Header values that constrain the data lines of a ``.ts`` file."""

    n_channels: int | None = None
    n_channels_origin: str = "'@dimensions'"
    class_labels: tuple[str, ...] | None = None
    equal_length: bool = False
    series_length: int | None = None
    series_length_origin: str = "'@seriesLength'"


def _load_ts_file(source):
    """Parse a ``.ts`` file of labelled, possibly unequal-length sequences.

    Parameters
    ----------
    source : str, os.PathLike or text stream
        Path of a ``.ts`` file, read as UTF-8, or an open text stream such as an
        ``io.StringIO`` or the result of ``gzip.open(path, "rt")``.

    Returns
    -------
    sequences : list of ndarray of shape (n_tokens, n_channels)
        One float64 array per data line. Rows are time steps and columns are
        channels, which is the transpose of the channels-first layout of the file.
        ``n_tokens`` may differ between sequences.
    labels : ndarray of shape (n_sequences,)
        Class label of each sequence, as the string written in the file.

    Raises
    ------
    ValueError
        If the text is not a valid labelled ``.ts`` file, with a message that
        names the line number and the problem. Problems include a missing
        ``@data`` or ``@classLabel`` line and a channel count that differs from
        ``@dimensions``. Channels of unequal length within one sequence, the
        missing value ``?``, non-numeric or non-finite values and labels not
        listed in ``@classLabel`` are rejected too.
    TypeError
        If ``source`` is a binary stream.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as stream:
            return _parse_lines(stream)
    return _parse_lines(source)


def _parse_lines(lines):
    header = _Header()
    in_data = False
    sequences = []
    labels = []
    line_number = 0
    for line_number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            raise TypeError(
                "Expected a path or a text stream, got a binary stream. Open the "
                "file in text mode, for example with gzip.open(path, 'rt')."
            )
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if in_data:
            if line.startswith("@"):
                raise ValueError(
                    f"Line {line_number}: header line {line!r} found after '@data'. "
                    "Move all header lines above '@data'."
                )
            sequence, label = _parse_sequence(line, line_number, header)
            sequences.append(sequence)
            labels.append(label)
        elif line.startswith("@"):
            in_data = _parse_header_line(line, line_number, header)
        else:
            raise ValueError(
                f"Line {line_number}: data line found before '@data'. Add an "
                "'@data' line between the header and the data."
            )

    if line_number == 0:
        raise ValueError(
            "The input is empty. Expected a .ts file whose header ends with '@data'."
        )
    if not in_data:
        raise ValueError(
            f"Line {line_number}: end of input reached without an '@data' line. "
            "A .ts file must end its header with '@data'."
        )
    if not sequences:
        raise ValueError(
            f"Line {line_number}: no sequences found after '@data'. Add at least "
            "one data line."
        )
    return sequences, np.array(labels, dtype=str)


def _parse_header_line(line, line_number, header):
    """Store one header line in ``header`` and return whether it is ``@data``."""
    keyword, *rest = line.split(maxsplit=1)
    keyword = keyword.lower()
    value = rest[0] if rest else ""

    if keyword == "@data":
        if header.class_labels is None:
            raise ValueError(
                f"Line {line_number}: '@data' found before any '@classLabel' line. "
                "Add '@classLabel true' followed by the class labels."
            )
        return True

    if keyword == "@dimensions":
        header.n_channels = _parse_positive_int(value, "@dimensions", line_number)
    elif keyword == "@serieslength":
        header.series_length = _parse_positive_int(value, "@seriesLength", line_number)
    elif keyword == "@equallength":
        header.equal_length = _parse_bool(value, "@equalLength", line_number)
    elif keyword == "@timestamps":
        if _parse_bool(value, "@timeStamps", line_number):
            raise ValueError(
                f"Line {line_number}: '@timeStamps true' is not supported, "
                "because this reader only reads plain comma-separated values."
            )
    elif keyword == "@classlabel":
        header.class_labels = _parse_class_labels(value, line_number)
    # Other keywords, such as @problemName, @univariate and @missing, describe the
    # data without changing how it is parsed, so they are accepted and ignored.
    return False


def _parse_positive_int(value, keyword, line_number):
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < 1:
        raise ValueError(
            f"Line {line_number}: invalid {keyword} value {value!r}. Expected a "
            "positive integer."
        )
    return number


def _parse_bool(value, keyword, line_number):
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(
            f"Line {line_number}: invalid {keyword} value {value!r}. Expected "
            "'true' or 'false'."
        )
    return lowered == "true"


def _parse_class_labels(value, line_number):
    flag, *class_labels = value.split() or [""]
    if flag.lower() != "true" or not class_labels:
        raise ValueError(
            f"Line {line_number}: invalid '@classLabel {value}'. Expected "
            "'@classLabel true' followed by the class labels, because this reader "
            "only reads classification data."
        )
    return tuple(class_labels)


def _parse_sequence(line, line_number, header):
    """Parse one data line into a (n_tokens, n_channels) array and its label."""
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

    # Without @dimensions, the first sequence sets the channel count for the rest.
    if header.n_channels is None:
        header.n_channels = len(channel_texts)
        header.n_channels_origin = f"the first sequence (line {line_number})"
    if len(channel_texts) != header.n_channels:
        raise ValueError(
            f"Line {line_number}: found {len(channel_texts)} channels, expected "
            f"{header.n_channels} as set by {header.n_channels_origin}."
        )

    channels = [
        _parse_channel(text, line_number, channel_number)
        for channel_number, text in enumerate(channel_texts, start=1)
    ]
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
    return sequence, label


def _parse_channel(text, line_number, channel_number):
    values = []
    for position, token in enumerate(text.split(","), start=1):
        token = token.strip()
        where = f"Line {line_number}, channel {channel_number}, value {position}"
        if token == "?":
            raise ValueError(
                f"{where}: missing value '?' is not supported. Remove or impute "
                "missing values before loading."
            )
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
    return values


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
