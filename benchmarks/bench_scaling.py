"""Benchmark fit and predict time and peak memory as the data grows.

Three parts, chosen with ``--parts`` (default: all three):

``sizes``
    Fit time, predict time and peak memory against the number of training
    sequences N (default grid 1,000 to 50,000), on synthetic data from
    ``_common.make_smooth_curves``: 5 overlapping classes of smooth curves
    with 12 features, per-sequence jitter and noise, and random lengths of 15
    to 25 tokens. Predict times are for a fixed test set of
    ``--test-sequences`` sequences (default 2,000), next to the brute 1-NN
    predict time on the same pooled representation (``transform`` excluded).
``lengths``
    The same against the mean sequence length (default 10 to 10,000 tokens,
    lengths within +-25% of it) for a fixed N (``--length-sequences``,
    default 500) and ``--length-test-sequences`` test sequences (default 200).
``predict``
    A model fitted on ``--prototypes`` sequences (default 50,000) is saved
    with joblib. A fresh process loads it and predicts ``--predict-sequences``
    sequences (default 100,000). Prediction works in chunks sized by
    scikit-learn's ``working_memory``, so its peak memory must stay far below
    the size of a float64 matrix of n_sequences x n_prototypes distances.

Every measurement runs in a new process started with the "spawn" method, so
one run's memory does not carry over to the next. Peak memory is that
process's peak resident set size (``VmHWM`` on Linux, reset with
``/proc/self/clear_refs`` right before the fit and before the predict,
so that generating the data does not count). It includes the interpreter,
numpy and scikit-learn (about 155 MiB on the machine of doc/benchmarks.rst)
and the data. The tables also give the RSS just before each step. In the
first two parts "first predict" is the first predict call of the process,
which also builds the fused readout, and "predict" is the median of the 3
calls after it. Each measurement is repeated ``--repeats`` times in new
processes (default 3), and the tables show the medians over those processes.

Run from the repository root, with sklearn-hardmax installed
(``pip install .``)::

    python benchmarks/bench_scaling.py            # full grids, about 20 min
    python benchmarks/bench_scaling.py --quick    # small grids, under a minute
    python benchmarks/bench_scaling.py --parts sizes --repeats 5

Plots (with matplotlib) and a JSON file of every run go to ``--output``.
"""

import argparse
import gc
import math
import statistics
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from _common import (
    PROTOTYPE_MODEL,
    MIB,
    add_output_argument,
    current_rss_bytes,
    environment_report,
    format_mib,
    format_seconds,
    import_pyplot,
    make_smooth_curves,
    peak_rss_bytes,
    positive_int,
    print_closing,
    print_environment,
    print_table,
    reset_peak_rss,
    run_in_fresh_process,
    save_figure,
    save_results,
    time_calls,
)
from sklearn.neighbors import KNeighborsClassifier

from sklearn_hardmax import HardmaxTransformerClassifier

PARTS = ("sizes", "lengths", "predict")

FULL = {
    "sizes": (1_000, 5_000, 10_000, 20_000, 40_000, 50_000),
    "test_sequences": 2_000,
    "lengths": (10, 30, 100, 300, 1_000, 3_000, 10_000),
    "length_sequences": 500,
    "length_test_sequences": 200,
    "prototypes": 50_000,
    "predict_sequences": 100_000,
}
QUICK = {
    "sizes": (500, 1_000, 2_000),
    "test_sequences": 500,
    "lengths": (10, 100, 1_000),
    "length_sequences": 200,
    "length_test_sequences": 50,
    "prototypes": 2_000,
    "predict_sequences": 5_000,
}

# Targets of the library: fit time at most about 5 times longer for 4 times
# more sequences (fit(40,000) / fit(10,000)), and peak fit memory for 50,000
# sequences of about 20 tokens well under 4 GiB.
TARGET_FIT_RATIO = 5.0
TARGET_PEAK_BYTES = 4 * 2**30

# Calls of predict timed inside each process after the first one.
WARM_CALLS = 3

# Seeds of the synthetic data. One template seed fixes the classes, and the
# train and test sets are different samples of them.
TEMPLATE_SEED = 0
TRAIN_SEED = 1
TEST_SEED = 2


