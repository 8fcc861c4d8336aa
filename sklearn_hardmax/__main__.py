"""Command line: fit on the bundled Japanese Vowels data and report.

``python -m sklearn_hardmax`` constructs the transformer on the official
training split, then prints its size next to the hardmax construction of
arXiv:2502.02270 (4N + 1 blocks for N sequences), the training and test
accuracy, and the fit and predict times.
"""

import argparse
import sys
import time

import numpy as np

from . import HardmaxTransformerClassifier, __version__
from ._model import POOLING_KINDS
from .datasets import load_japanese_vowels


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_hardmax",
        description=(
            "Fit a HardmaxTransformerClassifier on the bundled Japanese Vowels "
            "training split (270 sequences, 9 speakers) and report its size, its "
            "accuracy on the training and test splits, and its fit and predict "
            "times."
        ),
    )
    parser.add_argument(
        "--pooling",
        nargs="+",
        choices=POOLING_KINDS,
        default=["mean"],
        help="pooling heads of the pooling block (default: mean)",
    )
    parser.add_argument(
        "--positional-moments",
        type=_non_negative_int,
        default=2,
        metavar="K",
        help="number of cosine positional features; 0 ignores order (default: 2)",
    )
    parser.add_argument(
        "--random-state",
        type=_non_negative_int,
        default=0,
        help="seed of the construction (default: 0)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print the progress of fit"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    X_train, y_train = load_japanese_vowels("train")
    X_test, y_test = load_japanese_vowels("test")
    model = HardmaxTransformerClassifier(
        pooling=tuple(arguments.pooling),
        positional_moments=arguments.positional_moments,
        random_state=arguments.random_state,
        verbose=int(arguments.verbose),
    )

    started = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    test_predictions = model.predict(X_test)
    predict_seconds = time.perf_counter() - started
    train_accuracy = np.mean(model.predict(X_train) == y_train)
    test_accuracy = np.mean(test_predictions == y_test)

    lengths = [len(sequence) for sequence in X_train]
    n_sequences = len(X_train)
    rows = [
        ("data", "Japanese Vowels (UCI), official split"),
        ("training sequences", f"{n_sequences} in {len(model.classes_)} classes"),
        ("test sequences", f"{len(X_test)}"),
        ("token size", f"{model.n_features_in_}"),
        ("training lengths", f"{min(lengths)} to {max(lengths)} tokens"),
        ("pooling", f"{', '.join(model.transformer_.layout.pooling)}"),
        ("positional moments", f"{model.positional_moments}"),
        ("blocks", f"{model.n_blocks_} (hardmax theorem: 4N + 1 = {4 * n_sequences + 1})"),
        ("parameters", f"{model.n_params_} nonzero weights"),
        ("training accuracy", f"{train_accuracy:.4f}"),
        ("test accuracy", f"{test_accuracy:.4f}"),
        ("fit time", f"{fit_seconds:.3f} s"),
        ("predict time", f"{predict_seconds:.3f} s for {len(X_test)} sequences"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
