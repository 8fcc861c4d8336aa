"""Command line: the bundled-data report, and fit, predict and info on files.

``python -m sklearn_hardmax`` with no command constructs the transformer on
the official Japanese Vowels training split. It prints the network's size
next to the 4N + 1 blocks for N sequences of the hardmax construction of
arXiv:2502.02270, the training and test accuracy, and the fit and predict
times.

``fit TRAIN.ts --model MODEL`` saves a fitted model with joblib,
``predict MODEL DATA.ts`` prints or writes its predictions, and ``info MODEL``
describes a saved model. Errors end the program with status 1 and a one-line
message on stderr.
"""

import argparse
import contextlib
import csv
import sys
import time
import warnings

import joblib
import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_is_fitted

from . import HardmaxTransformerClassifier, __version__
from ._classifier import ModelVersionWarning
from ._model import POOLING_KINDS
from .datasets import MissingValuesWarning, load_japanese_vowels, load_ts_file

# Predictions are made in this many steps when progress is shown.
PROGRESS_STEPS = 20


class CommandError(Exception):
    """An error reported to the user as one line, without a traceback."""


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


MODEL_DEFAULTS = {
    "embedding": "convolution",
    "readout": "auto",
    "pooling": ["mean"],
    "positional_moments": 2,
    "prototypes": "all",
    "random_state": 0,
    "n_jobs": None,
}


def _add_model_options(parser, defaults):
    """Add the estimator's options; a command repeats them without defaults.

    The top-level parser sets the defaults. A command's parser uses
    ``argparse.SUPPRESS``, so an option given before the command is kept
    unless the same option follows the command.
    """
    parser.add_argument(
        "--embedding",
        choices=("convolution", "moments"),
        default=defaults["embedding"],
        help="convolution stem with proportion features, or standardized tokens "
        "with cosine moments (default: convolution)",
    )
    parser.add_argument(
        "--readout",
        choices=("auto", "linear", "prototype"),
        default=defaults["readout"],
        help="ridge readout in one block, nearest-prototype blocks, or linear "
        "when exact and prototypes otherwise (default: auto)",
    )
    parser.add_argument(
        "--pooling",
        nargs="+",
        choices=POOLING_KINDS,
        default=defaults["pooling"],
        help="pooling heads of the pooling block (default: mean)",
    )
    parser.add_argument(
        "--positional-moments",
        type=_non_negative_int,
        default=defaults["positional_moments"],
        metavar="K",
        help="number of cosine positional features; 0 ignores order (default: 2)",
    )
    parser.add_argument(
        "--prototypes",
        choices=("all", "condensed"),
        default=defaults["prototypes"],
        help="every distinct training sequence as a prototype, or a condensed "
        "consistent subset with fewer blocks (default: all)",
    )
    parser.add_argument(
        "--random-state",
        type=_non_negative_int,
        default=defaults["random_state"],
        help="seed of the construction (default: 0)",
    )
    _add_n_jobs(parser, defaults["n_jobs"])


def _add_n_jobs(parser, default):
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=default,
        help="joblib jobs for pooling and scoring; -1 uses every processor "
        "(default: 1)",
    )


def _add_progress(parser):
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print progress lines on stderr (default: only when stderr is a "
        "terminal)",
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_hardmax",
        description=(
            "Without a command: fit a HardmaxTransformerClassifier on the bundled "
            "Japanese Vowels training split (270 sequences, 9 speakers) and report "
            "its size, its accuracy on the training and test splits, and its fit "
            "and predict times. With a command: fit a model on a .ts file, "
            "predict with a saved model, or describe one."
        ),
    )
    _add_model_options(parser, MODEL_DEFAULTS)
    parser.add_argument("--verbose", action="store_true", help="print the progress of fit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit a model on a .ts file and save it with joblib",
        description="Fit a HardmaxTransformerClassifier on a labelled UEA/UCR .ts "
        "file (.ts.gz works too) and save it with joblib.",
    )
    fit.add_argument("train", metavar="TRAIN.ts", help="labelled training data")
    fit.add_argument("--model", required=True, metavar="MODEL", help="output file")
    fit.add_argument(
        "--drop-missing",
        action="store_true",
        help="drop sequences with missing values ('?') instead of failing",
    )
    _add_model_options(fit, dict.fromkeys(MODEL_DEFAULTS, argparse.SUPPRESS))
    _add_progress(fit)

    predict = commands.add_parser(
        "predict",
        help="predict the classes of a .ts file with a saved model",
        description="Predict every sequence of a .ts file with a saved model. "
        "Prints the accuracy when the file has labels.",
    )
    predict.add_argument("model", metavar="MODEL", help="model saved by 'fit'")
    predict.add_argument("data", metavar="DATA.ts", help="sequences to classify")
    predict.add_argument(
        "--output",
        metavar="CSV",
        help="write 'index,prediction' rows (and 'label' when known) to this file",
    )
    predict.add_argument(
        "--drop-missing",
        action="store_true",
        help="drop sequences with missing values ('?') instead of failing",
    )
    _add_n_jobs(predict, argparse.SUPPRESS)
    _add_progress(predict)

    info = commands.add_parser(
        "info",
        help="describe a saved model",
        description="Print the classes, size and library version of a saved model.",
    )
    info.add_argument("model", metavar="MODEL", help="model saved by 'fit'")
    return parser


