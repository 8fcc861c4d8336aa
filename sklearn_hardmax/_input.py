"""Validation of the three input forms into one ragged batch of tokens.

The estimator accepts:

1. a list, tuple or 1-D object array of 2-D array-likes ``(n_tokens_i, d)``;
2. a 3-D array ``(n_sequences, max_tokens, d)`` whose trailing all-NaN token
   rows are padding;
3. a 2-D array ``(n_samples, d)``, or a list of 1-D rows, where each row is a
   sequence of one token.

All three become ``(tokens, offsets)``: the float64 tokens of all sequences
stacked in order, and the index where each sequence starts, with the total
number of tokens appended.
"""

from dataclasses import dataclass
from itertools import chain

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d, validate_data

_FORMS = (
    "a list of 2-D arrays (n_tokens, n_features), a NaN-padded 3-D array "
    "(n_sequences, max_tokens, n_features) or a 2-D array (n_samples, n_features)"
)


def _item_ndim(item):
    if type(item) is np.ndarray:
        return item.ndim
    if isinstance(item, (str, bytes)) or item is None:
        return 0
    try:
        return np.ndim(item)
    except ValueError:
        # A nested list of uneven rows has no dimension; report it as ragged.
        return -1


def _is_sequence_list(X):
    """Return True when X is a list-like of 2-D sequences.

    A list-like of 1-D rows of equal length is a table with one token per
    row. Any mix of 2-D items with others, a ragged sequence or rows of
    different lengths raise a ValueError that names the item.
    """
    if isinstance(X, np.ndarray):
        if X.dtype != object or X.ndim != 1:
            return False
    elif not isinstance(X, (list, tuple)):
        return False
    if len(X) == 0:
        raise ValueError(
            "X contains no sequences. Pass at least one sequence of shape "
            "(n_tokens, n_features)."
        )
    # The common case first: every item a plain 2-D array.
    if all(type(item) is np.ndarray and item.ndim == 2 for item in X):
        return True
    ndims = [_item_ndim(item) for item in X]
    if any(ndim in (2, -1) for ndim in ndims):
        for index, ndim in enumerate(ndims):
            if ndim != 2:
                if ndim == 1 and np.size(X[index]) == 0:
                    raise ValueError(
                        f"Sequence {index} is empty; every sequence needs at least "
                        "one token. Remove it from X."
                    )
                if ndim < 0:
                    shape = "ragged (its token rows differ in length)"
                else:
                    shape = f"{ndim}-D"
                raise ValueError(
                    f"Sequence {index} is {shape}. Every sequence must be a 2-D "
                    "array-like (n_tokens, n_features)."
                )
        return True
    if all(ndim == 1 for ndim in ndims):
        sizes = [len(item) for item in X]
        if len(set(sizes)) > 1:
            other = next(index for index, size in enumerate(sizes) if size != sizes[0])
            raise ValueError(
                f"X is a list of 1-D items of different lengths (item 0 has "
                f"{sizes[0]} values, item {other} has {sizes[other]}). A list of "
                "1-D rows is read as one token per row, so all rows need the same "
                "size. For univariate series, reshape each to (n_tokens, 1)."
            )
    return False


def _to_float_sequence(item, index):
    """Convert one sequence to a float64 array, naming it in every error."""
    # Only a plain array passes unchanged: a subclass such as np.matrix would
    # keep its own arithmetic through np.vstack.
    if type(item) is np.ndarray and item.dtype == np.float64:
        return item
    array = np.asarray(item)
    if np.iscomplexobj(array):
        raise ValueError(
            f"Complex data not supported: sequence {index} has complex values. "
            "Pass real-valued tokens."
        )
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Sequence {index} contains non-numeric values ({error}). "
                "Every token must be a vector of numbers."
            ) from error
    return np.asarray(array, dtype=np.float64)


def _check_finite(array, index, offsets=None):
    """Raise if ``array`` is not finite, naming the sequence and the token.

    With ``offsets``, ``array`` contains the tokens of several sequences one
    after the other, and ``index`` is ignored.
    """
    finite = np.isfinite(array)
    if not finite.all():
        token, feature = np.argwhere(~finite)[0]
        kind = "NaN" if np.isnan(array[token, feature]) else "infinity"
        if offsets is not None:
            index = int(np.searchsorted(offsets, token, side="right")) - 1
            token -= offsets[index]
        raise ValueError(
            f"Input X contains {kind}: sequence {index}, token {token}, feature "
            f"{feature}. Remove or impute non-finite values; only trailing "
            "all-NaN token rows of a 3-D array are read as padding."
        )


def _check_n_features(estimator, n_features, reset):
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input (features per token)."
        )


def _from_sequence_list(estimator, X, reset):
    # Plain float64 arrays, the common case, skip the call.
    sequences = [
        item
        if type(item) is np.ndarray and item.dtype == np.float64
        else _to_float_sequence(item, index)
        for index, item in enumerate(X)
    ]
    # Every sequence is 2-D by now. The shapes are checked as one array, which
    # is faster than a Python loop for many short sequences.
    shapes = np.fromiter(
        chain.from_iterable(sequence.shape for sequence in sequences),
        dtype=np.intp,
        count=2 * len(sequences),
    ).reshape(-1, 2)
    lengths = shapes[:, 0]
    n_features = int(shapes[0, 1])
    failing = np.flatnonzero((lengths == 0) | (shapes[:, 1] != n_features))
    if failing.size:
        index = int(failing[0])
        if lengths[index] == 0:
            raise ValueError(
                f"Sequence {index} is empty (shape {sequences[index].shape}); every "
                "sequence needs at least one token. Remove it from X."
            )
        raise ValueError(
            f"Sequence {index} has {shapes[index, 1]} features per token but "
            f"sequence 0 has {n_features}; all tokens must have the same size."
        )
    if n_features == 0:
        raise ValueError(
            "0 feature(s) per token while a minimum of 1 is required: every "
            "token must have at least one feature."
        )
    _check_n_features(estimator, n_features, reset)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    # Every sequence is 2-D, so concatenate needs no np.atleast_2d.
    tokens = np.concatenate(sequences, axis=0)
    _check_finite(tokens, None, offsets)
    return tokens, offsets


