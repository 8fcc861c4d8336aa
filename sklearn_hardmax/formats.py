"""Conversions between the sequence layout of sklearn-hardmax and two others.

sklearn-hardmax takes a list of ``(n_tokens, n_features)`` float arrays, with one
row per token (time step). Time series libraries commonly use two other layouts:

- Channels first, as in aeon and sktime: one ``(n_channels, n_timepoints)`` array
  per series, collected in a list, or a 3-D array
  ``(n_cases, n_channels, n_timepoints)`` when all series have the same length.
  A channel there is a feature here, and a time point is a token.
- NaN padded, as returned by tslearn's ``to_time_series_dataset``: a 3-D array
  ``(n_ts, max_sz, d)`` in which shorter series end with all-NaN rows.
  ``HardmaxTransformerClassifier`` also accepts this array directly.

The functions here use numpy only and import none of those libraries. They return
new float64 arrays that share no memory with their input. Values are copied
unchanged, except that NaN is rejected where it would be mistaken for padding.
"""

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["from_channels_first", "from_padded", "to_channels_first", "to_padded"]


@dataclass(frozen=True)
class _Layout:
    """Names and axes of one 2-D sequence layout, for validation and messages."""

    shape: str
    item_name: str
    plural_name: str
    length_axis: int
    # Singular, as in "at least one token".
    length_name: str
    # Plural, as in "3 features".
    width_name: str


_TOKENS_FIRST = _Layout(
    "(n_tokens, n_features)", "Sequence", "sequences", 0, "token", "features"
)
_CHANNELS_FIRST = _Layout(
    "(n_channels, n_timepoints)", "Series", "series", 1, "time point", "channels"
)


def to_channels_first(X, *, as_array="auto"):
    """Convert sequences to the channels-first layout of aeon and sktime.

    Each ``(n_tokens, n_features)`` sequence becomes its transpose, a
    ``(n_channels, n_timepoints)`` series with one channel per feature.

    Parameters
    ----------
    X : list of array-like of shape (n_tokens, n_features)
        Sequences in the layout of sklearn-hardmax. A tuple or a 1-D object
        array of sequences is accepted too. ``n_tokens`` may differ between
        sequences, but ``n_features`` may not.
    as_array : {"auto", True, False}, default="auto"
        Whether to return one 3-D array. ``"auto"`` returns a 3-D array when
        all sequences have the same number of tokens and a list otherwise.
        ``True`` always returns a 3-D array and raises if lengths differ.
        ``False`` always returns a list.

    Returns
    -------
    X_channels_first : ndarray of shape (n_sequences, n_features, n_tokens) or \
list of ndarray of shape (n_features, n_tokens)
        The transpose of each sequence, as C-contiguous float64 arrays.

    Raises
    ------
    ValueError
        If ``as_array`` is invalid, or if ``as_array=True`` and the sequences
        differ in length. Also if ``X`` is not a non-empty list of 2-D numeric
        sequences with at least one token and the same number of features. The
        message names the first invalid sequence by its index.
    TypeError
        If ``X`` is neither a list, a tuple nor a 1-D object array.

    See Also
    --------
    from_channels_first : Convert back to the layout of sklearn-hardmax.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hardmax.formats import to_channels_first
    >>> X = [np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]),
    ...      np.array([[4.0, 40.0], [5.0, 50.0], [6.0, 60.0]])]
    >>> to_channels_first(X).shape
    (2, 2, 3)
    >>> to_channels_first(X)[0]
    array([[ 1.,  2.,  3.],
           [10., 20., 30.]])
    >>> X_unequal = [X[0], X[1][:2]]
    >>> [series.shape for series in to_channels_first(X_unequal)]
    [(2, 3), (2, 2)]
    """
    as_array = _check_as_array(as_array)
    sequences = _check_sequence_list(X, _TOKENS_FIRST, "to_channels_first")

    lengths = [sequence.shape[0] for sequence in sequences]
    unequal_index = _find_unequal_length(lengths)
    if as_array is True and unequal_index is not None:
        raise ValueError(
            f"as_array=True requires sequences of equal length, but sequence 0 has "
            f"{lengths[0]} tokens and sequence {unequal_index} has "
            f"{lengths[unequal_index]}. Pass as_array='auto' or False to get a "
            "list of arrays instead."
        )
    if as_array is not False and unequal_index is None:
        n_features = sequences[0].shape[1]
        stacked = np.empty((len(sequences), n_features, lengths[0]))
        for index, sequence in enumerate(sequences):
            stacked[index] = sequence.T
        return stacked
    return [np.array(sequence.T, order="C") for sequence in sequences]