def _show_progress(arguments):
    if arguments.progress is None:
        return sys.stderr.isatty()
    return arguments.progress


def _read_ts(path, drop_missing):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MissingValuesWarning)
            data = load_ts_file(path, missing="drop" if drop_missing else "raise")
        for warning in caught:
            print(f"warning: {path}: {warning.message}", file=sys.stderr)
        return data
    except FileNotFoundError:
        raise CommandError(f"data file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}") from None
    except ValueError as error:
        raise CommandError(f"{path}: {error}") from None


def _load_model(path):
    try:
        with warnings.catch_warnings():
            # A version mismatch is reported as one line below, not a warning.
            warnings.simplefilter("error", ModelVersionWarning)
            model = joblib.load(path)
    except FileNotFoundError:
        raise CommandError(f"model file not found: {path}") from None
    except ModelVersionWarning as warning:
        print(f"warning: {warning}", file=sys.stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelVersionWarning)
            model = joblib.load(path)
    except Exception as error:  # joblib raises many types for a broken file.
        raise CommandError(
            f"cannot load model {path}: {error}. Is it a file that "
            "'python -m sklearn_hardmax fit' or joblib.dump wrote?"
        ) from None
    if not isinstance(model, HardmaxTransformerClassifier):
        raise CommandError(
            f"{path} contains a {type(model).__name__}, not a fitted "
            "HardmaxTransformerClassifier"
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CommandError(
            f"{path} contains a HardmaxTransformerClassifier that is not fitted. "
            "Save a model after fit, for example with the 'fit' command."
        ) from None
    return model


def _make_model(arguments, verbose):
    return HardmaxTransformerClassifier(
        embedding=arguments.embedding,
        readout=arguments.readout,
        pooling=tuple(arguments.pooling),
        positional_moments=arguments.positional_moments,
        prototypes=arguments.prototypes,
        random_state=arguments.random_state,
        n_jobs=arguments.n_jobs,
        verbose=verbose,
    )


def _predict(model, X, show_progress):
    """Predict in steps, printing one progress line per step on stderr."""
    if not show_progress or len(X) < PROGRESS_STEPS:
        return model.predict(X)
    predictions = []
    step = -(-len(X) // PROGRESS_STEPS)
    started = time.perf_counter()
    for batch in gen_batches(len(X), step):
        predictions.append(model.predict(X[batch]))
        elapsed = time.perf_counter() - started
        print(
            f"predicted {batch.stop}/{len(X)} sequences in {elapsed:.1f} s",
            file=sys.stderr,
        )
    return np.concatenate(predictions)


def run_fit(arguments):
    X, y = _read_ts(arguments.train, arguments.drop_missing)
    if y is None:
        raise CommandError(f"{arguments.train} has no class labels to fit on")
    show_progress = _show_progress(arguments)
    model = _make_model(arguments, verbose=int(show_progress))
    started = time.perf_counter()
    # Progress of fit goes to stderr, so stdout keeps only the summary.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            model.fit(X, y)
        except ValueError as error:
            raise CommandError(f"fit failed: {error}") from None
    fit_seconds = time.perf_counter() - started
    try:
        joblib.dump(model, arguments.model)
    except OSError as error:
        raise CommandError(f"cannot write model {arguments.model}: {error}") from None
    accuracy = np.mean(model.predict(X) == y)
    print(f"fitted {len(X)} sequences in {len(model.classes_)} classes in {fit_seconds:.3f} s")
    print(f"blocks {model.n_blocks_}, parameters {model.n_params_}")
    print(f"training accuracy {accuracy:.4f}")
    print(f"saved {arguments.model}")
    return 0


def run_predict(arguments):
    model = _load_model(arguments.model)
    X, y = _read_ts(arguments.data, arguments.drop_missing)
    if arguments.n_jobs is not None:
        model.set_params(n_jobs=arguments.n_jobs)
    started = time.perf_counter()
    try:
        predictions = _predict(model, X, _show_progress(arguments))
    except ValueError as error:
        raise CommandError(f"predict failed on {arguments.data}: {error}") from None
    seconds = time.perf_counter() - started
    if arguments.output:
        _write_predictions(arguments.output, predictions, y)
    else:
        for prediction in predictions:
            print(prediction)
    summary = f"predicted {len(X)} sequences in {seconds:.3f} s"
    if y is not None:
        summary += f", accuracy {np.mean(predictions == y.astype(predictions.dtype)):.4f}"
    print(summary, file=sys.stderr if not arguments.output else sys.stdout)
    return 0


def _write_predictions(path, predictions, labels):
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "prediction"] + (["label"] if labels is not None else []))
            for index, prediction in enumerate(predictions):
                row = [index, prediction]
                if labels is not None:
                    row.append(labels[index])
                writer.writerow(row)
    except OSError as error:
        raise CommandError(f"cannot write predictions {path}: {error}") from None


