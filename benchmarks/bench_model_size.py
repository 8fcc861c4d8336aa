"""Benchmark the size on disk of fitted models against the number of sequences.

For every training set size N (default grid 1,000 to 50,000 sequences of
the synthetic data of ``_common.make_smooth_curves``: 15 to 25 tokens, 12
features, 5 classes), the script fits ``HardmaxTransformerClassifier`` and
reports

- the size of ``joblib.dump(model)``, uncompressed and with ``compress=3``;
- the size of the pooled training representation ``model.transform(X)``
  as a float64 array, which is what a 1-NN model on that representation
  stores, and the size of ``joblib.dump`` of such a fitted
  ``KNeighborsClassifier(n_neighbors=1, algorithm="brute")``;
- the size of the training data itself (float64 tokens);
- ``n_params_`` (nonzero weights, column "parameters") and ``n_blocks_``
  (column "blocks") of the network.

Sizes are in bytes read from the files that joblib wrote into a temporary
folder. Run from the repository root, with sklearn-hardmax installed
(``pip install .``)::

    python benchmarks/bench_model_size.py            # full grid, a few minutes
    python benchmarks/bench_model_size.py --quick    # small grid, seconds
    python benchmarks/bench_model_size.py --sizes 1000 2000 4000

A plot (with matplotlib) and a JSON file of the sizes go to ``--output``.
"""

import argparse
import tempfile
from pathlib import Path

import joblib
from _common import (
    PROTOTYPE_MODEL,
    MIB,
    add_output_argument,
    environment_report,
    import_pyplot,
    make_smooth_curves,
    positive_int,
    print_closing,
    print_environment,
    print_table,
    save_figure,
    save_results,
)
from sklearn.neighbors import KNeighborsClassifier

from sklearn_hardmax import HardmaxTransformerClassifier

FULL_SIZES = (1_000, 5_000, 10_000, 20_000, 40_000, 50_000)
QUICK_SIZES = (500, 1_000, 2_000)


def parse_arguments():
    parser = argparse.ArgumentParser(
        description="Measure the joblib file size of fitted models against N."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small grid {QUICK_SIZES} for a smoke test",
    )
    parser.add_argument(
        "--sizes",
        type=positive_int,
        nargs="+",
        help=f"training set sizes N (default: {' '.join(map(str, FULL_SIZES))})",
    )
    add_output_argument(parser)
    arguments = parser.parse_args()
    if arguments.sizes is None:
        arguments.sizes = QUICK_SIZES if arguments.quick else FULL_SIZES
    return arguments


def mebibytes(n_bytes):
    """Format a size in bytes as MiB with two decimals."""
    return f"{n_bytes / MIB:.2f}"


def dumped_size(estimator, path, **dump_options):
    """Dump ``estimator`` with joblib to ``path`` and return the file size in bytes."""
    joblib.dump(estimator, path, **dump_options)
    return path.stat().st_size


def measure_size(n_sequences, folder):
    X, y = make_smooth_curves(n_sequences, sample_seed=1)
    model = HardmaxTransformerClassifier(**PROTOTYPE_MODEL).fit(X, y)
    representation = model.transform(X)
    nearest = KNeighborsClassifier(n_neighbors=1, algorithm="brute")
    nearest.fit(representation, y)
    return {
        "n_sequences": n_sequences,
        "n_tokens": int(sum(sequence.shape[0] for sequence in X)),
        "data_bytes": int(sum(sequence.nbytes for sequence in X)),
        "model_bytes": dumped_size(model, folder / "model.joblib"),
        "compressed_bytes": dumped_size(
            model, folder / "model_compressed.joblib", compress=3
        ),
        "representation_bytes": int(representation.nbytes),
        "n_pooled": int(representation.shape[1]),
        "nearest_neighbour_bytes": dumped_size(nearest, folder / "nearest.joblib"),
        "n_params": int(model.n_params_),
        "n_blocks": int(model.n_blocks_),
    }


def plot_sizes(pyplot, points, output):
    x = [point["n_sequences"] for point in points]
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for key, label in (
        ("model_bytes", "joblib file"),
        ("compressed_bytes", "joblib file, compress=3"),
        ("nearest_neighbour_bytes", "1-NN joblib file"),
        ("representation_bytes", "pooled representation"),
        ("data_bytes", "training tokens"),
    ):
        axes.plot(x, [point[key] / MIB for point in points], "o-", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("training sequences")
    axes.set_ylabel("size (MiB)")
    axes.legend()
    path = save_figure(figure, output, "model_size")
    pyplot.close(figure)
    return path


def main():
    arguments = parse_arguments()
    environment = environment_report()
    print_environment(environment)
    points = []
    with tempfile.TemporaryDirectory() as folder:
        for n_sequences in arguments.sizes:
            points.append(measure_size(n_sequences, Path(folder)))
            print(f"  N = {n_sequences:,} done", flush=True)
    print()

    rows = []
    for point in points:
        rows.append(
            [
                f"{point['n_sequences']:,}",
                mebibytes(point["data_bytes"]),
                mebibytes(point["model_bytes"]),
                mebibytes(point["compressed_bytes"]),
                mebibytes(point["representation_bytes"]),
                mebibytes(point["nearest_neighbour_bytes"]),
                f"{point['model_bytes'] / point['representation_bytes']:.2f}",
                f"{point['model_bytes'] / point['n_sequences']:,.0f}",
                f"{point['n_params']:,}",
                f"{point['n_blocks']:,}",
            ]
        )
    print_table(
        "Size of the fitted model on disk (MiB) against the number of sequences",
        [
            "sequences",
            "training data",
            "joblib",
            "joblib compress=3",
            "representation",
            "1-NN joblib",
            "joblib / representation",
            "joblib bytes per sequence",
            "parameters",
            "blocks",
        ],
        rows,
    )
    print(
        f"The pooled representation has {points[-1]['n_pooled']} float64 "
        "coordinates per training sequence."
    )
    print()

    written = [
        save_results(
            arguments.output,
            "bench_model_size",
            {"environment": environment, "sizes": points},
        )
    ]
    pyplot = import_pyplot()
    if pyplot is not None:
        written.append(plot_sizes(pyplot, points, arguments.output))
    print_closing(arguments.output, written)


if __name__ == "__main__":
    main()