def from_channels_first(X):
    """Convert channels-first series from aeon or sktime to sklearn-hardmax.

    Each ``(n_channels, n_timepoints)`` series becomes its transpose, a
    ``(n_tokens, n_features)`` sequence with one token per time point.

    Parameters
    ----------
    X : array-like of shape (n_cases, n_channels, n_timepoints) or \
list of array-like of shape (n_channels, n_timepoints)
        Series in the channels-first layout. Series of equal length may come
        as one 3-D array. Otherwise pass a list, tuple or 1-D object array of
        2-D series, whose ``n_timepoints`` may differ but whose ``n_channels``
        may not. A univariate series must be 2-D too, with one row.

    Returns
    -------
    X_sequences : list of ndarray of shape (n_timepoints, n_channels)
        The transpose of each series, as C-contiguous float64 arrays, in the
        layout that ``HardmaxTransformerClassifier`` takes.

    Raises
    ------
    ValueError
        If ``X`` is an array that is not 3-D or has a zero-size axis, or if it
        is an empty list. Also if a series in the list is not 2-D, is not
        numeric, has no time points or has another number of channels than
        series 0. The message names the first invalid series by its index.
    TypeError
        If ``X`` is neither an array, a list, a tuple nor a 1-D object array.

    See Also
    --------
    to_channels_first : Convert to the channels-first layout.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hardmax.formats import from_channels_first
    >>> X_channels_first = np.arange(12.0).reshape(2, 2, 3)
    >>> X = from_channels_first(X_channels_first)
    >>> X[0]
    array([[0., 3.],
           [1., 4.],
           [2., 5.]])
    >>> [sequence.shape for sequence in from_channels_first(
    ...     [np.zeros((2, 5)), np.ones((2, 3))])]
    [(5, 2), (3, 2)]
    """
    if isinstance(X, np.ndarray) and not _is_object_vector(X):
        return _from_channels_first_array(X)
    series = _check_sequence_list(X, _CHANNELS_FIRST, "from_channels_first")
    return [np.array(item.T, order="C") for item in series]


def to_padded(X, *, length=None):
    """Pad sequences with trailing all-NaN token rows into one 3-D array.

    This is the layout that tslearn's ``to_time_series_dataset`` returns, and
    ``HardmaxTransformerClassifier`` reads it back as the original sequences.

    Parameters
    ----------
    X : list of array-like of shape (n_tokens, n_features)
        Sequences in the layout of sklearn-hardmax. A tuple or a 1-D object
        array of sequences is accepted too. No value may be NaN, because NaN
        marks the padding.
    length : int or None, default=None
        Number of token rows of the result. ``None`` uses the length of the
        longest sequence. A larger value adds further all-NaN rows to every
        sequence.

    Returns
    -------
    X_padded : ndarray of shape (n_sequences, length, n_features)
        Float64 array in which row ``t`` of sequence ``i`` is token ``t`` of
        ``X[i]`` for ``t < len(X[i])`` and NaN after it.

    Raises
    ------
    ValueError
        If a sequence contains NaN, or if ``length`` is not a positive integer
        or is smaller than the longest sequence. Also if ``X`` is not a
        non-empty list of 2-D numeric sequences with at least one token and the
        same number of features. The message names the first invalid sequence
        by its index.
    TypeError
        If ``X`` is neither a list, a tuple nor a 1-D object array.

    See Also
    --------
    from_padded : Remove the padding again.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hardmax.formats import to_padded
    >>> X = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0]])]
    >>> to_padded(X)
    array([[[ 1.,  2.],
            [ 3.,  4.]],
    <BLANKLINE>
           [[ 5.,  6.],
            [nan, nan]]])
    >>> to_padded(X, length=4).shape
    (2, 4, 2)
    """
    sequences = _check_sequence_list(X, _TOKENS_FIRST, "to_padded")
    for index, sequence in enumerate(sequences):
        if np.isnan(sequence).any():
            token, feature = np.argwhere(np.isnan(sequence))[0]
            raise ValueError(
                f"Sequence {index} contains NaN at token {token}, feature "
                f"{feature}. to_padded marks padding with NaN, so the sequences "
                "must not contain NaN. Remove or impute the NaN values first."
            )

    lengths = [sequence.shape[0] for sequence in sequences]
    longest = int(np.argmax(lengths))
    if length is None:
        length = lengths[longest]
    elif isinstance(length, bool) or not isinstance(length, numbers.Integral):
        raise ValueError(
            f"Invalid length={length!r}. Expected a positive integer, or None to "
            "pad to the longest sequence."
        )
    elif length < lengths[longest]:
        raise ValueError(
            f"length={length} is shorter than sequence {longest}, which has "
            f"{lengths[longest]} tokens. Pass a length of at least "
            f"{lengths[longest]}, or None."
        )

    n_features = sequences[0].shape[1]
    padded = np.full((len(sequences), int(length), n_features), np.nan)
    for index, sequence in enumerate(sequences):
        padded[index, : sequence.shape[0]] = sequence
    return padded