def parse_arguments():
    parser = argparse.ArgumentParser(
        description=(
            "Measure fit and predict time and peak memory of "
            "HardmaxTransformerClassifier against data size."
        )
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small grids for a smoke test (each default below is then smaller)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="parts to run (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=3,
        help="new processes per measurement; tables show medians (default: 3)",
    )
    parser.add_argument(
        "--sizes",
        type=positive_int,
        nargs="+",
        help=f"training set sizes N (default: {' '.join(map(str, FULL['sizes']))})",
    )
    parser.add_argument(
        "--test-sequences",
        type=positive_int,
        help=f"test sequences predicted per size (default: {FULL['test_sequences']})",
    )
    parser.add_argument(
        "--lengths",
        type=positive_int,
        nargs="+",
        help=(
            "mean sequence lengths in tokens "
            f"(default: {' '.join(map(str, FULL['lengths']))})"
        ),
    )
    parser.add_argument(
        "--length-sequences",
        type=positive_int,
        help=(
            "training sequences per length "
            f"(default: {FULL['length_sequences']})"
        ),
    )
    parser.add_argument(
        "--length-test-sequences",
        type=positive_int,
        help=(
            "test sequences predicted per length "
            f"(default: {FULL['length_test_sequences']})"
        ),
    )
    parser.add_argument(
        "--prototypes",
        type=positive_int,
        help=(
            "training sequences of the model in the 'predict' part "
            f"(default: {FULL['prototypes']})"
        ),
    )
    parser.add_argument(
        "--predict-sequences",
        type=positive_int,
        help=(
            "sequences predicted in the 'predict' part "
            f"(default: {FULL['predict_sequences']})"
        ),
    )
    add_output_argument(parser)

    arguments = parser.parse_args()
    defaults = QUICK if arguments.quick else FULL
    for name, value in defaults.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    return arguments


def _predict_and_compare(model, X_train, y_train, X_test, y_test):
    """Time predict and the brute 1-NN predict, and measure the predict's memory.

    The first predict call is timed alone, because it builds the fused
    readout. The predict time is the median of ``WARM_CALLS`` later calls.
    """
    gc.collect()
    rss_before_predict = current_rss_bytes()
    can_reset = reset_peak_rss()
    started = time.perf_counter()
    predicted = model.predict(X_test)
    first_predict_seconds = time.perf_counter() - started
    peak_predict = peak_rss_bytes() if can_reset else None
    predict_timing, _ = time_calls(
        lambda: model.predict(X_test), WARM_CALLS, warmup=False
    )

    nearest = KNeighborsClassifier(n_neighbors=1, algorithm="brute")
    nearest.fit(model.transform(X_train), y_train)
    representation_test = model.transform(X_test)
    nearest_timing, nearest_predicted = time_calls(
        lambda: nearest.predict(representation_test), WARM_CALLS
    )
    return {
        "first_predict_seconds": first_predict_seconds,
        "predict_seconds": predict_timing.median,
        "nearest_neighbour_predict_seconds": nearest_timing.median,
        "rss_before_predict": rss_before_predict,
        "peak_predict": peak_predict,
        "accuracy": float(np.mean(predicted == y_test)),
        "agreement": float(np.mean(predicted == nearest_predicted)),
    }


def measure_fit(n_sequences, mean_length, n_test):
    """Fit and predict on synthetic data; runs in a fresh process.

    Returns times in seconds and memory in bytes.
    """
    X, y = make_smooth_curves(
        n_sequences,
        mean_length=mean_length,
        template_seed=TEMPLATE_SEED,
        sample_seed=TRAIN_SEED,
    )
    X_test, y_test = make_smooth_curves(
        n_test,
        mean_length=mean_length,
        template_seed=TEMPLATE_SEED,
        sample_seed=TEST_SEED,
    )
    gc.collect()
    rss_before_fit = current_rss_bytes()
    peak_was_reset = reset_peak_rss()
    started = time.perf_counter()
    model = HardmaxTransformerClassifier(**PROTOTYPE_MODEL).fit(X, y)
    fit_seconds = time.perf_counter() - started
    peak_fit = peak_rss_bytes()
    result = {
        "n_sequences": n_sequences,
        "mean_length": mean_length,
        "n_tokens": int(sum(sequence.shape[0] for sequence in X)),
        "n_test": n_test,
        "fit_seconds": fit_seconds,
        "rss_before_fit": rss_before_fit,
        "peak_fit": peak_fit,
        "peak_was_reset": peak_was_reset,
        "n_blocks": int(model.n_blocks_),
        "n_params": int(model.n_params_),
        "n_witnesses": len(model.witnesses_),
    }
    result.update(_predict_and_compare(model, X, y, X_test, y_test))
    return result


