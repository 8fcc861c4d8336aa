"""Benchmark test accuracy and fit and predict times against simple baselines.

Data sets: the bundled Japanese Vowels data with its official split, then
every ``--train A.ts --test B.ts`` pair given on the command line (repeat
the two options for more pairs). For each data set the script compares

- ``HardmaxTransformerClassifier(embedding="moments", readout="prototype")``
  (``random_state=0`` so that runs are reproducible), whose prediction is a
  1-nearest-neighbour rule, or with ``--defaults`` the classifier's defaults
  (the convolution embedding with the linear readout),
- ``KNeighborsClassifier(n_neighbors=1, algorithm="brute")`` fitted on
  ``model.transform(X_train)`` of that fitted model and predicting from
  ``model.transform(X_test)``, the same pooled representation,
- ``DummyClassifier()``, which predicts the most frequent training class,
- aeon's ``KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1)``
  on the raw series in aeon's channels-first layout, when aeon is installed.

Every fit and predict runs once untimed to warm up (this first predict is
shown apart, since it includes one-time work such as building the fused
readout or numba compilation), then ``--repeats`` times. The tables show the
medians. The 1-NN predict time excludes ``transform``. For every data set
the script prints the ratio of the hardmax predict time to it (target: at
most 1.5). It also prints the ratio to ``transform`` and 1-NN predict timed
together, which is the same work that the hardmax predict does.

``--threads 1`` runs every timing under threadpoolctl's
``threadpool_limits(1)``, so the BLAS (used by the hardmax readout) and the
OpenMP runtime (used by scikit-learn's brute search) run one thread each.
With two threads both stall for milliseconds per call whenever another
process keeps a core busy, which dominates these small problems.

Run from the repository root, with sklearn-hardmax installed
(``pip install .``)::

    python benchmarks/bench_accuracy.py
    python benchmarks/bench_accuracy.py --threads 1
    python benchmarks/bench_accuracy.py --train A_TRAIN.ts --test A_TEST.ts
    python benchmarks/bench_accuracy.py --repeats 9 --skip-aeon --output /tmp/out

Plots (with matplotlib) and a JSON file of every timing go to ``--output``.
"""

import argparse
import contextlib
import warnings

import numpy as np
from _common import (
    PROTOTYPE_MODEL,
    add_data_set_arguments,
    add_output_argument,
    check_data_set_arguments,
    describe_data_set,
    environment_report,
    import_pyplot,
    load_data_sets,
    positive_int,
    print_closing,
    print_environment,
    print_table,
    save_figure,
    save_results,
    time_calls,
)
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.neighbors import KNeighborsClassifier

from sklearn_hardmax import HardmaxTransformerClassifier

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None
from sklearn_hardmax.formats import to_channels_first

# The library aims to keep its predict time within this factor of the brute
# 1-NN predict time on the pooled representation.
TARGET_PREDICT_RATIO = 1.5

HARDMAX = "HardmaxTransformerClassifier"
NEAREST_NEIGHBOUR = "1-NN brute on transform"
DUMMY = "DummyClassifier"
DTW = "aeon 1-NN DTW"


def parse_arguments():
    parser = argparse.ArgumentParser(
        description=(
            "Compare accuracy and fit and predict times of "
            "HardmaxTransformerClassifier with 1-NN baselines."
        )
    )
    add_data_set_arguments(parser)
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=7,
        help="timed calls of every fit and predict, after one warm-up (default: 7)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help=(
            "limit BLAS and OpenMP to this many threads with threadpoolctl "
            "(default: no limit)"
        ),
    )
    parser.add_argument(
        "--skip-aeon",
        action="store_true",
        help="leave out aeon's DTW classifier even when aeon is installed",
    )
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="measure the classifier's defaults (convolution embedding, linear "
        "readout) instead of the nearest-prototype readout on the moments "
        "embedding",
    )
    add_output_argument(parser)

    arguments = parser.parse_args()
    check_data_set_arguments(parser, arguments)
    if arguments.threads is not None and threadpool_limits is None:
        parser.error("--threads needs threadpoolctl; install it with pip")
    return arguments


def import_aeon_classifier(skip):
    """Return aeon's KNeighborsTimeSeriesClassifier, or None with a printed note."""
    if skip:
        print("Note: --skip-aeon given, so aeon's DTW classifier is left out.\n")
        return None
    try:
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    except ImportError as error:
        print(
            f"Note: aeon is not importable ({error}), so aeon's "
            "KNeighborsTimeSeriesClassifier is skipped. Install it with "
            "'pip install aeon' to include it.\n"
        )
        return None
    return KNeighborsTimeSeriesClassifier


