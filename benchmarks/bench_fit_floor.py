"""Time the fit of the moments embedding against a numpy floor of its steps.

``HardmaxTransformerClassifier(embedding="moments", readout="prototype")``
builds and checks a whole network. This script times that fit next to the
data steps of the same construction done directly in numpy, with no
network at all:

1. stack the sequences, check that every value is finite and encode the
   labels;
2. standardize the tokens with the mean and standard deviation of all of
   them;
3. compute the cosine positional features (2 moments) and their mean over
   every sequence, the pooled representation;
4. group identical sequences by their bytes: with positional features,
   sequences share a token distribution exactly when they are identical;
5. search a k-d tree for pairs of representations closer than float64
   resolves;
6. score every training representation against every other one, take the
   best score of each class and check that the own class wins.

The floor skips what the library adds on top of these steps. It builds no
layers and counts no parameters. It has no fused pooling pass, so it does
not check that pass against the layer-by-layer one. It adds no separation
witnesses and no readout blocks, predicts nothing end to end, sets no
probability temperature and validates no parameters. Both are timed on one
thread. Each of ``--rounds`` rounds makes one untimed fit and
``--repeats`` timed fits in a row, then the same for the floor, and the
medians are over all rounds, so that both see the same machine load.

Run from the repository root, with sklearn-hardmax installed::

    python benchmarks/bench_fit_floor.py
    python benchmarks/bench_fit_floor.py --rounds 10 --repeats 31
"""

import argparse
import statistics
import time

import numpy as np
from _common import (
    PROTOTYPE_MODEL,
    add_output_argument,
    positive_int,
    print_closing,
    save_results,
)
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

N_MOMENTS = 2


def floor_fit(X, y):
    """Run the data steps of an exact nearest-prototype fit, without a network.

    Returns whether every training representation's best class is its own
    and the number of colliding pairs found.
    """
    # 1. Stack, check, encode labels.
    lengths = np.array([len(sequence) for sequence in X], dtype=np.intp)
    tokens = np.concatenate(X).astype(np.float64, copy=False)
    if not np.isfinite(tokens).all():
        raise ValueError("X contains NaN or infinity.")
    offsets = np.zeros(lengths.size + 1, dtype=np.intp)
    np.cumsum(lengths, out=offsets[1:])
    classes, labels = np.unique(y, return_inverse=True)

    # 2. Standardize, feature by feature along contiguous rows.
    by_feature = np.ascontiguousarray(tokens.T)
    mean = by_feature.mean(axis=1)
    centred = by_feature - mean[:, None]
    scale = np.sqrt(np.einsum("ij,ij->i", centred, centred) / tokens.shape[0])
    scale[scale == 0] = 1.0
    standardized = centred / scale[:, None]

    # 3. Cosine features and their mean over every sequence.
    sequence_of_token = np.repeat(np.arange(lengths.size), lengths)
    position = np.arange(tokens.shape[0]) - offsets[sequence_of_token]
    tau = position / np.maximum(lengths - 1, 1)[sequence_of_token]
    features = np.empty((N_MOMENTS + 1,) + standardized.shape)
    features[0] = standardized
    for moment in range(1, N_MOMENTS + 1):
        np.multiply(standardized, np.cos(moment * np.pi * tau), out=features[moment])
    features = features.reshape(-1, tokens.shape[0])
    representations = (np.add.reduceat(features, offsets[:-1], axis=1) / lengths).T

    # 4. Identical sequences, the groups of equal token distributions.
    values = (tokens + 0.0).tobytes()
    bounds = (offsets * tokens.shape[1] * 8).tolist()
    groups = {}
    for position in range(lengths.size):
        groups.setdefault(values[bounds[position] : bounds[position + 1]], position)

    # 5. Pairs of representations closer than float64 resolves.
    squared_norms = np.einsum("ij,ij->i", representations, representations)
    floor = 16.0 * (representations.shape[1] + 3) * np.finfo(float).eps
    radius = np.sqrt(floor * 2.0 * squared_norms)
    tree = cKDTree(representations)
    n_found = tree.query_ball_point(representations, r=radius, return_length=True)

    # 6. Best prototype score of every class, for every training sequence.
    scores = 2.0 * representations @ representations.T - squared_norms
    by_class = np.argsort(labels, kind="stable")
    class_starts = np.searchsorted(labels[by_class], np.arange(classes.size))
    class_scores = np.maximum.reduceat(scores[:, by_class], class_starts, axis=1)
    exact = bool(np.all(class_scores.argmax(axis=1) == labels))
    return exact, int(np.sum(n_found - 1)) // 2


def median_milliseconds(times):
    """Return the median of ``times``, given in seconds, in milliseconds."""
    return 1e3 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=21,
        help="timed calls of each in a row, per round (default 21)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=5,
        help="rounds of fits then floors (default 5)",
    )
    add_output_argument(parser)
    arguments = parser.parse_args()

    X, y = load_japanese_vowels("train")
    model = HardmaxTransformerClassifier(**PROTOTYPE_MODEL)
    fit_times, floor_times = [], []
    # Calls of one kind run in a row, as a user's repeated fits would.
    # Alternating single calls slowed the fit: its medians were 9.386 to
    # 10.550 ms that way and 7.828 to 8.162 ms in rounds (three runs each,
    # commit 04eb355), probably because each call evicts the other's data
    # from the caches. Rounds of both spread a change in machine load over
    # the two.
    with threadpool_limits(1):
        exact, n_pairs = floor_fit(X, y)
        for _ in range(arguments.rounds):
            model.fit(X, y)
            for _ in range(arguments.repeats):
                started = time.perf_counter()
                model.fit(X, y)
                fit_times.append(time.perf_counter() - started)
            floor_fit(X, y)
            for _ in range(arguments.repeats):
                started = time.perf_counter()
                floor_fit(X, y)
                floor_times.append(time.perf_counter() - started)

    fit_ms = median_milliseconds(fit_times)
    floor_ms = median_milliseconds(floor_times)
    n_calls = arguments.rounds * arguments.repeats
    print(
        f"Japanese Vowels training split: {len(X)} sequences, one thread, "
        f"medians of {n_calls} calls each"
    )
    print(
        f"  moments + prototype fit:  {fit_ms:.3f} ms "
        f"(training accuracy {model.score(X, y):.4f}, {model.n_blocks_} blocks)"
    )
    print(
        f"  numpy floor of its steps: {floor_ms:.3f} ms (own class best for "
        f"every sequence: {exact}, colliding pairs: {n_pairs})"
    )
    print(f"  fit / floor: {fit_ms / floor_ms:.2f}x")
    written = save_results(
        arguments.output,
        "fit_floor",
        {
            "repeats": arguments.repeats,
            "rounds": arguments.rounds,
            "fit_ms": fit_ms,
            "floor_ms": floor_ms,
            "fit_times": fit_times,
            "floor_times": floor_times,
            "floor_exact": exact,
        },
    )
    print_closing(arguments.output, [written])


if __name__ == "__main__":
    main()