def fit_and_save(n_sequences, model_path, representation_path):
    """Fit on ``n_sequences`` synthetic sequences and save the model; fresh process."""
    X, y = make_smooth_curves(
        n_sequences, template_seed=TEMPLATE_SEED, sample_seed=TRAIN_SEED
    )
    started = time.perf_counter()
    model = HardmaxTransformerClassifier(**PROTOTYPE_MODEL).fit(X, y)
    fit_seconds = time.perf_counter() - started
    joblib.dump(model, model_path)
    representation = model.transform(X)
    np.savez(representation_path, representation=representation, labels=y)
    n_prototypes = int(np.unique(representation, axis=0).shape[0])
    return {"fit_seconds": fit_seconds, "n_prototypes": n_prototypes}


def load_and_predict(model_path, representation_path, n_sequences):
    """Load a saved model and predict new sequences; runs in a fresh process."""
    model = joblib.load(model_path)
    X_test, y_test = make_smooth_curves(
        n_sequences, template_seed=TEMPLATE_SEED, sample_seed=TEST_SEED
    )
    gc.collect()
    rss_before_predict = current_rss_bytes()
    peak_was_reset = reset_peak_rss()
    started = time.perf_counter()
    predicted = model.predict(X_test)
    predict_seconds = time.perf_counter() - started
    peak_predict = peak_rss_bytes()

    saved = np.load(representation_path)
    nearest = KNeighborsClassifier(n_neighbors=1, algorithm="brute")
    nearest.fit(saved["representation"], saved["labels"])
    representation_test = model.transform(X_test)
    gc.collect()
    rss_before_nearest = current_rss_bytes()
    reset_peak_rss()
    started = time.perf_counter()
    nearest_predicted = nearest.predict(representation_test)
    nearest_seconds = time.perf_counter() - started
    peak_nearest = peak_rss_bytes()
    return {
        "n_sequences": n_sequences,
        "n_tokens": int(sum(sequence.shape[0] for sequence in X_test)),
        "predict_seconds": predict_seconds,
        "rss_before_predict": rss_before_predict,
        "peak_predict": peak_predict,
        "peak_was_reset": peak_was_reset,
        "nearest_neighbour_predict_seconds": nearest_seconds,
        "rss_before_nearest_neighbour": rss_before_nearest,
        "peak_nearest_neighbour": peak_nearest,
        "accuracy": float(np.mean(predicted == y_test)),
        "agreement": float(np.mean(predicted == nearest_predicted)),
    }


def median_of(runs, key):
    values = [run[key] for run in runs if run[key] is not None]
    return statistics.median(values) if values else None


def run_repeated(repeats, function, *args):
    runs = []
    for _ in range(repeats):
        runs.append(run_in_fresh_process(function, *args))
    return runs


def scaling_rows(points, variable):
    """Return table rows of medians, with the local log-log slope of fit time."""
    rows = []
    previous = None
    for point in points:
        runs = point["runs"]
        fit = median_of(runs, "fit_seconds")
        slope = "n/a"
        if previous is not None:
            x_ratio = point[variable] / previous[0]
            slope = f"{math.log(fit / previous[1]) / math.log(x_ratio):.2f}"
        previous = (point[variable], fit)
        rows.append(
            [
                f"{point[variable]:,}",
                f"{runs[0]['n_tokens']:,}",
                format_seconds(fit),
                slope,
                format_seconds(median_of(runs, "predict_seconds")),
                format_seconds(median_of(runs, "first_predict_seconds")),
                format_seconds(median_of(runs, "nearest_neighbour_predict_seconds")),
                format_mib(median_of(runs, "rss_before_fit")),
                format_mib(median_of(runs, "peak_fit")),
                format_mib(median_of(runs, "peak_predict")),
                f"{median_of(runs, 'accuracy'):.4f}",
            ]
        )
    return rows