def from_padded(X):
    """Split a NaN-padded 3-D array into sequences of their true lengths.

    The trailing token rows of a sequence that are NaN in every feature are
    padding and are removed. NaN anywhere else is an error, because it would be
    a missing value, which sklearn-hardmax does not support.

    Parameters
    ----------
    X : array-like of shape (n_sequences, max_tokens, n_features)
        Sequences padded at the end with all-NaN token rows, as tslearn's
        ``to_time_series_dataset`` returns them.

    Returns
    -------
    X_sequences : list of ndarray of shape (n_tokens, n_features)
        One C-contiguous float64 array per sequence, without its padding.

    Raises
    ------
    ValueError
        If ``X`` is not a numeric 3-D array with at least one element along each
        axis, if a sequence is all NaN, or if NaN occurs outside the trailing
        padding. The message names the sequence and token index.

    See Also
    --------
    to_padded : Pad sequences into one 3-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hardmax.formats import from_padded
    >>> X_padded = np.array([[[1.0], [2.0], [3.0]],
    ...                      [[4.0], [np.nan], [np.nan]]])
    >>> [sequence.ravel().tolist() for sequence in from_padded(X_padded)]
    [[1.0, 2.0, 3.0], [4.0]]
    """
    X = _to_float_array(X, "X")
    if X.ndim != 3:
        hint = ""
        if X.ndim == 2:
            hint = (
                " For univariate series of shape (n_sequences, max_tokens), pass "
                "X[:, :, np.newaxis]."
            )
        raise ValueError(
            f"Expected a 3-D array (n_sequences, max_tokens, n_features), got a "
            f"{X.ndim}-D array of shape {X.shape}.{hint}"
        )
    if 0 in X.shape:
        raise ValueError(
            f"Found an array of shape {X.shape}. from_padded needs at least one "
            "sequence, one token row and one feature."
        )

    is_nan = np.isnan(X)
    # A row is padding when it and every row after it are NaN in every feature.
    row_is_nan = is_nan.all(axis=2)
    reversed_rows = np.flip(row_is_nan, axis=1)
    is_padding = np.flip(np.logical_and.accumulate(reversed_rows, axis=1), axis=1)
    lengths = X.shape[1] - is_padding.sum(axis=1)

    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(
            f"Sequence {empty[0]} is all NaN, so it has no tokens after its "
            "padding is removed. Remove it from X."
        )
    misplaced = np.argwhere(is_nan.any(axis=2) & ~is_padding)
    if misplaced.size:
        index, token = misplaced[0]
        if row_is_nan[index, token]:
            problem = "is all NaN but is followed by tokens that are not"
        else:
            feature = np.flatnonzero(is_nan[index, token])[0]
            problem = f"contains NaN in feature {feature}"
        raise ValueError(
            f"Sequence {index}, token {token} {problem}. Only trailing all-NaN "
            "token rows are read as padding. Remove or impute the NaN values."
        )
    return [np.array(X[index, :length]) for index, length in enumerate(lengths)]


def _check_as_array(as_array):
    if isinstance(as_array, (bool, np.bool_)):
        return bool(as_array)
    if isinstance(as_array, str) and as_array == "auto":
        return as_array
    raise ValueError(f"Invalid as_array={as_array!r}. Expected 'auto', True or False.")


def _find_unequal_length(lengths):
    """Return the index of the first length that differs from the first one."""
    for index, length in enumerate(lengths):
        if length != lengths[0]:
            return index
    return None


def _is_object_vector(X):
    return X.dtype == object and X.ndim == 1