def _from_padded_array(estimator, X, reset):
    """Strip the trailing all-NaN token rows of a 3-D array."""
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported: X has complex values.")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"X contains non-numeric values ({error}). Every token must be a "
            "vector of numbers."
        ) from error

    n_sequences, max_tokens, n_features = X.shape
    if n_sequences == 0 or n_features == 0:
        raise ValueError(
            f"Found array with shape {X.shape}. At least one sequence and one "
            "feature per token are required."
        )

    padding = np.isnan(X).all(axis=2)
    # A row is trailing padding when it and every row after it are all NaN.
    trailing = np.flip(np.cumprod(np.flip(padding, axis=1), axis=1), axis=1)
    lengths = max_tokens - trailing.sum(axis=1)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(
            f"Sequence {empty[0]} is empty: all its token rows are NaN padding. "
            "Remove it from X."
        )

    is_token = ~trailing.astype(bool)
    tokens = X[is_token]
    if not np.isfinite(tokens).all():
        position = np.argwhere(is_token & ~np.isfinite(X).all(axis=2))[0]
        _check_finite(X[position[0], : lengths[position[0]]], position[0])

    _check_n_features(estimator, n_features, reset)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return tokens, offsets


def check_sequences(estimator, X, *, reset):
    """Validate X in any accepted form and return ``(tokens, offsets)``.

    With ``reset=True`` (in ``fit``) this records ``n_features_in_``; otherwise
    it checks the token size against it.
    """
    if X is None:
        raise ValueError(f"X is None. Expected {_FORMS}.")
    if _is_sequence_list(X):
        return _from_sequence_list(estimator, X, reset)
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return _from_padded_array(estimator, X, reset)
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, (list, tuple)):
        ndim = _item_ndim(X)
    if ndim == 3:
        return _from_padded_array(estimator, np.asarray(X), reset)
    if ndim is not None and ndim > 3:
        raise ValueError(
            f"Expected {_FORMS}; got a {ndim}-D array of shape {np.shape(X)}."
        )
    # Everything else is a table with one token per row. scikit-learn's own
    # validation gives the messages that its estimator checks expect.
    tokens = validate_data(estimator, X, reset=reset, dtype=np.float64)
    return tokens, np.arange(tokens.shape[0] + 1)


def check_labels(y, n_sequences):
    """Validate classification targets ``y`` for ``n_sequences`` sequences."""
    if y is None:
        raise ValueError(
            "HardmaxTransformerClassifier requires y to be passed, but the target "
            "y is None."
        )
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    if y.shape[0] != n_sequences:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"X has {n_sequences} sequences but y has {y.shape[0]} labels."
        )
    return y


@dataclass(frozen=True)
class SequenceForm:
    """Input form of a batch of sequences, used to return outputs in that form.

    ``kind`` is "list" (a list or tuple of 2-D sequences), "object_array" (a 1-D
    object array of them), "padded" (a 3-D array, with ``max_tokens`` token rows
    per sequence) or "table" (one token per row).
    """

    kind: str
    max_tokens: int | None = None

    @classmethod
    def of(cls, X):
        """Detect the form of X with the same rules as ``check_sequences``.

        Call it after ``check_sequences`` has validated X, because it does not
        check the tokens. On invalid X it may raise or report "table".
        """
        if _is_sequence_list(X):
            return cls("object_array" if isinstance(X, np.ndarray) else "list")
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            ndim = _item_ndim(X)
        if ndim == 3:
            return cls("padded", max_tokens=np.shape(X)[1])
        return cls("table")

    def rebuild(self, tokens, offsets):
        """Split stacked tokens at ``offsets`` back into this form.

        Parameters
        ----------
        tokens : ndarray of shape (n_tokens, n_outputs)
            One row per token, in the order of ``check_sequences``. In the
            "table" form it may be any 2-D container, which is returned as is.
        offsets : ndarray of shape (n_sequences + 1,)
            Start of every sequence, then the total number of tokens.

        Returns
        -------
        sequences : list of ndarray, ndarray or the tokens
            For "list", a list of ``(n_tokens_i, n_outputs)`` views of
            ``tokens``, and for "object_array" a 1-D object array of them.
            For "padded", a 3-D array with ``max_tokens`` rows per sequence,
            padded with trailing all-NaN rows. For "table", ``tokens``.
        """
        if self.kind == "table":
            return tokens
        sequences = np.split(tokens, offsets[1:-1])
        if self.kind == "list":
            return sequences
        if self.kind == "object_array":
            array = np.empty(len(sequences), dtype=object)
            # Item by item, so that numpy never stacks equal-shaped sequences.
            for index, sequence in enumerate(sequences):
                array[index] = sequence
            return array
        # NaN marks padding, so the padded output needs a floating dtype.
        dtype = tokens.dtype if tokens.dtype.kind == "f" else np.float64
        lengths = np.diff(offsets)
        padded = np.full(
            (lengths.size, self.max_tokens, tokens.shape[1]), np.nan, dtype=dtype
        )
        # Boolean indexing fills rows in C order, the order of the stacked tokens.
        padded[np.arange(self.max_tokens) < lengths[:, None]] = tokens
        return padded