SCALING_HEADERS = [
    "tokens",
    "fit (s)",
    "fit slope",
    "predict (s)",
    "first predict (s)",
    "1-NN predict (s)",
    "RSS before fit (MiB)",
    "peak fit (MiB)",
    "peak predict (MiB)",
    "test accuracy",
]


def run_sizes(arguments):
    print(
        f"Part 'sizes': N training sequences of 15 to 25 tokens, 12 features, "
        f"5 classes; predict on {arguments.test_sequences:,} test sequences; "
        f"medians of {arguments.repeats} fresh processes"
    )
    points = []
    for n_sequences in arguments.sizes:
        runs = run_repeated(
            arguments.repeats, measure_fit, n_sequences, 20, arguments.test_sequences
        )
        points.append({"n_sequences": n_sequences, "runs": runs})
        fit = format_seconds(median_of(runs, "fit_seconds"))
        peak = format_mib(median_of(runs, "peak_fit"))
        print(f"  N = {n_sequences:,}: fit {fit} s, peak fit {peak} MiB", flush=True)
    print()
    print_table(
        "Time and memory against the number of training sequences",
        ["sequences"] + SCALING_HEADERS,
        scaling_rows(points, "n_sequences"),
    )
    report_size_targets(points)
    return points


def report_size_targets(points):
    fits = {}
    for point in points:
        fits[point["n_sequences"]] = median_of(point["runs"], "fit_seconds")
    for small, fit in fits.items():
        if 4 * small in fits:
            ratio = fits[4 * small] / fit
            line = f"fit({4 * small:,}) / fit({small:,}) = {ratio:.2f}"
            if small == 10_000:
                verdict = "met" if ratio <= TARGET_FIT_RATIO else "missed"
                line += f" (target at most about {TARGET_FIT_RATIO:g}: {verdict})"
            print(line)
    for point in points:
        if point["n_sequences"] == 50_000:
            peak = median_of(point["runs"], "peak_fit")
            share = peak / TARGET_PEAK_BYTES
            print(
                f"peak fit memory at N = 50,000: {format_mib(peak)} MiB = "
                f"{peak / 2**30:.2f} GiB, {share:.0%} of the 4 GiB target"
            )
    print()


def run_lengths(arguments):
    print(
        f"Part 'lengths': {arguments.length_sequences:,} training sequences, "
        f"lengths within +-25% of the mean; predict on "
        f"{arguments.length_test_sequences:,} test sequences; medians of "
        f"{arguments.repeats} fresh processes"
    )
    points = []
    for mean_length in arguments.lengths:
        runs = run_repeated(
            arguments.repeats,
            measure_fit,
            arguments.length_sequences,
            mean_length,
            arguments.length_test_sequences,
        )
        points.append({"mean_length": mean_length, "runs": runs})
        print(
            f"  length {mean_length:,}: fit "
            f"{format_seconds(median_of(runs, 'fit_seconds'))} s, peak fit "
            f"{format_mib(median_of(runs, 'peak_fit'))} MiB",
            flush=True,
        )
    print()
    print_table(
        f"Time and memory against the mean sequence length "
        f"(N = {arguments.length_sequences:,})",
        ["mean length"] + SCALING_HEADERS,
        scaling_rows(points, "mean_length"),
    )
    return points


