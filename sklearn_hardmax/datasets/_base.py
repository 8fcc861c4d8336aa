"""Loaders for the data sets bundled with sklearn-hardmax."""

import gzip
from importlib import resources

from ._ts_format import _parse_lines

_SPLITS = ("train", "test")


def load_japanese_vowels(split="train"):
    """Load the Japanese Vowels speaker classification data set.

    Nine male Japanese speakers were recorded saying the vowels 'a' and 'e', and
    each utterance was turned into 12 LPC cepstrum coefficients per time step. The
    task is to predict the speaker. The data comes from the UCI Machine Learning
    Repository (CC BY 4.0) in the UEA & UCR time series archive conversion, with
    that archive's train/test split. ``sklearn_hardmax/datasets/data/README.md``
    gives the full attribution.

    =================  ==============  ==============
    split              train           test
    =================  ==============  ==============
    sequences          270             370
    per class          30              24 to 88
    classes            9               9
    tokens             7 to 26         7 to 29
    features           12              12
    =================  ==============  ==============

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which of the two official parts of the data to load.

    Returns
    -------
    X : list of ndarray of shape (n_tokens, 12)
        One float64 array per utterance. Rows are time steps (tokens) and
        columns are the 12 coefficients. ``n_tokens`` differs between utterances.
    y : ndarray of shape (n_sequences,)
        Speaker of each utterance, as the strings ``"1"`` to ``"9"``.

    Raises
    ------
    ValueError
        If ``split`` is neither ``"train"`` nor ``"test"``.

    See Also
    --------
    load_ts_file : Load any ``.ts`` classification file.

    References
    ----------
    M. Kudo, J. Toyama and M. Shimbo, "Multidimensional curve classification
    using passing-through regions", Pattern Recognition Letters, 20(11-13),
    pp. 1103-1111, 1999.

    Examples
    --------
    >>> from sklearn_hardmax.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels()
    >>> len(X)
    270
    >>> X[0].shape[1]
    12
    >>> sorted(set(y.tolist()))
    ['1', '2', '3', '4', '5', '6', '7', '8', '9']
    >>> X_test, y_test = load_japanese_vowels(split="test")
    >>> len(X_test)
    370
    """
    if split not in _SPLITS:
        raise ValueError(f"Invalid split {split!r}. Expected 'train' or 'test'.")

    filename = f"JapaneseVowels_{split.upper()}.ts.gz"
    resource = resources.files("sklearn_hardmax.datasets") / "data" / filename
    with resource.open("rb") as compressed:
        with gzip.open(compressed, "rt", encoding="ascii") as text:
            parsed = _parse_lines(text, missing="raise")
    return parsed.sequences, parsed.labels