def measure(name, estimator, X_train, y_train, X_test, y_test, repeats):
    """Time fit and predict of a fresh clone of ``estimator`` and score it."""
    fit_timing, model = time_calls(
        lambda: clone(estimator).fit(X_train, y_train), repeats
    )
    predict_timing, predicted = time_calls(lambda: model.predict(X_test), repeats)
    return {
        "method": name,
        "accuracy": float(np.mean(predicted == y_test)),
        "fit": fit_timing,
        "predict": predict_timing,
        "model": model,
        "predicted": predicted,
    }


def benchmark_data_set(data_set, repeats, aeon_classifier, parameters):
    """Run every method on one data set and return the measurements."""
    name, X_train, y_train, X_test, y_test = data_set
    hardmax = measure(
        HARDMAX,
        HardmaxTransformerClassifier(**parameters),
        X_train,
        y_train,
        X_test,
        y_test,
        repeats,
    )

    model = hardmax["model"]
    representation_train = model.transform(X_train)
    representation_test = model.transform(X_test)
    nearest = measure(
        NEAREST_NEIGHBOUR,
        KNeighborsClassifier(n_neighbors=1, algorithm="brute"),
        representation_train,
        y_train,
        representation_test,
        y_test,
        repeats,
    )
    results = [hardmax, nearest]

    nearest_model = nearest["model"]
    end_to_end, _ = time_calls(
        lambda: nearest_model.predict(model.transform(X_test)), repeats
    )
    transform_timing, _ = time_calls(lambda: model.transform(X_test), repeats)

    dummy = measure(
        DUMMY,
        DummyClassifier(),
        representation_train,
        y_train,
        representation_test,
        y_test,
        repeats,
    )
    results.append(dummy)

    if aeon_classifier is not None:
        with warnings.catch_warnings():
            # numba warns about integer casts inside aeon's DTW code on its
            # first compilation. Such warnings concern aeon, not the results.
            warnings.filterwarnings("ignore", module=r"(aeon|numba)(\.|$)")
            results.append(
                measure(
                    DTW,
                    aeon_classifier(distance="dtw", n_neighbors=1),
                    to_channels_first(X_train),
                    y_train,
                    to_channels_first(X_test),
                    y_test,
                    repeats,
                )
            )

    agreement = float(np.mean(hardmax["predicted"] == nearest["predicted"]))
    return {
        "name": name,
        "description": describe_data_set(X_train, y_train, X_test),
        "methods": results,
        "agreement": agreement,
        "transform": transform_timing,
        "transform_and_nearest_neighbour": end_to_end,
        "n_blocks": int(model.n_blocks_),
        "n_params": int(model.n_params_),
        "n_pooled": int(representation_train.shape[1]),
    }


def milliseconds(seconds):
    return f"{1000.0 * seconds:.3f}"


def report_data_set(result):
    rows = []
    for method in result["methods"]:
        rows.append(
            [
                method["method"],
                f"{method['accuracy']:.4f}",
                milliseconds(method["fit"].median),
                milliseconds(method["predict"].median),
                milliseconds(method["predict"].warmup),
            ]
        )
    print_table(
        f"Data set: {result['name']} ({result['description']})",
        ["method", "test accuracy", "fit (ms)", "predict (ms)", "first predict (ms)"],
        rows,
    )

    methods = {method["method"]: method for method in result["methods"]}
    hardmax_predict = methods[HARDMAX]["predict"].median
    ratio = hardmax_predict / methods[NEAREST_NEIGHBOUR]["predict"].median
    verdict = "met" if ratio <= TARGET_PREDICT_RATIO else "missed"
    print(
        f"hardmax predict / brute 1-NN predict on the pooled representation: "
        f"{ratio:.2f}x (target at most {TARGET_PREDICT_RATIO}x: {verdict})"
    )

    end_to_end = result["transform_and_nearest_neighbour"].median
    print(
        f"hardmax predict / (transform + brute 1-NN predict): "
        f"{hardmax_predict / end_to_end:.2f}x "
        f"(transform alone: {milliseconds(result['transform'].median)} ms, "
        f"transform + 1-NN predict: {milliseconds(end_to_end)} ms)"
    )
    print(
        f"test predictions equal to the 1-NN rule's: {result['agreement']:.4f}; "
        f"network: {result['n_blocks']} blocks, {result['n_params']} parameters, "
        f"{result['n_pooled']} pooled coordinates"
    )
    print()
    return ratio