def run_predict(arguments):
    print(
        f"Part 'predict': a model fitted on {arguments.prototypes:,} sequences "
        f"predicts {arguments.predict_sequences:,} sequences in a fresh process; "
        f"medians of {arguments.repeats} processes"
    )
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "model.joblib"
        representation_path = Path(folder) / "representation.npz"
        fitted = run_in_fresh_process(
            fit_and_save, arguments.prototypes, model_path, representation_path
        )
        model_bytes = model_path.stat().st_size
        runs = run_repeated(
            arguments.repeats,
            load_and_predict,
            model_path,
            representation_path,
            arguments.predict_sequences,
        )
    distances_bytes = 8 * arguments.predict_sequences * fitted["n_prototypes"]
    rows = [
        [
            "HardmaxTransformerClassifier.predict",
            format_seconds(median_of(runs, "predict_seconds")),
            format_mib(median_of(runs, "rss_before_predict")),
            format_mib(median_of(runs, "peak_predict")),
            format_mib(
                median_of(runs, "peak_predict") - median_of(runs, "rss_before_predict")
            ),
        ],
        [
            "KNeighborsClassifier.predict",
            format_seconds(median_of(runs, "nearest_neighbour_predict_seconds")),
            format_mib(median_of(runs, "rss_before_nearest_neighbour")),
            format_mib(median_of(runs, "peak_nearest_neighbour")),
            format_mib(
                median_of(runs, "peak_nearest_neighbour")
                - median_of(runs, "rss_before_nearest_neighbour")
            ),
        ],
    ]
    print()
    print_table(
        f"Predicting {arguments.predict_sequences:,} sequences "
        f"({runs[0]['n_tokens']:,} tokens) with {fitted['n_prototypes']:,} prototypes",
        ["call", "time (s)", "RSS before (MiB)", "peak (MiB)", "peak - before (MiB)"],
        rows,
    )
    print(
        f"fit of the {arguments.prototypes:,}-sequence model: "
        f"{format_seconds(fitted['fit_seconds'])} s; joblib file "
        f"{format_mib(model_bytes)} MiB; a float64 matrix of "
        f"{arguments.predict_sequences:,} x {fitted['n_prototypes']:,} distances "
        f"would take {format_mib(distances_bytes)} MiB"
    )
    print(
        f"test accuracy {median_of(runs, 'accuracy'):.4f}; predictions equal to "
        f"the 1-NN rule's: {median_of(runs, 'agreement'):.4f}. The hardmax time "
        "includes transform and building the fused readout on the first call; "
        "the 1-NN time excludes transform."
    )
    print()
    return {
        "fit": fitted,
        "model_bytes": model_bytes,
        "distances_bytes": distances_bytes,
        "runs": runs,
    }


def plot_scaling(pyplot, points, variable, label, output, name):
    x = [point[variable] for point in points]
    figure, (time_axes, memory_axes) = pyplot.subplots(1, 2, figsize=(11, 4))
    for key, curve_label in (
        ("fit_seconds", "fit"),
        ("predict_seconds", "predict"),
        ("nearest_neighbour_predict_seconds", "brute 1-NN predict"),
    ):
        values = [median_of(point["runs"], key) for point in points]
        time_axes.plot(x, values, "o-", label=curve_label)
    time_axes.set_xscale("log")
    time_axes.set_yscale("log")
    time_axes.set_xlabel(label)
    time_axes.set_ylabel("median time (s)")
    time_axes.legend()

    for key, curve_label in (
        ("peak_fit", "peak during fit"),
        ("peak_predict", "peak during predict"),
        ("rss_before_fit", "RSS before fit"),
    ):
        values = [median_of(point["runs"], key) for point in points]
        if all(value is not None for value in values):
            mebibytes = [value / MIB for value in values]
            memory_axes.plot(x, mebibytes, "o-", label=curve_label)
    memory_axes.set_xscale("log")
    memory_axes.set_yscale("log")
    memory_axes.set_xlabel(label)
    memory_axes.set_ylabel("resident set size (MiB)")
    memory_axes.legend()

    path = save_figure(figure, output, name)
    pyplot.close(figure)
    return path


def main():
    arguments = parse_arguments()
    environment = environment_report()
    print_environment(environment)
    if not reset_peak_rss():
        print(
            "Note: /proc/self/clear_refs is not writable, so each peak counts "
            "from the start of its process, data generation included.\n"
        )
    results = {"environment": environment, "arguments": vars(arguments)}
    if "sizes" in arguments.parts:
        results["sizes"] = run_sizes(arguments)
    if "lengths" in arguments.parts:
        results["lengths"] = run_lengths(arguments)
    if "predict" in arguments.parts:
        results["predict"] = run_predict(arguments)

    written = [save_results(arguments.output, "bench_scaling", results)]
    pyplot = import_pyplot()
    if pyplot is not None:
        if "sizes" in results:
            written.append(
                plot_scaling(
                    pyplot,
                    results["sizes"],
                    "n_sequences",
                    "training sequences",
                    arguments.output,
                    "scaling_sequences",
                )
            )
        if "lengths" in results:
            written.append(
                plot_scaling(
                    pyplot,
                    results["lengths"],
                    "mean_length",
                    "mean sequence length (tokens)",
                    arguments.output,
                    "scaling_length",
                )
            )
    print_closing(arguments.output, written)


if __name__ == "__main__":
    main()
