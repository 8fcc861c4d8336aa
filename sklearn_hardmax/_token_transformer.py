"""A meta-transformer that applies a scikit-learn transformer to every token."""

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._input import SequenceForm, check_sequences


def _transformer_has(attribute):
    """Return a check for ``available_if``: does the inner transformer have it?

    The fitted ``transformer_`` decides once it exists, else the unfitted
    ``transformer`` parameter (``StandardScaler()`` when it is None).
    """

    def check(self):
        if hasattr(self, "transformer_"):
            return hasattr(self.transformer_, attribute)
        return hasattr(self._make_transformer(), attribute)

    return check


class TokenTransformer(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Apply a scikit-learn transformer to every token of every sequence.

    ``fit`` fits a clone of ``transformer`` on the tokens of all training
    sequences stacked into one ``(n_tokens, n_features)`` array. ``transform``
    applies it to every token and returns the sequences in the form that it
    received: a list of ``(n_tokens_i, n_outputs)`` arrays for a list, a 3-D
    array with the same lengths and trailing all-NaN padding rows for a padded
    3-D array, and a 2-D array for a 2-D array. ``n_outputs``, the output size
    of the inner transformer, may differ from ``n_features`` (PCA, for
    example).

    Parameters
    ----------
    transformer : transformer object or None, default=None
        Estimator with ``fit`` and ``transform``, cloned in ``fit``. None
        means ``StandardScaler()``, which standardizes every token feature
        with the mean and standard deviation over all training tokens.

    Attributes
    ----------
    transformer_ : transformer object
        The fitted clone of ``transformer``.
    n_features_in_ : int
        Number of features per token.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X was a DataFrame with string column
        names. Only the 2-D form can carry names.

    See Also
    --------
    HardmaxTransformerClassifier : Sequence classifier that accepts the
        output of this transformer.
    sklearn.preprocessing.FunctionTransformer : Applies a function to the
        whole of X, not token by token.

    Notes
    -----
    ``fit(X, y)`` passes ``y`` to the inner transformer, so that supervised
    token transformers (feature selection, for example) work. In the 2-D form
    every sequence has one token and ``y`` is passed unchanged. For a list or
    a 3-D array, ``y`` has one label per sequence, and each label is repeated
    over the tokens of its sequence.

    The inner transformer always receives float64 arrays without feature
    names, and its own output configuration is reset to "default". The
    output container follows this estimator's ``set_output`` (or the global
    ``transform_output``), which applies to the 2-D form only. For a list or
    a 3-D array, a sparse output is made dense, and a non-default output
    configuration raises a ValueError because a DataFrame cannot contain a
    batch of sequences.

    NaN marks padding in the 3-D form, and any other NaN in X raises a
    ValueError.
    An inner transformer that outputs an all-NaN token row turns that token
    into padding when the 3-D output is read back, but only if the row is
    last in its sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn_hardmax import TokenTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(n, 3)) for n in (4, 7, 5)]
    >>> tokens = TokenTransformer(PCA(n_components=2)).fit(X)
    >>> [sequence.shape for sequence in tokens.transform(X)]
    [(4, 2), (7, 2), (5, 2)]
    >>> padded = np.full((2, 3, 3), np.nan)
    >>> padded[0, :2] = X[0][:2]
    >>> padded[1] = X[1][:3]
    >>> output = tokens.transform(padded)
    >>> output.shape
    (2, 3, 2)
    >>> bool(np.isnan(output[0, 2]).all())
    True
    """

    _parameter_constraints = {
        "transformer": [HasMethods(["fit", "transform"]), None],
    }

    def __init__(self, transformer=None):
        self.transformer = transformer

    def _make_transformer(self):
        if self.transformer is None:
            return StandardScaler()
        return self.transformer

    def _validate_fit_input(self, X, y):
        """Validate X and y and return ``(tokens, offsets, form, token_labels)``.

        ``token_labels`` is None when y is None, y itself in the 2-D form, and
        otherwise y with every label repeated over the tokens of its sequence.
        """
        tokens, offsets = check_sequences(self, X, reset=True)
        form = SequenceForm.of(X)
        if y is None:
            return tokens, offsets, form, None

        n_sequences = offsets.size - 1
        y_array = np.asarray(y)
        n_labels = y_array.shape[0] if y_array.ndim > 0 else 1
        if y_array.ndim == 0 or n_labels != n_sequences:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: X has "
                f"{n_sequences} sequences but y has {n_labels} labels. Pass one "
                "label per sequence."
            )
        if form.kind == "table":
            # One token per sequence, so y already has one label per token.
            return tokens, offsets, form, y
        return tokens, offsets, form, np.repeat(y_array, np.diff(offsets), axis=0)

    def _clone_transformer(self):
        transformer = clone(self._make_transformer())
        if hasattr(transformer, "set_output"):
            # The container depends on the form of X, which the inner
            # transformer never receives, so this estimator's setting decides.
            transformer.set_output(transform="default")
        return transformer

    def _check_output_config(self, form):
        if form.kind == "table":
            return
        container = _get_output_config("transform", self)["dense"]
        if container != "default":
            raise ValueError(
                f"The transform output is configured as {container!r}, by "
                "set_output or by sklearn.set_config(transform_output=...), but X "
                f"is a {form.kind.replace('_', ' ')} of sequences and a {container} "
                "DataFrame holds only 2-D data. Call "
                "set_output(transform='default') or pass a 2-D array."
            )

    def _rebuild(self, output, offsets, form, method):
        """Return the inner transformer's output per token in the input's form."""
        if form.kind == "table":
            return output
        if sparse.issparse(output):
            output = output.toarray()
        output = np.asarray(output)
        n_tokens = offsets[-1]
        if output.ndim != 2 or output.shape[0] != n_tokens:
            raise ValueError(
                f"{type(self.transformer_).__name__}.{method} returned an array of "
                f"shape {output.shape} for {n_tokens} tokens; TokenTransformer "
                "needs a 2-D output with one row per token."
            )
        return form.rebuild(output, offsets)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the transformer on the tokens of all sequences stacked together.

        Parameters
        ----------
        X : list of array-like of shape (n_tokens_i, n_features), or ndarray
            Training sequences: a list of 2-D arrays, a 3-D array whose
            trailing all-NaN token rows are padding, or a 2-D array with one
            single-token sequence per row.
        y : array-like of shape (n_sequences,) or (n_sequences, n_targets), \
default=None
            Targets, one per sequence, repeated over the tokens of each
            sequence before they reach the inner transformer.

        Returns
        -------
        self : TokenTransformer
            The fitted transformer.
        """
        tokens, _, _, token_labels = self._validate_fit_input(X, y)
        self.transformer_ = self._clone_transformer()
        if token_labels is None:
            self.transformer_.fit(tokens)
        else:
            self.transformer_.fit(tokens, token_labels)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None):
        """Fit the transformer and return every token transformed.

        The inner transformer's ``fit_transform`` runs once on the stacked
        tokens.

        Parameters
        ----------
        X : list of array-like of shape (n_tokens_i, n_features), or ndarray
            Training sequences, in any form that ``fit`` accepts.
        y : array-like of shape (n_sequences,) or (n_sequences, n_targets), \
default=None
            Targets, one per sequence, as in ``fit``.

        Returns
        -------
        X_new : list of ndarray, ndarray or the inner transformer's output
            The transformed sequences, in the form of X (see ``transform``).
        """
        tokens, offsets, form, token_labels = self._validate_fit_input(X, y)
        self._check_output_config(form)
        self.transformer_ = self._clone_transformer()
        if token_labels is None:
            output = self.transformer_.fit_transform(tokens)
        else:
            output = self.transformer_.fit_transform(tokens, token_labels)
        return self._rebuild(output, offsets, form, "fit_transform")

    def transform(self, X):
        """Transform every token of every sequence.

        Parameters
        ----------
        X : list of array-like of shape (n_tokens_i, n_features), or ndarray
            Sequences, in any form that ``fit`` accepts, with
            ``n_features_in_`` features per token. The form may differ from
            the one seen in ``fit``.

        Returns
        -------
        X_new : list of ndarray, ndarray or the inner transformer's output
            For a list or tuple, a list of ``(n_tokens_i, n_outputs)`` arrays.
            For a 1-D object array, a 1-D object array of them. For a 3-D
            array, a 3-D array of shape ``(n_sequences, max_tokens,
            n_outputs)`` with the same all-NaN padding rows. For a 2-D X, the
            inner transformer's output for its rows.
        """
        check_is_fitted(self)
        tokens, offsets = check_sequences(self, X, reset=False)
        form = SequenceForm.of(X)
        self._check_output_config(form)
        output = self.transformer_.transform(tokens)
        return self._rebuild(output, offsets, form, "transform")

    @available_if(_transformer_has("inverse_transform"))
    def inverse_transform(self, X):
        """Map every transformed token back to the input token space.

        Available when the inner transformer has ``inverse_transform``.

        Parameters
        ----------
        X : list of array-like of shape (n_tokens_i, n_outputs), or ndarray
            Transformed sequences, in any form that ``fit`` accepts.

        Returns
        -------
        X_original : list of ndarray, ndarray or the inner transformer's output
            Sequences of ``n_features_in_`` features per token, in the form
            of X.
        """
        check_is_fitted(self)
        # The tokens here have the output size, not n_features_in_, so they are
        # validated on an unfitted copy, which records their size instead of
        # checking it.
        tokens, offsets = check_sequences(clone(self), X, reset=True)
        n_outputs = self._count_outputs()
        if n_outputs is not None and tokens.shape[1] != n_outputs:
            raise ValueError(
                f"X has {tokens.shape[1]} features per token, but "
                f"TokenTransformer.inverse_transform expects {n_outputs}, the "
                f"output size of {type(self.transformer_).__name__}. Pass the "
                "output of transform."
            )
        form = SequenceForm.of(X)
        output = self.transformer_.inverse_transform(tokens)
        return self._rebuild(output, offsets, form, "inverse_transform")

    def _count_outputs(self):
        """Return the inner transformer's output size, or None if it is unknown."""
        try:
            return len(self.get_feature_names_out())
        except AttributeError:
            # Without get_feature_names_out the size is only known after a
            # transform, so the inner inverse_transform has to check it.
            return None

    @available_if(_transformer_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """Return the inner transformer's names for the output token features.

        Available when the inner transformer has ``get_feature_names_out``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the token features. Defaults to ``feature_names_in_``
            when set, else ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            The names that ``transformer_`` gives its outputs for
            ``input_features``.
        """
        check_is_fitted(self)
        input_features = _check_feature_names_in(self, input_features)
        return self.transformer_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._make_transformer())
        # NaN rows are padding in the 3-D form and rejected everywhere else.
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = inner.input_tags.positive_only
        tags.target_tags.required = inner.target_tags.required
        tags.non_deterministic = inner.non_deterministic
        if inner.transformer_tags is not None:
            # Validation converts every input to float64, so float64 is the
            # only dtype that can come out unchanged.
            tags.transformer_tags.preserves_dtype = [
                dtype
                for dtype in inner.transformer_tags.preserves_dtype
                if dtype == "float64"
            ]
        return tags
