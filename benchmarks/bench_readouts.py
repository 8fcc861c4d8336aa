"""Compare every embedding and readout on a train/test pair of .ts files.

For each embedding ("convolution", "moments") and readout ("auto",
"linear", "prototype"), the script fits HardmaxTransformerClassifier and
prints training and test accuracy, the readout that fit built, blocks,
parameters and the median fit and predict times of ``--repeats`` runs. Next
to each row it prints the test accuracy of ``KNeighborsClassifier(
n_neighbors=1, algorithm="brute")`` on the same pooled representation
(``transform``), the nearest-neighbour baseline. Without ``--train`` and
``--test`` it uses the bundled Japanese Vowels split.

Run from the repository root, with sklearn-hardmax installed::

    python benchmarks/bench_readouts.py
    python benchmarks/bench_readouts.py --train A_TRAIN.ts --test A_TEST.ts
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels, load_ts_file

EMBEDDINGS = ("convolution", "moments")
READOUTS = ("auto", "linear", "prototype")


def median_seconds(function, repeats):
    """Return the result of the last call and the median time of ``repeats``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", help="training .ts file")
    parser.add_argument("--test", help="test .ts file")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (default: 3)")
    arguments = parser.parse_args()
    if (arguments.train is None) != (arguments.test is None):
        parser.error("give both --train and --test, or neither")
    if arguments.train:
        X_train, y_train = load_ts_file(arguments.train)
        X_test, y_test = load_ts_file(arguments.test)
        name = arguments.train
    else:
        X_train, y_train = load_japanese_vowels("train")
        X_test, y_test = load_japanese_vowels("test")
        name = "Japanese Vowels (bundled, official split)"
    print(f"data: {name}, {len(X_train)} training and {len(X_test)} test sequences")
    header = (
        f"{'embedding':<12}{'readout':<10}{'built':<10}{'train':>7}{'test':>8}"
        f"{'1-NN':>8}{'blocks':>8}{'params':>9}{'fit s':>9}{'predict s':>11}"
    )
    print(header)
    for embedding in EMBEDDINGS:
        for readout in READOUTS:
            model = HardmaxTransformerClassifier(
                embedding=embedding, readout=readout, random_state=0
            )
            try:
                _, fit_seconds = median_seconds(
                    lambda: model.fit(X_train, y_train), arguments.repeats
                )
            except ValueError as error:
                print(f"{embedding:<12}{readout:<10}not built: {error}")
                continue
            predictions, predict_seconds = median_seconds(
                lambda: model.predict(X_test), arguments.repeats
            )
            nearest = KNeighborsClassifier(n_neighbors=1, algorithm="brute")
            nearest.fit(model.transform(X_train), y_train)
            nearest_accuracy = nearest.score(model.transform(X_test), y_test)
            print(
                f"{embedding:<12}{readout:<10}{model.readout_:<10}"
                f"{model.score(X_train, y_train):>7.4f}"
                f"{np.mean(predictions == y_test):>8.4f}{nearest_accuracy:>8.4f}"
                f"{model.n_blocks_:>8}{model.n_params_:>9}"
                f"{fit_seconds:>9.3f}{predict_seconds:>11.3f}"
            )


if __name__ == "__main__":
    main()