def run_info(arguments):
    model = _load_model(arguments.model)
    saved = getattr(model, "_saved_version", None)
    rows = [
        ("classes", ", ".join(str(label) for label in model.classes_)),
        ("token size", f"{model.n_features_in_}"),
        ("embedding", model.embedding),
        ("readout", model.readout_),
        ("pooling", ", ".join(model.transformer_.layout.pooling)),
        ("positional moments", _moments_text(model)),
        ("blocks", f"{model.n_blocks_}"),
        ("parameters", f"{model.n_params_} nonzero weights"),
        ("witnesses", f"{len(model.witnesses_)}"),
        ("saved with", f"sklearn-hardmax {saved or 'unknown'}"),
        ("loaded with", f"sklearn-hardmax {__version__}"),
    ]
    _print_rows(rows)
    return 0


def _moments_text(model):
    if model.embedding != "moments":
        return "not used by the convolution embedding"
    return f"{model.positional_moments}"


def _print_rows(rows):
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _prototypes_text(model):
    if model.readout_ == "linear":
        return "none (linear readout)"
    return f"{model.n_prototypes_} ({model.prototypes})"


def run_report(arguments):
    X_train, y_train = load_japanese_vowels("train")
    X_test, y_test = load_japanese_vowels("test")
    model = _make_model(arguments, verbose=int(arguments.verbose))

    started = time.perf_counter()
    try:
        model.fit(X_train, y_train)
    except ValueError as error:
        raise CommandError(f"fit failed: {error}") from None
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    test_predictions = model.predict(X_test)
    predict_seconds = time.perf_counter() - started
    train_accuracy = np.mean(model.predict(X_train) == y_train)
    test_accuracy = np.mean(test_predictions == y_test)

    lengths = [len(sequence) for sequence in X_train]
    n_sequences = len(X_train)
    _print_rows(
        [
            ("data", "Japanese Vowels (UCI), official split"),
            ("training sequences", f"{n_sequences} in {len(model.classes_)} classes"),
            ("test sequences", f"{len(X_test)}"),
            ("token size", f"{model.n_features_in_}"),
            ("training lengths", f"{min(lengths)} to {max(lengths)} tokens"),
            ("embedding", model.embedding),
            ("readout", f"{model.readout_} (requested {model.readout})"),
            ("pooling", f"{', '.join(model.transformer_.layout.pooling)}"),
            ("positional moments", _moments_text(model)),
            (
                "blocks",
                f"{model.n_blocks_} (hardmax theorem: 4N + 1 = {4 * n_sequences + 1})",
            ),
            ("parameters", f"{model.n_params_} nonzero weights"),
            ("prototypes", _prototypes_text(model)),
            ("training accuracy", f"{train_accuracy:.4f}"),
            ("test accuracy", f"{test_accuracy:.4f}"),
            ("fit time", f"{fit_seconds:.3f} s"),
            ("predict time", f"{predict_seconds:.3f} s for {len(X_test)} sequences"),
        ]
    )
    return 0


COMMANDS = {None: run_report, "fit": run_fit, "predict": run_predict, "info": run_info}


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    try:
        return COMMANDS[arguments.command](arguments)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
