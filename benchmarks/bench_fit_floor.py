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
4. find the distinct raw tokens (token and relative position) by a 64-bit
   row hash and key every sequence by its sorted token ids and counts, so
   that sequences with the same token distribution are grouped exactly;
5. search a k-d tree for pairs of representations closer than float64
   resolves;
6. score every training representation against every other one, take the
   best score of each class and check that the own class wins.

The floor skips what the library adds on top of these steps. It builds no
layers and counts no parameters. It has no fused pooling pass, so it does
not check that pass against the layer-by-layer one. It adds no separation
witnesses and no readout blocks, predicts nothing end to end, sets no
probability temperature and validates no parameters. Both are timed on one
thread, as the median of ``--repeats`` calls after one warm-up call,
alternately, so that both see the same machine load.

Run from the repository root, with sklearn-hardmax installed::

    python benchmarks/bench_fit_floor.py
    python benchmarks/bench_fit_floor.py --repeats 101
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

# Odd 64-bit multipliers of the row hash, one per raw coordinate.
HASH_MULTIPLIERS = np.random.default_rng(0).integers(0, 2**63, size=64, dtype=np.uint64)
HASH_MULTIPLIERS = HASH_MULTIPLIERS * np.uint64(2) + np.uint64(1)


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

    # 4. Distinct raw tokens, and a key per sequence of its token distribution.
    raw = np.column_stack([tokens, tau]) + 0.0
    bits = raw.view(np.uint64)
    hashes = (bits ^ (bits >> np.uint64(29))) @ HASH_MULTIPLIERS[: raw.shape[1]]
    _, token_ids = np.unique(hashes, return_inverse=True)
    order = np.lexsort((token_ids, sequence_of_token))
    sorted_ids = token_ids[order]
    run_start = np.ones(sorted_ids.size, dtype=bool)
    run_start[1:] = (sorted_ids[1:] != sorted_ids[:-1]) | (
        sequence_of_token[order][1:] != sequence_of_token[order][:-1]
    )
    run_first = np.flatnonzero(run_start)
    run_counts = np.diff(np.append(run_first, sorted_ids.size))
    run_sequence = sequence_of_token[order][run_first]
    first_run = np.searchsorted(run_sequence, np.arange(lengths.size + 1))
    # Counts divided by their greatest common divisor: proportional
    # multiplicities are the same distribution.
    reduced = run_counts // np.gcd.reduceat(run_counts, first_run[:-1])[run_sequence]
    runs = np.column_stack([sorted_ids[run_first], reduced]).tobytes()
    bounds = (first_run * 16).tolist()
    groups = {}
    for position in range(lengths.size):
        groups.setdefault(runs[bounds[position] : bounds[position + 1]], position)

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
        default=31,
        help="timed calls of each, after one warm-up call (default 31)",
    )
    add_output_argument(parser)
    arguments = parser.parse_args()

    X, y = load_japanese_vowels("train")
    model = HardmaxTransformerClassifier(**PROTOTYPE_MODEL)
    fit_times, floor_times = [], []
    with threadpool_limits(1):
        model.fit(X, y)
        exact, n_pairs = floor_fit(X, y)
        for _ in range(arguments.repeats):
            started = time.perf_counter()
            model.fit(X, y)
            fit_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            floor_fit(X, y)
            floor_times.append(time.perf_counter() - started)

    fit_ms = median_milliseconds(fit_times)
    floor_ms = median_milliseconds(floor_times)
    print(
        f"Japanese Vowels training split: {len(X)} sequences, one thread, "
        f"medians of {arguments.repeats} calls"
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