def plot_data_set(pyplot, result, output):
    names = [method["method"] for method in result["methods"]]
    figure, (accuracy_axes, time_axes) = pyplot.subplots(1, 2, figsize=(11, 3.8))
    positions = np.arange(len(names))
    accuracy_axes.barh(positions, [method["accuracy"] for method in result["methods"]])
    accuracy_axes.set_yticks(positions, names)
    accuracy_axes.set_xlim(0, 1)
    accuracy_axes.set_xlabel("test accuracy")
    height = 0.4
    fit_seconds = [method["fit"].median for method in result["methods"]]
    predict_seconds = [method["predict"].median for method in result["methods"]]
    time_axes.barh(positions - height / 2, fit_seconds, height, label="fit")
    time_axes.barh(positions + height / 2, predict_seconds, height, label="predict")
    time_axes.set_yticks(positions, [""] * len(names))
    time_axes.set_xscale("log")
    time_axes.set_xlabel("median time (s)")
    time_axes.legend()
    figure.suptitle(f"{result['name']}: {result['description']}", fontsize=9)
    path = save_figure(figure, output, f"accuracy_{result['name']}")
    pyplot.close(figure)
    return path


def to_json(results, ratios, environment, repeats, threads):
    data_sets = []
    for result, ratio in zip(results, ratios):
        methods = [
            {
                "method": method["method"],
                "accuracy": method["accuracy"],
                "fit": method["fit"].to_dict(),
                "predict": method["predict"].to_dict(),
            }
            for method in result["methods"]
        ]
        data_sets.append(
            {
                "name": result["name"],
                "description": result["description"],
                "methods": methods,
                "predict_ratio": ratio,
                "agreement": result["agreement"],
                "transform": result["transform"].to_dict(),
                "transform_and_nearest_neighbour": result[
                    "transform_and_nearest_neighbour"
                ].to_dict(),
                "n_blocks": result["n_blocks"],
                "n_params": result["n_params"],
            }
        )
    return {
        "environment": environment,
        "repeats": repeats,
        "threads": threads,
        "data_sets": data_sets,
    }


def main():
    arguments = parse_arguments()
    environment = environment_report(extra_modules=("aeon",))
    print_environment(environment)
    print(
        f"Timings: medians of {arguments.repeats} calls after one untimed warm-up "
        "call; 'first predict' is that warm-up call.\n"
    )
    if arguments.threads is None:
        print("Threads: library defaults (no threadpoolctl limit).\n")
        limits = contextlib.nullcontext()
    else:
        print(
            f"Threads: BLAS and OpenMP limited to {arguments.threads} by "
            "threadpoolctl.\n"
        )
        limits = threadpool_limits(limits=arguments.threads)
    aeon_classifier = import_aeon_classifier(arguments.skip_aeon)
    data_sets = load_data_sets(arguments)

    results, ratios = [], []
    with limits:
        for data_set in data_sets:
            parameters = {"random_state": 0} if arguments.defaults else PROTOTYPE_MODEL
            result = benchmark_data_set(
                data_set, arguments.repeats, aeon_classifier, parameters
            )
            ratios.append(report_data_set(result))
            results.append(result)

    rows = []
    for result, ratio in zip(results, ratios):
        methods = {method["method"]: method for method in result["methods"]}
        dtw = methods.get(DTW)
        rows.append(
            [
                result["name"],
                f"{methods[HARDMAX]['accuracy']:.4f}",
                f"{methods[NEAREST_NEIGHBOUR]['accuracy']:.4f}",
                f"{methods[DUMMY]['accuracy']:.4f}",
                "n/a" if dtw is None else f"{dtw['accuracy']:.4f}",
                f"{ratio:.2f}x",
                "met" if ratio <= TARGET_PREDICT_RATIO else "missed",
            ]
        )
    print_table(
        "Summary: test accuracy and hardmax predict time / brute 1-NN predict time",
        [
            "data set",
            "hardmax",
            "1-NN",
            "dummy",
            "DTW 1-NN",
            "predict ratio",
            "<= 1.5x",
        ],
        rows,
    )

    written = [
        save_results(
            arguments.output,
            "bench_accuracy",
            to_json(
                results, ratios, environment, arguments.repeats, arguments.threads
            ),
        )
    ]
    pyplot = import_pyplot()
    if pyplot is not None:
        for result in results:
            written.append(plot_data_set(pyplot, result, arguments.output))
    print_closing(arguments.output, written)


if __name__ == "__main__":
    main()