def _check_sequence_list(X, layout, function_name):
    """Convert a list of 2-D sequences to float64 arrays, naming any bad one.

    The arrays may be views of the input, so callers copy before they return.
    """
    if isinstance(X, np.ndarray):
        if not _is_object_vector(X):
            raise ValueError(_describe_wrong_array(X, layout, function_name))
        X = list(X)
    elif not isinstance(X, (list, tuple)):
        raise TypeError(
            f"{function_name} expects a list of {layout.shape} arrays, got "
            f"{type(X).__name__}."
        )
    if len(X) == 0:
        raise ValueError(
            f"X contains no {layout.plural_name}. {function_name} needs at least "
            f"one {layout.shape} array."
        )

    width_axis = 1 - layout.length_axis
    sequences = []
    for index, item in enumerate(X):
        name = f"{layout.item_name} {index}"
        sequence = _to_float_array(item, name)
        if sequence.ndim != 2:
            raise ValueError(
                f"{name} is {sequence.ndim}-D with shape {sequence.shape}, "
                f"expected a 2-D array {layout.shape}."
                f"{_one_row_hint(sequence, layout)}"
            )
        if sequence.shape[layout.length_axis] == 0:
            raise ValueError(
                f"{name} is empty (shape {sequence.shape}), but each of the "
                f"{layout.plural_name} needs at least one {layout.length_name}. "
                "Remove it from X."
            )
        width = sequence.shape[width_axis]
        if width == 0:
            raise ValueError(
                f"{name} has 0 {layout.width_name} (shape {sequence.shape}), but "
                "at least one is required."
            )
        if sequences and width != sequences[0].shape[width_axis]:
            raise ValueError(
                f"{name} has {width} {layout.width_name} but "
                f"{layout.item_name.lower()} 0 has {sequences[0].shape[width_axis]}. "
                f"All {layout.plural_name} must have the same number of "
                f"{layout.width_name}."
            )
        sequences.append(sequence)
    return sequences


def _one_row_hint(sequence, layout):
    """Suggest the reshape that turns a 1-D univariate series into a 2-D one."""
    if sequence.ndim != 1:
        return ""
    if layout is _CHANNELS_FIRST:
        return " Reshape a univariate series to (1, n_timepoints) with x[np.newaxis]."
    return " Reshape a sequence of scalars to (n_tokens, 1) with x[:, np.newaxis]."


def _describe_wrong_array(X, layout, function_name):
    """Explain why a numeric array is not a list of sequences."""
    message = (
        f"{function_name} expects a list of {layout.shape} arrays, got a "
        f"{X.ndim}-D array of shape {X.shape}."
    )
    if X.ndim == 3:
        return message + (
            " Convert a NaN-padded array (n_sequences, max_tokens, n_features) "
            "with from_padded(X) first."
        )
    if X.ndim == 2:
        return message + (
            " Pass [X] if it is one sequence, or list(X[:, np.newaxis]) if each "
            "row is a sequence of one token."
        )
    return message


def _to_float_array(item, name):
    """Convert ``item`` to a float64 array, naming it in every error."""
    try:
        array = np.asarray(item)
    except ValueError as error:
        # numpy raises ValueError for nested lists of uneven lengths.
        raise ValueError(
            f"{name} is ragged and cannot be converted to an array ({error})."
        ) from None
    if np.iscomplexobj(array):
        raise ValueError(
            f"{name} has complex values, which are not supported. Pass real values."
        )
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} contains non-numeric values ({error}). Every value must be a "
            "number."
        ) from None


def _from_channels_first_array(X):
    """Split a 3-D array (n_cases, n_channels, n_timepoints) into sequences."""
    X = _to_float_array(X, "X")
    if X.ndim != 3:
        hint = ""
        if X.ndim == 2:
            hint = (
                " For univariate series of shape (n_cases, n_timepoints), pass "
                "X[:, np.newaxis, :]."
            )
        raise ValueError(
            "Expected a 3-D array (n_cases, n_channels, n_timepoints) or a list of "
            f"(n_channels, n_timepoints) arrays, got a {X.ndim}-D array of shape "
            f"{X.shape}.{hint}"
        )
    if 0 in X.shape:
        raise ValueError(
            f"Found an array of shape {X.shape}. from_channels_first needs at "
            "least one case, one channel and one time point."
        )
    return [np.array(series.T, order="C") for series in X]
