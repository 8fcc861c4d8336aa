"""Constructive fit of the hardmax transformer.

The construction is a short sequence of steps, each establishing one
invariant:

1. ``fit_standardization``: the embedding maps every token to standardized
   features, with positional cosine features when asked for.
2. ``group_indistinguishable``: sequences with the same empirical
   distribution of embedded tokens are grouped. No hardmax transformer can
   tell them apart, because every attention update is a mean over index sets,
   so each group is trained on its majority label. With positional features
   those are the identical sequences, which ``group_identical_sequences``
   finds without indexing every token.
3. ``build_front``: after the pooling block, every token of a sequence is
   identical and equal to its pooled representation ``p``.
4. ``separate``: feed-forward bumps before pooling move the representations
   of differently labelled sequences apart until the readout resolves every
   pair in float64.
5. ``build_readout_blocks``: the readout blocks compute, for every class, the
   largest ``l_b(p) = 2 <pi_b, p> - |pi_b|^2`` over its prototypes, so the
   predicted class is that of the nearest prototype.
6. ``verify_exactness``: the stored network is checked on the training data.

The construction follows Alcalde, Fantuzzi and Zuazua, "Exact Sequence
Classification with Hardmax Transformers" (arXiv:2502.02270), who prove that
O(N) blocks classify N sequences exactly, with a readout that generalizes like
a nearest-neighbour rule.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import coo_array, csr_array
from scipy.sparse import hstack as sparse_hstack
from scipy.sparse import vstack as sparse_vstack
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.special import log_softmax

from . import _model
from ._convolution import (
    N_KERNELS,
    ConvolutionEmbedding,
    choose_channels,
    choose_dilations,
    fit_ramps,
)
from ._model import (
    AttentionHead,
    Block,
    Embedding,
    FeedForward,
    HardmaxAttention,
    HardmaxTransformer,
    Readout,
    TokenLayout,
    _fused_maxima,
    batch_slices,
    chunk_rows,
    fused_affine,
    sequence_batches,
)

EPSILON = np.finfo(np.float64).eps

# Target number of proportion features of the convolution embedding. On the
# bundled Japanese Vowels data, about 2000 features (252 convolution outputs
# times 8 biases) reached 0.99 test accuracy with a ridge readout. Twice as
# many gained nothing.
CONVOLUTION_FEATURES = 2016

# Ridge penalties tried by the linear readout.
RIDGE_ALPHAS = np.logspace(-3, 3, 7)

# Offsets that share one coordinate collide by chance, so separation offsets
# are drawn in a few dimensions.
N_SEPARATION = 4

# Each separation offset is drawn this many times larger than the float64
# floor of the pair it splits, so the pair ends well outside that floor.
SEPARATION_MARGIN = 4.0

# Each round adds witnesses for every remaining collision. A collision
# survives a round only when random offsets cancel by chance, so needing more
# rounds than this points to a bug.
MAX_SEPARATION_ROUNDS = 16

# At most this many training sequences are predicted by fit to check the
# readout end to end and to set the probability temperature.
N_VERIFIED_SEQUENCES = 2000

# find_collisions indexes the pooled representations projected onto this many
# directions when they have more coordinates.
COLLISION_DIRECTIONS = 16

# Fit runs this many training sequences, of at most N_LITERAL_TOKENS tokens in
# all, through every layer at full width and checks that the fused pooling pass, which predict uses, gives bitwise the
# same pooled tokens. The full-width pass is slow, and the tests compare the
# two passes on every sequence of many data sets.
N_LITERAL_SEQUENCES = 16
N_LITERAL_TOKENS = 4096

# Power-of-two weights keep every product exact, so a bump along
# ``z_a + m z_b`` is computed with one rounding whatever the summation order.
# Large weights isolate tokens on integer grids, where small ones tie.
PAIR_WEIGHTS = tuple(sign * 2.0**power for power in range(7) for sign in (1, -1))


@dataclass
class Witness:
    """A token whose frequency differs between colliding sequences.

    The witness's bump computes the distance ``s = sum_k |g_k . z - c_k|`` of
    a token ``z`` from the witness token ``w`` over its terms, on the raw
    coordinates, and adds ``offset * relu(width - s) / width`` to the
    separation coordinates. That is ``offset`` on ``w``, where ``s = 0``, up
    to the rounding of ``(offset / width) * width``, the same for every token
    equal to ``w``. It is exactly 0 on every other training token, where
    ``s >= width``.

    Attributes
    ----------
    token : ndarray of shape (n_raw,)
        The raw coordinates of ``w``: the input token, then its relative
        position when the model has positional features.
    terms : list of tuple
        ``(coordinates, weights, center)`` per term: the raw coordinates that
        ``g_k`` reads (one or two), its nonzero entries and ``c_k = g_k . w``.
    width : float
        Width ``delta`` of the bump. Every other training token is at
        distance ``s >= delta`` from ``w``.
    offset : ndarray of shape (N_SEPARATION,)
        The separation offset ``c_w``.
    """

    token: np.ndarray
    terms: list
    width: float
    offset: np.ndarray = field(repr=False)


@dataclass
class Construction:
    """Result of ``construct_transformer``."""

    transformer: HardmaxTransformer
    n_params: int
    readout: str
    prototype_rows: np.ndarray
    training_labels: np.ndarray
    conflicting_groups: list
    witnesses: list
    n_rounds: int
    temperature: float


# Values per chunk of fit_standardization: 4 MiB of float64, so the temporary
# arrays are a few MiB however many tokens there are.
STANDARDIZATION_VALUES = 2**19


def fit_standardization(tokens):
    """Return the per-feature mean and scale of all training tokens.

    Constant features get scale 1. Values are divided by their largest
    magnitude first, so squares of large values do not overflow. The tokens
    are read in chunks of about ``STANDARDIZATION_VALUES`` values, one pass
    each for the largest magnitude, the mean, the variance and the overflow
    check. Each chunk is transposed first, so that every reduction runs
    along contiguous memory. On the 4274 x 12 training tokens of Japanese
    Vowels, ``np.abs(tokens).max(axis=0)`` took 135 us, and the transposed
    copy with its maximum along rows 42 us (numpy 2.4, one thread).
    """
    n_tokens, n_features = tokens.shape
    chunks = batch_slices(n_tokens, max(1, STANDARDIZATION_VALUES // max(n_features, 1)))

    # A single chunk is transposed once for all four passes.
    whole = np.ascontiguousarray(tokens.T) if len(chunks) == 1 else None

    def by_feature(rows):
        return whole if whole is not None else np.ascontiguousarray(tokens[rows].T)

    peak = np.zeros(n_features)
    for rows in chunks:
        np.maximum(peak, np.abs(by_feature(rows)).max(axis=1), out=peak)
    peak[peak == 0] = 1.0
    total = np.zeros(n_features)
    for rows in chunks:
        total += (by_feature(rows) / peak[:, None]).sum(axis=1)
    scaled_mean = total / n_tokens
    squares = np.zeros(n_features)
    for rows in chunks:
        deviation = by_feature(rows) / peak[:, None] - scaled_mean[:, None]
        squares += np.einsum("ij,ij->i", deviation, deviation)
    mean = scaled_mean * peak
    scale = np.sqrt(squares / n_tokens) * peak
    scale[scale == 0] = 1.0
    standardized_peak = np.zeros(n_features)
    with np.errstate(over="ignore", invalid="ignore"):
        for rows in chunks:
            standardized = (by_feature(rows) - mean[:, None]) / scale[:, None]
            largest = np.abs(standardized).max(axis=1)
            # np.maximum keeps NaN, so an overflow is not lost.
            np.maximum(standardized_peak, largest, out=standardized_peak)
    overflow = np.flatnonzero(~np.isfinite(standardized_peak) | ~np.isfinite(scale))
    if overflow.size:
        feature = overflow[0]
        raise ValueError(
            f"Feature {feature} overflows float64 when centred (largest magnitude "
            f"{peak[feature]:.3g}). Divide that feature by a constant, for "
            "example 1e10, before fitting."
        )
    return mean, scale


def _row_keys(rows):
    """View each row of a 2-D float array as one opaque value for hashing."""
    rows = np.ascontiguousarray(rows + 0.0)  # + 0.0 turns -0.0 into 0.0
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


# Odd multiplier of the row hash of distinct_rows (the 64-bit finalizer
# constant of splitmix64).
_HASH_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)

# Values per block of _row_hashes: 512 KiB of temporary arrays.
HASH_VALUES = 2**16


@functools.lru_cache(maxsize=8)
def _column_multipliers(n_columns):
    """Return fixed odd 64-bit multipliers, one per column, read-only."""
    rng = np.random.default_rng(0)
    multipliers = rng.integers(0, 2**63, size=n_columns, dtype=np.uint64)
    multipliers = multipliers * np.uint64(2) + np.uint64(1)
    multipliers.flags.writeable = False
    return multipliers


def _row_hashes(rows):
    """Return a 64-bit hash of the float64 bytes of every row of a 2-D array.

    Each value's bits are mixed, multiplied by an odd constant of its column
    and summed modulo 2**64, so rows that differ in one value always get
    different hashes. Blocks of rows keep the temporary arrays small,
    whether there are many short rows or a few wide ones. -0.0 and 0.0 get
    the same hash.
    """
    n_rows, n_columns = rows.shape
    hashes = np.empty(n_rows, dtype=np.uint64)
    multipliers = _column_multipliers(n_columns)
    for block in batch_slices(n_rows, max(1, HASH_VALUES // max(n_columns, 1))):
        # + 0.0 turns -0.0 into 0.0, in a new contiguous array.
        keys = (rows[block] + 0.0).view(np.uint64)
        keys ^= keys >> np.uint64(29)
        keys *= multipliers
        block_hashes = np.add.reduce(keys, axis=1, dtype=np.uint64)
        block_hashes ^= block_hashes >> np.uint64(31)
        block_hashes *= _HASH_MULTIPLIER
        block_hashes ^= block_hashes >> np.uint64(29)
        hashes[block] = block_hashes
    return hashes


def distinct_rows(rows):
    """Find the distinct rows of a 2-D float64 array, compared with ``==``.

    Returns the index of the first occurrence of every distinct row, in
    increasing order, and for every row the number of its distinct row in
    that order. So -0.0 equals 0.0. Rows are grouped by a 64-bit hash of their
    bytes, sorted as integers. For 800,000 rows of 12 values this took 0.198 s
    against 0.428 s for ``np.unique`` on the rows as opaque values, on the
    machine of doc/benchmarks.rst. Rows with equal hashes are then compared
    in full. If two different rows share a hash, the rows are grouped with
    ``np.unique`` instead.
    """
    rows = np.asarray(rows, dtype=np.float64)
    hashes = _row_hashes(rows)
    order = np.argsort(hashes)
    sorted_hashes = hashes[order]
    new_hash = np.ones(order.size, dtype=bool)
    new_hash[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
    # Each row whose hash equals that of the row before it in the sorted
    # order must equal that row.
    repeats = np.flatnonzero(~new_hash)
    if np.array_equal(rows[order[repeats]], rows[order[repeats - 1]]):
        group_of_sorted = np.cumsum(new_hash) - 1
        # The sort need not be stable, so the first occurrence of a row is
        # the smallest index among its equal rows.
        group_first = np.minimum.reduceat(order, np.flatnonzero(new_hash))
        group_of_row = np.empty(order.size, dtype=np.intp)
        group_of_row[order] = group_of_sorted
    else:
        _, group_first, group_of_row = np.unique(
            _row_keys(rows), return_index=True, return_inverse=True
        )
        group_of_row = group_of_row.ravel()
    # Number the groups by their first occurrence.
    by_first = np.argsort(group_first)
    number = np.empty(by_first.size, dtype=np.intp)
    number[by_first] = np.arange(by_first.size)
    return group_first[by_first], number[group_of_row]


@dataclass
class TokenIndex:
    """Distinct training tokens and the distribution of each sequence.

    Tokens are compared on their raw coordinates: the input token, with its
    relative position when the model has positional features. Two tokens with
    equal raw coordinates get equal values in every layer of the network.

    Attributes
    ----------
    distinct : ndarray of shape (n_distinct, n_raw)
        The distinct raw token values.
    token_ids : ndarray of shape (n_tokens,)
        Row of ``distinct`` of every training token.
    offsets : ndarray of shape (n_sequences + 1,)
        Start of each sequence in ``token_ids``.
    """

    distinct: np.ndarray
    token_ids: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_features(cls, features, offsets):
        """Index the rows of ``features`` (n_tokens, n_columns) exactly.

        Distinct rows are numbered in the order of their first occurrence.
        """
        first, token_ids = distinct_rows(features)
        return cls(features[first] + 0.0, token_ids, offsets)


    def counts(self, sequence):
        """Return the distinct token ids of a sequence and their counts."""
        ids = self.token_ids[self.offsets[sequence] : self.offsets[sequence + 1]]
        return np.unique(ids, return_counts=True)

    def count_of(self, sequence, token_id):
        """Return how often distinct token ``token_id`` occurs in a sequence."""
        ids = self.token_ids[self.offsets[sequence] : self.offsets[sequence + 1]]
        return int(np.count_nonzero(ids == token_id))


def group_indistinguishable(index):
    """Return a group id per sequence: equal ids mean equal token distributions.

    Two sequences have the same empirical distribution when they contain the
    same distinct tokens with proportional multiplicities. The key of a
    sequence is its sorted token ids with the counts divided by their greatest
    common divisor, compared exactly.
    """
    offsets = index.offsets
    n_sequences = offsets.size - 1
    sequence = np.repeat(np.arange(n_sequences), np.diff(offsets))
    order = np.lexsort((index.token_ids, sequence))
    sorted_ids = index.token_ids[order]
    sorted_sequence = sequence[order]

    run_start = np.ones(sorted_ids.size, dtype=bool)
    run_start[1:] = (sorted_ids[1:] != sorted_ids[:-1]) | (
        sorted_sequence[1:] != sorted_sequence[:-1]
    )
    run_first = np.flatnonzero(run_start)
    run_counts = np.diff(np.append(run_first, sorted_ids.size))
    run_sequence = sorted_sequence[run_first]
    first_run = np.searchsorted(run_sequence, np.arange(n_sequences))
    divisor = np.gcd.reduceat(run_counts, first_run)
    reduced = run_counts // divisor[run_sequence]
    run_ids = sorted_ids[run_first]

    # The key of a sequence is the bytes of its (token id, reduced count)
    # pairs, 16 bytes a run.
    run_bytes = np.column_stack([run_ids, reduced]).astype(np.int64).tobytes()
    return _group_byte_slices(run_bytes, np.append(first_run, run_first.size) * 16)


def _group_byte_slices(data, bounds):
    """Number the slices ``data[bounds[i]:bounds[i + 1]]`` by first occurrence.

    Equal slices get equal ids. Slicing one bytes object is far cheaper than
    converting an array slice to bytes for every sequence.
    """
    bounds = np.asarray(bounds).tolist()
    groups = {}
    group_ids = np.empty(len(bounds) - 1, dtype=np.intp)
    for position in range(group_ids.size):
        key = data[bounds[position] : bounds[position + 1]]
        group_ids[position] = groups.setdefault(key, len(groups))
    return group_ids


def group_identical_sequences(tokens, offsets):
    """Return a group id per sequence: equal ids mean identical sequences.

    Two sequences are identical when they have the same length and equal
    tokens at every position, compared with ``==``, so -0.0 equals 0.0. Ids
    are numbered by first occurrence, as those of ``group_indistinguishable``.

    With positional features this is the grouping by token distribution.
    The raw coordinates of a token include its relative position, which
    differs between the positions of a sequence, so every raw token occurs
    once in its sequence. Two sequences with the same distribution then have
    the same number of tokens, the same relative positions and, position by
    position, the same tokens.
    """
    if np.any((tokens == 0.0) & np.signbit(tokens)):
        tokens = tokens + 0.0  # turns -0.0 into 0.0
    values = np.ascontiguousarray(tokens, dtype=np.float64).tobytes()
    return _group_byte_slices(values, offsets * tokens.shape[1] * 8)


def majority_labels(group_ids, labels, n_classes):
    """Give every group its majority label, with ties to the lowest class index.

    Returns the new labels and the groups whose labels disagreed, each as an
    array of sequence indices.
    """
    n_groups = group_ids.max() + 1
    votes = np.zeros((n_groups, n_classes), dtype=np.int64)
    np.add.at(votes, (group_ids, labels), 1)
    winners = votes.argmax(axis=1)
    conflicting = np.flatnonzero((votes > 0).sum(axis=1) > 1)
    members = [np.flatnonzero(group_ids == group) for group in conflicting]
    return winners[group_ids], members


def resolution_floor(squared_norms, n_pooled):
    """Return the smallest squared distance the readout resolves, per pair.

    ``squared_norms`` contains ``|p|^2 + |q|^2`` of the two representations. The
    readout computes ``l_b(p) = 2 <pi_b, p> - |pi_b|^2`` for prototypes of
    ``n_pooled`` coordinates. The rounding error of one such value is at most
    about ``2 (n_pooled + 3) eps (|p|^2 + |pi_b|^2)``, so a sequence's own
    prototype outscores one at squared distance ``d2`` whenever ``d2`` exceeds
    twice the sum of both errors. The factor 16 doubles that bound again.
    """
    return 16.0 * (n_pooled + 3) * EPSILON * squared_norms


@functools.lru_cache(maxsize=8)
def _collision_directions(n_pooled):
    """Return ``COLLISION_DIRECTIONS`` fixed orthonormal columns of length ``n_pooled``.

    Every fit and each of its separation rounds use the same directions, so
    they are computed once per width. The result is read-only.
    """
    gaussian = np.random.default_rng(0).standard_normal((n_pooled, COLLISION_DIRECTIONS))
    directions, _ = np.linalg.qr(gaussian)
    directions.flags.writeable = False
    return directions


def find_collisions(representations, labels, distinct=None):
    """Return pairs of differently labelled sequences the readout cannot resolve.

    A pair collides when its squared distance is at most
    ``resolution_floor``. The search is a radius query in a k-d tree over at
    most ``COLLISION_DIRECTIONS`` projected coordinates, with a radius
    relative to each point's norm, so it is not an all-pairs computation.
    ``distinct``, if given, is ``distinct_rows(representations)``, computed
    before. Returns an array of shape (n_pairs, 2) of sequence indices.
    """
    first, inverse = distinct_rows(representations) if distinct is None else distinct
    pairs = []

    # Equal representations with different labels collide outright.
    label_of_first = labels[first]
    clash = np.flatnonzero(labels != label_of_first[inverse])
    pairs.extend((first[inverse[sequence]], sequence) for sequence in clash)

    points = representations if first.size == inverse.size else representations[first]
    squared_norms = np.einsum("ij,ij->i", points, points)
    n_pooled = points.shape[1]
    # A colliding pair is found from its endpoint of larger norm.
    radius = np.sqrt(resolution_floor(2.0 * squared_norms, n_pooled)) * 1.01
    indexed = points
    if n_pooled > COLLISION_DIRECTIONS:
        # An orthonormal projection never lengthens a difference, so the tree
        # still finds every pair within the radius, among a few candidates
        # that the full check below removes. A k-d tree prunes poorly in the
        # thousands of pooled coordinates of the convolution embedding.
        indexed = points @ _collision_directions(n_pooled)
    tree = cKDTree(indexed)
    # Counting first skips the loop below when every point finds only
    # itself, as it usually does.
    n_found = tree.query_ball_point(indexed, r=radius, return_length=True)
    candidates = np.flatnonzero(n_found > 1)
    neighbours = []
    if candidates.size:
        neighbours = tree.query_ball_point(
            indexed[candidates], r=radius[candidates], return_sorted=False
        )
    for point, found in zip(candidates, neighbours):
        for other in found:
            if other == point or label_of_first[other] == label_of_first[point]:
                continue
            difference = points[point] - points[other]
            floor = resolution_floor(
                squared_norms[point] + squared_norms[other], n_pooled
            )
            if difference @ difference <= floor:
                pairs.append((first[point], first[other]))
    if not pairs:
        return np.zeros((0, 2), dtype=np.intp)
    pairs = np.sort(np.asarray(pairs, dtype=np.intp), axis=1)
    return np.unique(pairs, axis=0)


def _min_over_others(distances, exclude):
    """Return per column the minimum of ``distances(rows)`` over all rows.

    ``distances`` maps a slice of rows of the distinct tokens to an array of
    shape (n_rows, n_columns). Row ``exclude`` is skipped. Rows are processed
    in chunks that fit in scikit-learn's ``working_memory``.
    """
    best = None
    n_rows = distances.n_rows
    step = chunk_rows(8 * distances.n_columns * 2, n_rows)
    for batch in batch_slices(n_rows, step):
        values = distances(batch)
        if batch.start <= exclude < batch.stop:
            values[exclude - batch.start] = np.inf
        smallest = values.min(axis=0, initial=np.inf)
        best = smallest if best is None else np.minimum(best, smallest)
    return best


class _AxisDistances:
    """``|z_a - w_a|`` for every axis a, as the bump's first layer rounds it."""

    def __init__(self, distinct, token):
        self.distinct, self.token = distinct, token
        self.n_rows, self.n_columns = distinct.shape

    def __call__(self, batch):
        return np.abs(self.distinct[batch] - self.token)


class _PairDistances:
    """``|(z_a + m z_b) - (w_a + m w_b)|`` for a fixed a, every b > a."""

    def __init__(self, distinct, token, first, weight):
        self.distinct, self.token = distinct, token
        self.first, self.weight = first, weight
        self.n_rows = distinct.shape[0]
        self.n_columns = distinct.shape[1] - first - 1
        self.centers = token[first] + weight * token[first + 1 :]

    def __call__(self, batch):
        rows = self.distinct[batch]
        sums = rows[:, self.first : self.first + 1] + self.weight * rows[:, self.first + 1 :]
        return np.abs(sums - self.centers)


class _BallDistances:
    """``max_a |z_a - w_a|``: a lower bound of the rounded sum over all axes."""

    def __init__(self, distinct, token):
        self.distinct, self.token = distinct, token
        self.n_rows, self.n_columns = distinct.shape[0], 1

    def __call__(self, batch):
        return np.abs(self.distinct[batch] - self.token).max(axis=1, keepdims=True)


def _rescale_terms(terms, width, distinct):
    """Multiply every term by a power of two that brings the width near 1.

    A power-of-two factor is exact, so it scales every computed distance
    exactly and keeps the bump exact. Without it, a width near the smallest
    float64 would make ``offset / width`` overflow. The factor is capped so
    that neither a weight nor a scaled token value overflows.
    """
    exponent = -int(np.floor(np.log2(width)))
    largest = float(np.abs(distinct).max(initial=0.0))
    largest = max(largest, max(abs(center) for _, _, center in terms))
    if largest > 0:
        headroom = np.log2(np.finfo(np.float64).max) - np.log2(8.0 * largest)
        exponent = min(exponent, int(np.floor(headroom)))
    # The weights themselves, of magnitude up to 2 * 2**exponent, stay finite.
    exponent = min(exponent, 1000)
    # ldexp multiplies by 2**exponent exactly, also where 2**exponent itself
    # would overflow.
    scaled = [
        (coordinates, np.ldexp(weights, exponent), float(np.ldexp(center, exponent)))
        for coordinates, weights, center in terms
    ]
    return scaled, float(np.ldexp(width, exponent))


def isolating_terms(distinct, token_id):
    """Return ``(terms, width)`` of a bump that fires on one distinct token only.

    Terms and width are scaled by a power of two so that the width is near 1
    where the token values allow it.
    """
    terms, width = _unscaled_isolating_terms(distinct, token_id)
    return _rescale_terms(terms, width, distinct)


def _unscaled_isolating_terms(distinct, token_id):
    """Return ``(terms, width)`` of a bump that fires on one distinct token only.

    Tries a single axis first, then a sum ``z_a + m z_b`` with a power-of-two
    ``m``, both computed with the single rounding of the feed-forward layer
    that uses them. The fallback sums ``|z_a - w_a|`` over every axis. Because
    every term is nonnegative, the rounded sum is at least its largest term
    in any order, so the smallest L-infinity distance to another token is a
    valid width. It is positive because the tokens are distinct.
    """
    token = distinct[token_id]
    if distinct.shape[0] == 1:
        return [(np.array([0]), np.array([1.0]), float(token[0]))], 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        gaps = _min_over_others(_AxisDistances(distinct, token), token_id)
        if (gaps > 0).any():
            axis = int(np.argmax(np.where(np.isfinite(gaps), gaps, -1.0)))
            if np.isfinite(gaps[axis]) and gaps[axis] > 0:
                term = (np.array([axis]), np.array([1.0]), float(token[axis]))
                return [term], float(gaps[axis])
        for first in range(distinct.shape[1] - 1):
            for weight in PAIR_WEIGHTS:
                pairs = _PairDistances(distinct, token, first, weight)
                gaps = _min_over_others(pairs, token_id)
                valid = np.isfinite(gaps) & (gaps > 0) & np.isfinite(pairs.centers)
                if valid.any():
                    column = int(np.argmax(np.where(valid, gaps, -1.0)))
                    term = (
                        np.array([first, first + 1 + column]),
                        np.array([1.0, weight]),
                        float(pairs.centers[column]),
                    )
                    return [term], float(gaps[column])
    width = float(_min_over_others(_BallDistances(distinct, token), token_id)[0])
    terms = [
        (np.array([axis]), np.array([1.0]), float(token[axis]))
        for axis in range(distinct.shape[1])
    ]
    return terms, width


def choose_witness(index, first, second):
    """Return the id of a token whose proportion differs between two sequences.

    The token with the largest difference of proportions is chosen, so the
    offset needed to split the pair is smallest. Returns None when the
    sequences have the same distribution.
    """
    ids_first, counts_first = index.counts(first)
    ids_second, counts_second = index.counts(second)
    length_first = counts_first.sum()
    length_second = counts_second.sum()
    ids = np.union1d(ids_first, ids_second)
    count_first = np.zeros(ids.size, dtype=np.int64)
    count_second = np.zeros(ids.size, dtype=np.int64)
    count_first[np.searchsorted(ids, ids_first)] = counts_first
    count_second[np.searchsorted(ids, ids_second)] = counts_second
    # Integer cross-multiplication compares the proportions exactly.
    differs = count_first * length_second != count_second * length_first
    if not differs.any():
        return None
    gain = np.abs(count_first / length_first - count_second / length_second)
    gain[~differs] = -1.0
    return int(ids[np.argmax(gain)])


@dataclass
class EmbeddingSpec:
    """Description of the embedding of a construction.

    ``kind`` is "moments" (standardized tokens with cosine positional
    features) or "convolution" (a stem of dilated kernels whose outputs the
    first block turns into ramps, with ``biases`` and ``widths`` per output).
    """

    kind: str
    mean: np.ndarray
    scale: np.ndarray
    n_moments: int = 0
    dilations: np.ndarray = None
    channels: np.ndarray = None
    biases: np.ndarray = None
    widths: np.ndarray = None

    @property
    def n_embedded(self):
        if self.kind == "convolution":
            return self.channels.shape[1]
        return self.mean.size * (self.n_moments + 1)

    @property
    def n_proportions(self):
        return 0 if self.biases is None else self.biases.size

    @property
    def positional(self):
        return self.kind == "convolution" or self.n_moments > 0

    def make(self, layout):
        """Return the embedding for ``layout``."""
        if self.kind == "convolution":
            return ConvolutionEmbedding(
                self.mean, self.scale, self.dilations, self.channels, layout
            )
        return Embedding(self.mean, self.scale, self.n_moments, layout)


def front_layout(spec, pooling, n_classes, witnesses):
    """Return the token layout of the network that ``build_front`` builds."""
    return TokenLayout(
        n_embedded=spec.n_embedded,
        pooling=pooling,
        n_separation=N_SEPARATION if witnesses else 0,
        n_scratch=len(witnesses),
        n_classes=n_classes,
        n_raw=(spec.mean.size + int(spec.positional)) if witnesses else 0,
        n_proportions=spec.n_proportions,
    )


def build_front(spec, pooling, n_classes, witnesses, shift, attention):
    """Build the embedding and the blocks up to and including pooling.

    Invariant: after the last returned block, every token of a sequence is
    identical. Its register and proportion coordinates contain the pooled
    features minus ``shift``, its separation coordinates the mean of the
    witnesses' offsets over the sequence, and its raw, scratch and score
    coordinates are 0.
    """
    layout = front_layout(spec, pooling, n_classes, witnesses)
    embedding = spec.make(layout)
    blocks = []
    if witnesses or spec.n_proportions:
        layers = []
        if witnesses:
            layers.append(_witness_distance_layer(layout, witnesses))
        if spec.n_proportions:
            layers.append(_ramp_layer(layout, spec.biases, spec.widths))
        blocks.append(Block(_stack_units(layers), HardmaxAttention([], layout.dim)))
    blocks.append(
        Block(
            _pooling_feed_forward(layout, witnesses, shift),
            _pooling_attention(layout, attention),
        )
    )
    return embedding, blocks


def _stack_units(layers):
    """Return one feed-forward layer with the units of all ``layers``."""
    if len(layers) == 1:
        return layers[0]
    weight_in = sparse_vstack([csr_array(layer.weight_in) for layer in layers])
    weight_out = sparse_hstack([csr_array(layer.weight_out) for layer in layers])
    bias = np.concatenate([layer.bias for layer in layers])
    return FeedForward(csr_array(weight_in), bias, csr_array(weight_out))


def _ramp_layer(layout, biases, widths):
    """Turn every convolution output into ramps ``clip((c - b) / w, 0, 1)``.

    Two units per bias compute ``relu((c - b) / w)`` and
    ``relu((c - b) / w - 1)``; their difference is the clipped ramp, written
    into the proportion feature of that output and bias.
    """
    n_outputs, n_biases = biases.shape
    register = layout.register(layout.pooling[0])
    proportion = layout.proportions.reshape(n_outputs, n_biases)
    n_units = 2 * biases.size
    reads = np.repeat(register, 2 * n_biases)
    slope = np.repeat(1.0 / widths, 2 * n_biases)
    start = np.repeat(-biases / widths[:, None], 2, axis=1).ravel()
    bias = start - np.tile([0.0, 1.0], biases.size)
    writes = np.repeat(proportion.ravel(), 2)
    signs = np.tile([1.0, -1.0], biases.size)
    units = np.arange(n_units)
    weight_in = csr_array((slope, (units, reads)), shape=(n_units, layout.dim))
    weight_out = csr_array((signs, (writes, units)), shape=(layout.dim, n_units))
    return FeedForward(weight_in, bias, weight_out)


def centring_shift(features, offsets, pooling):
    """Return the mean pooled register over the training sequences.

    Subtracting it from every token before pooling centres the pooled
    representations, so that ``|pi_b|^2`` and with it the rounding floor of
    the readout stay small. Mean, max and min pooling commute with the shift.
    """
    return _pooled_registers(features, offsets, pooling).mean(axis=0)


def _pooled_registers(features, offsets, pooling):
    """Return the pooled registers of every sequence, one row per sequence."""
    starts = offsets[:-1]
    pooling_functions = {
        "mean": lambda: np.add.reduceat(features, starts, axis=0) / np.diff(offsets)[:, None],
        "max": lambda: np.maximum.reduceat(features, starts, axis=0),
        "min": lambda: np.minimum.reduceat(features, starts, axis=0),
    }
    return np.hstack([pooling_functions[kind]() for kind in pooling])


# Embedded values per batch of _centring_shift_in_batches: 32 MiB of float64.
SHIFT_BATCH_VALUES = 2**22

# Training tokens above which _proportion_shift estimates the shift of the
# ramp features from every k-th sequence. On Japanese Vowels, sorting all
# 4274 training tokens for each of the 1008 convolution outputs took 53.9 ms,
# in a fit of about 330 ms, and every fifth sequence took 9.9 ms.
SHIFT_SAMPLE_TOKENS = 1024


def _centring_shift_in_batches(embedding, tokens, offsets, pooling):
    """Return ``centring_shift`` of the embedded features of the training tokens.

    The features are computed for batches of whole sequences with about
    ``SHIFT_BATCH_VALUES`` values each, or one longer sequence, instead of
    for all training tokens at once. Each sequence is pooled on its own, so
    the result equals that of ``centring_shift`` on all the features.
    """
    max_tokens = max(1, SHIFT_BATCH_VALUES // max(embedding.layout.n_embedded, 1))
    pooled = []
    for first, last in sequence_batches(offsets, max_tokens):
        local = offsets[first : last + 1] - offsets[first]
        batch = tokens[offsets[first] : offsets[last]]
        pooled.append(_pooled_registers(embedding.features(batch, local), local, pooling))
    return np.concatenate(pooled).mean(axis=0)


def _witness_distance_layer(layout, witnesses):
    """Write the distance ``s = sum_k |g_k . z - c_k|`` of every witness.

    Two units per term compute ``relu(t)`` and ``relu(-t)`` of
    ``t = g_k . z - c_k``, and both write the witness's scratch coordinate.
    At most one of the two is nonzero, so each term adds ``|t|`` exactly.
    """
    width = 2 * sum(len(witness.terms) for witness in witnesses)
    weight_in = np.zeros((width, layout.dim))
    bias = np.zeros(width)
    weight_out = np.zeros((layout.dim, width))
    unit = 0
    for position, witness in enumerate(witnesses):
        for coordinates, weights, center in witness.terms:
            for sign in (1.0, -1.0):
                weight_in[unit, layout.raw[coordinates]] = sign * weights
                bias[unit] = -sign * center
                weight_out[layout.scratch[position], unit] = 1.0
                unit += 1
    return FeedForward(csr_array(weight_in), bias, csr_array(weight_out))


def _pooling_feed_forward(layout, witnesses, shift):
    """Finish the bumps, clear the raw and scratch coordinates, centre.

    Per witness, one unit adds ``offset * relu(delta - s) / delta`` to the
    separation coordinates. It is exactly 0 wherever ``s >= delta``. A second
    unit subtracts ``relu(s)`` from the scratch value ``s >= 0``, which leaves
    exactly 0. Each raw coordinate ``r`` gets ``- relu(r) + relu(-r)``, which
    is exactly ``-r``. One unit with ``U = 0`` and ``b = 1`` subtracts
    ``shift`` from the registers, so the pooled representations are centred.
    """
    n_witnesses = len(witnesses)
    n_raw = layout.n_raw
    has_shift = bool(np.any(shift))
    width = 2 * n_witnesses + 2 * n_raw + int(has_shift)
    weight_in = np.zeros((width, layout.dim))
    bias = np.zeros(width)
    weight_out = np.zeros((layout.dim, width))
    for position, witness in enumerate(witnesses):
        scratch = layout.scratch[position]
        weight_in[position, scratch] = -1.0
        bias[position] = witness.width
        weight_out[layout.separation, position] = witness.offset / witness.width
        clear = n_witnesses + position
        weight_in[clear, scratch] = 1.0
        weight_out[scratch, clear] = -1.0
    for position, raw in enumerate(layout.raw):
        for sign, unit in ((1.0, 2 * n_witnesses + 2 * position), (-1.0, 2 * n_witnesses + 2 * position + 1)):
            weight_in[unit, raw] = sign
            weight_out[raw, unit] = -sign
    if has_shift:
        bias[-1] = 1.0
        weight_out[np.arange(layout.constant), -1] = -shift
    return FeedForward(csr_array(weight_in), bias, csr_array(weight_out))


def _pooling_attention(layout, attention=("hardmax", None)):
    """Return the pooling layer: one mean head and one head per leader.

    The mean head has rank zero and averages the mean register, the
    proportion features and the separation coordinates over the sequence.
    The max head of coordinate a has ``Q = e_constant`` and ``K = e_a``, so
    every token attends to the tokens with the largest value of a and copies
    it. The min head uses ``K = -e_a``. With softmax attention the leader
    heads average with weights ``softmax(k_l / temperature)`` instead, which
    are the same for every token of a sequence.
    """
    attention_kind, temperature = attention
    dim = layout.dim
    heads = []
    mean_coordinates = np.concatenate([layout.proportions, layout.separation])
    if "mean" in layout.pooling:
        mean_coordinates = np.concatenate([layout.register("mean"), mean_coordinates])
    if mean_coordinates.size:
        heads.append(AttentionHead(np.zeros((0, dim)), np.zeros((0, dim)), mean_coordinates))
    for kind, sign in (("max", 1.0), ("min", -1.0)):
        if kind not in layout.pooling:
            continue
        for coordinate in layout.register(kind):
            query = np.zeros((1, dim))
            query[0, layout.constant] = 1.0
            key = np.zeros((1, dim))
            key[0, coordinate] = sign
            heads.append(
                AttentionHead(
                    query,
                    key,
                    [coordinate],
                    attention=attention_kind,
                    temperature=temperature,
                )
            )
    return HardmaxAttention(heads, dim)


def build_readout_blocks(layout, prototypes, prototype_classes):
    """Return the readout blocks of running maxima over the prototypes.

    Block k updates every class with more than k prototypes. The first block
    sets ``score_c = relu(l) - relu(-l) = l_b(p)`` for the first prototype of
    class c, and each later block sets
    ``score_c <- score_c + relu(l_b(p) - score_c) = max(score_c, l_b(p))``.
    After all blocks, ``score_c = |p|^2 - min_b |p - pi_b|^2`` over the
    prototypes of class c. The blocks have no attention heads, because every
    token is already identical.
    """
    n_classes = layout.n_classes
    # Prototypes ordered by class, then by their order within the class.
    # Level k contains the k-th prototype of every class that has one.
    by_class = np.argsort(prototype_classes, kind="stable")
    counts = np.bincount(prototype_classes, minlength=n_classes)
    class_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(prototype_classes.size, dtype=np.intp)
    rank[by_class] = np.arange(prototype_classes.size) - np.repeat(class_start, counts)
    by_level = np.lexsort((prototype_classes, rank))
    n_levels = int(counts.max(initial=0))
    level_starts = np.searchsorted(rank[by_level], np.arange(n_levels + 1))
    squared_norms = np.einsum("ij,ij->i", prototypes, prototypes)
    pooled = layout.pooled
    blocks = []
    for level in range(level_starts.size - 1):
        members = by_level[level_starts[level] : level_starts[level + 1]]
        active = prototype_classes[members]
        chosen = prototypes[members]
        norms = squared_norms[members]
        scores = layout.scores[active]
        n_active = active.size
        if level == 0:
            # Unit pairs relu(l) and relu(-l), written with +1 and -1.
            plus, minus = np.arange(0, 2 * n_active, 2), np.arange(1, 2 * n_active, 2)
            weight_in = np.zeros((2 * n_active, layout.dim))
            weight_in[plus[:, None], pooled] = 2.0 * chosen
            weight_in[minus[:, None], pooled] = -2.0 * chosen
            bias = np.empty(2 * n_active)
            bias[plus], bias[minus] = -norms, norms
            weight_out = np.zeros((layout.dim, 2 * n_active))
            weight_out[scores, plus] = 1.0
            weight_out[scores, minus] = -1.0
        else:
            units = np.arange(n_active)
            weight_in = np.zeros((n_active, layout.dim))
            weight_in[units[:, None], pooled] = 2.0 * chosen
            weight_in[units, scores] = -1.0
            bias = -norms
            weight_out = np.zeros((layout.dim, n_active))
            weight_out[scores, units] = 1.0
        blocks.append(
            Block(FeedForward(weight_in, bias, weight_out), HardmaxAttention([], layout.dim))
        )
    return blocks


def build_readout(layout, prototype_classes):
    """Return the readout that reads the score coordinates.

    A class without prototypes (every one of its sequences lost a majority
    vote) gets the score ``-inf``: its nearest prototype is infinitely far.
    """
    weight = np.zeros((layout.n_classes, layout.dim))
    bias = np.zeros(layout.n_classes)
    has_prototype = np.isin(np.arange(layout.n_classes), prototype_classes)
    weight[np.flatnonzero(has_prototype), layout.scores[has_prototype]] = 1.0
    bias[~has_prototype] = -np.inf
    return Readout(weight, bias)


class _Front:
    """The part of the network before the readout, rebuilt as witnesses grow."""

    def __init__(self, spec, pooling, n_classes, attention):
        self.spec = spec
        self.pooling = pooling
        self.n_classes = n_classes
        self.attention = attention

    def layout(self, witnesses):
        return front_layout(self.spec, self.pooling, self.n_classes, witnesses)

    def build(self, witnesses, shift):
        embedding, blocks = build_front(
            self.spec, self.pooling, self.n_classes, witnesses, shift, self.attention
        )
        return HardmaxTransformer(
            embedding,
            blocks,
            Readout(np.zeros((0, embedding.layout.dim)), np.zeros(0)),
            pooling_block=len(blocks) - 1,
        )


def _colliding_groups(pairs, representations, distinct):
    """Return groups of sequences to split: collisions, with exact duplicates.

    A group is a connected component of the colliding pairs, extended by every
    sequence whose representation equals, bit for bit, that of a member.
    ``distinct`` is ``distinct_rows(representations)``.
    """
    _, inverse = distinct
    n_sequences = representations.shape[0]
    n_values = inverse.max() + 1
    # Nodes are sequences and distinct representations; a sequence is tied to
    # its representation, and colliding pairs to each other.
    rows = np.concatenate([pairs[:, 0], np.arange(n_sequences)])
    columns = np.concatenate([pairs[:, 1], n_sequences + inverse])
    graph = coo_array(
        (np.ones(rows.size), (rows, columns)),
        shape=(n_sequences + n_values, n_sequences + n_values),
    )
    _, component = connected_components(graph, directed=False)
    involved = np.unique(component[pairs.ravel()])
    return [
        np.flatnonzero(component[:n_sequences] == label) for label in involved
    ]


def _split_group(members, labels, index, offsets):
    """Choose witness tokens until no two members with different labels agree.

    Members start in one cell. Each chosen token splits the cells by its
    proportion in each member. A token is chosen only for two members in the
    same cell with different labels, so every choice splits a cell, and a
    group of m members needs at most m - 1 tokens. Returns the chosen token ids
    and, for each, the smallest nonzero difference of proportions it creates.
    """
    lengths = np.diff(offsets)[members]
    cells = np.zeros(members.size, dtype=np.intp)
    chosen = []
    while True:
        conflict = None
        for cell in np.unique(cells):
            inside = np.flatnonzero(cells == cell)
            cell_labels = labels[members[inside]]
            if np.unique(cell_labels).size > 1:
                first = inside[0]
                second = inside[np.flatnonzero(cell_labels != cell_labels[0])[0]]
                conflict = first, second
                break
        if conflict is None:
            return chosen
        token_id = choose_witness(index, members[conflict[0]], members[conflict[1]])
        if token_id is None:
            raise RuntimeError(
                f"Training sequences {members[conflict[0]]} and "
                f"{members[conflict[1]]} share a token distribution but not a "
                "label after the majority vote. This is a bug in sklearn-hardmax; "
                "please report it."
            )
        counts = np.array([index.count_of(member, token_id) for member in members])
        proportions = counts / lengths
        # Cells are refined by the exact proportion, compared as a fraction.
        keys = {}
        new_cells = np.empty_like(cells)
        for position, (cell, count, length) in enumerate(zip(cells, counts, lengths)):
            divisor = np.gcd(count, length)
            key = (cell, count // divisor, length // divisor)
            new_cells[position] = keys.setdefault(key, len(keys))
        cells = new_cells
        smallest = np.diff(np.unique(proportions)).min()
        chosen.append((token_id, smallest))


def separate(
    front, tokens, offsets, labels, token_index, shift, rng, n_jobs, log, features=None
):
    """Add witnesses until no two differently labelled sequences collide.

    Each round finds the colliding pairs with ``find_collisions`` and splits
    every group of colliding sequences with ``_split_group``. A witness's
    offset has a random direction and a length a few times the float64 floor
    of the group, so the members it splits end up apart unless random offsets
    cancel, which the next round repairs. ``token_index`` returns the
    ``TokenIndex`` of the training tokens, which witnesses are chosen from;
    it is called only when a round finds colliding pairs. ``features``, if
    given, are the embedded features of ``tokens``, which the pooling passes
    then read.
    Returns the witnesses, the front of the network, the representations,
    their ``distinct_rows`` and the number of rounds. The last round found no
    colliding pair among those representations.
    """
    witnesses = []
    witness_of_token = {}
    scale_reference = None
    for round_number in range(1, MAX_SEPARATION_ROUNDS + 1):
        transformer = front.build(witnesses, shift)
        pooled = transformer.pooled_tokens(
            tokens, offsets, n_jobs=n_jobs, features=features
        )
        representations = pooled[:, transformer.layout.pooled]
        distinct = distinct_rows(representations)
        pairs = find_collisions(representations, labels, distinct)
        log(f"separation round {round_number}: {len(pairs)} colliding pairs")
        if len(pairs) == 0:
            return witnesses, transformer, representations, distinct, round_number
        if scale_reference is None:
            squared = np.einsum("ij,ij->i", representations, representations)
            scale_reference = np.sqrt(squared.mean()) or 1.0
        index = token_index()

        n_added = 0
        for members in _colliding_groups(pairs, representations, distinct):
            group = representations[members]
            floor = resolution_floor(2.0 * np.einsum("ij,ij->i", group, group).max(), group.shape[1])
            for token_id, smallest in _split_group(members, labels, index, offsets):
                magnitude = (
                    SEPARATION_MARGIN
                    * max(np.sqrt(floor), np.sqrt(EPSILON) * scale_reference)
                    / smallest
                )
                direction = rng.standard_normal(N_SEPARATION)
                direction /= np.linalg.norm(direction)
                # One bump per token: a training token then receives a single
                # product in the separation coordinates, which rounds the same
                # in every summation order. A token chosen again adds to its
                # witness's offset.
                if token_id in witness_of_token:
                    witness = witnesses[witness_of_token[token_id]]
                    witness.offset = witness.offset + magnitude * direction
                    continue
                terms, width = isolating_terms(index.distinct, token_id)
                if not np.all(np.isfinite(magnitude * direction / width)):
                    raise ValueError(
                        f"Training token {index.distinct[token_id].tolist()} differs "
                        f"from the nearest other training token by only {width:.3g} "
                        "after scaling, too little for a separation bump in float64. "
                        "Rescale the features so that distinct token values differ "
                        "by more than 1e-300."
                    )
                witness_of_token[token_id] = len(witnesses)
                witnesses.append(
                    Witness(
                        token=index.distinct[token_id].copy(),
                        terms=terms,
                        width=width,
                        offset=magnitude * direction,
                    )
                )
                n_added += 1
        log(f"separation round {round_number}: {n_added} witnesses added")
    raise RuntimeError(
        f"Separation did not finish within {MAX_SEPARATION_ROUNDS} rounds "
        f"({len(witnesses)} witnesses). This is a bug in sklearn-hardmax; "
        "please report it with the data."
    )


def verify_exactness(
    transformer,
    tokens,
    offsets,
    labels,
    representations,
    rng,
    *,
    check_all=False,
    linear=None,
    separated=False,
):
    """Check the stored network on the training data and raise if it fails.

    Three checks, none of them all-pairs:

    1. for a few random training sequences (see ``_literal_check_sequences``)
       run through every layer at full width, every token of a sequence is
       bitwise identical after the pooling block, and the pooled
       representations equal the ones of the fused pooling pass;
    2. no prototype of another class lies within ``resolution_floor`` of any
       training representation, which proves that the fused readout ranks
       the sequence's own prototype first;
    3. a random subset of at most ``N_VERIFIED_SEQUENCES`` training sequences
       is predicted end to end through the stored readout.

    With ``check_all``, check 3 scores every training sequence instead and
    requires each margin to exceed the float64 rounding of the scores. This
    is for readouts where a training sequence need not be its own prototype
    (condensed prototypes, the linear readout), because check 2 alone does
    not prove exactness there.

    ``separated`` says that the caller has made check 2 already, on these
    representations and labels. ``separate`` does: it returns after a round
    of ``find_collisions`` that found no pair, and the search is
    deterministic, so running it again would find no pair either.

    Returns the class scores of the subset and its sequence indices.
    """
    n_sequences = offsets.size - 1
    _check_layer_by_layer(transformer, tokens, offsets, representations, rng)

    pairs = np.zeros((0, 2)) if separated else find_collisions(representations, labels)
    if len(pairs):
        first, second = pairs[0]
        raise RuntimeError(
            f"Training sequences {first} and {second} have different labels but "
            "the readout cannot resolve them. This is a bug in sklearn-hardmax; "
            "please report it."
        )

    if check_all:
        scores = _scores_of_representations(transformer, representations)
        if linear is None:
            passing = _margin_exceeds_rounding(scores, labels, representations)
            readout = "condensed prototypes"
        else:
            passing = _linear_margin_exceeds_rounding(
                scores, labels, np.abs(representations), linear[0], linear[1]
            )
            readout = "linear readout"
        failing = np.flatnonzero(~passing)
        if failing.size:
            raise RuntimeError(
                f"Training sequence {failing[0]} is not classified with a margin "
                f"above float64 rounding by the {readout}. This is a "
                "bug in sklearn-hardmax; please report it."
            )
        return scores, np.arange(n_sequences)

    subset = np.sort(
        rng.choice(n_sequences, size=min(n_sequences, N_VERIFIED_SEQUENCES), replace=False)
    )
    sub_offsets = np.concatenate([[0], np.cumsum(np.diff(offsets)[subset])])
    sub_tokens = _gather_sequences(tokens, offsets, subset)
    scores = transformer.class_scores(sub_tokens, sub_offsets)
    wrong = np.flatnonzero(scores.argmax(axis=1) != labels[subset])
    if wrong.size:
        raise RuntimeError(
            f"Training sequence {subset[wrong[0]]} is misclassified by the "
            "constructed network. This is a bug in sklearn-hardmax; please report "
            "it."
        )
    return scores, subset


def _literal_check_sequences(lengths, rng):
    """Return up to ``N_LITERAL_SEQUENCES`` random sequences, sorted.

    They contain at most ``N_LITERAL_TOKENS`` tokens in all. The result is
    empty when every sequence is longer.
    """
    chosen = []
    total = 0
    for sequence in rng.permutation(lengths.size):
        if len(chosen) == N_LITERAL_SEQUENCES:
            break
        if total + lengths[sequence] <= N_LITERAL_TOKENS:
            chosen.append(sequence)
            total += lengths[sequence]
    return np.sort(np.asarray(chosen, dtype=np.intp))


def _check_layer_by_layer(transformer, tokens, offsets, representations, rng):
    """Run a few training sequences through every layer at full width.

    Raises if their tokens differ after the pooling block or if their pooled
    representations differ from those of the fused pass. When every
    sequence is longer than ``N_LITERAL_TOKENS``, the first
    ``N_LITERAL_TOKENS`` tokens of the shortest one are checked as a
    sequence of their own, against the fused pass on the same tokens.
    """
    lengths = np.diff(offsets)
    checked = _literal_check_sequences(lengths, rng)
    if checked.size:
        inputs = _gather_sequences(tokens, offsets, checked)
        local = np.concatenate([[0], np.cumsum(lengths[checked])])
        expected = representations[checked]
    else:
        start = offsets[np.argmin(lengths)]
        inputs = tokens[start : start + N_LITERAL_TOKENS]
        local = np.array([0, inputs.shape[0]])
        expected = transformer.pooled_tokens(inputs, local)[:, transformer.layout.pooled]

    states = transformer.embedding.forward(inputs, local)
    for block in transformer.blocks[: transformer.pooling_block + 1]:
        states = block.forward(states, local)
    starts = local[:-1]
    if not np.array_equal(states, np.repeat(states[starts], np.diff(local), axis=0)):
        raise RuntimeError(
            "Tokens of a training sequence differ after the pooling block. "
            "This is a bug in sklearn-hardmax; please report it."
        )
    if not np.array_equal(states[starts][:, transformer.layout.pooled], expected):
        raise RuntimeError(
            "The layer-by-layer pass and the fused pooling pass give different "
            "pooled representations. This is a bug in sklearn-hardmax; please "
            "report it."
        )


def _gather_sequences(tokens, offsets, sequences):
    """Return the tokens of ``sequences``, one after the other.

    All sequences in order return ``tokens`` itself, without a copy.
    """
    if np.array_equal(sequences, np.arange(offsets.size - 1)):
        return tokens
    return np.vstack([tokens[offsets[index] : offsets[index + 1]] for index in sequences])


def _scores_of_representations(transformer, representations):
    """Return class scores of pooled representations through the readout."""
    layout = transformer.layout
    pooled = np.zeros((representations.shape[0], layout.dim))
    pooled[:, layout.pooled] = representations
    pooled[:, layout.constant] = 1.0
    return transformer.readout.forward(transformer._apply_readout_blocks(pooled))


def _margin_exceeds_rounding(scores, labels, points):
    """Return, per row, whether the own class wins by more than rounding.

    A class score ``s = l_b(p) = |p|^2 - |p - pi_b|^2`` of its best prototype
    gives ``|p - pi_b|`` and so ``|pi_b| <= |p| + |p - pi_b|``. The rounding
    error of ``l_b(p)`` is at most about
    ``2 (n_pooled + 3) eps (2 |pi_b| |p| + |pi_b|^2)``. The own class must win
    by twice the sum of the errors of the own and the best other class.
    """
    gamma = (points.shape[1] + 3) * EPSILON
    squared = np.einsum("ij,ij->i", points, points)[:, None]
    with np.errstate(invalid="ignore"):
        distance = np.sqrt(np.maximum(squared - scores, 0.0))
        norm_bound = np.sqrt(squared) + distance
        errors = 2.0 * gamma * (2.0 * norm_bound * np.sqrt(squared) + norm_bound**2)
    return _wins_by_more_than(scores, labels, errors)


def _wins_by_more_than(scores, labels, errors):
    """Return, per row, whether the own class wins by twice the summed errors.

    ``errors`` bounds the rounding error of every score. The sum is that of
    the own class and of the best other class. A best other class scoring
    ``-inf`` (a class without prototypes) adds no error.
    """
    margins, rival = _margins_and_rivals(scores, labels)
    rows = np.arange(labels.size)
    rival_errors = np.where(np.isfinite(scores[rows, rival]), errors[rows, rival], 0.0)
    return margins > 2.0 * (errors[rows, labels] + rival_errors)


def _margins_and_rivals(scores, labels):
    """Return own class score minus the best other score, and that other class."""
    rows = np.arange(labels.size)
    others = scores.copy()
    others[rows, labels] = -np.inf
    rival = others.argmax(axis=1)
    return scores[rows, labels] - others[rows, rival], rival


def _margins(scores, labels):
    """Return own class score minus the best other class score, per row."""
    return _margins_and_rivals(scores, labels)[0]


def condense_prototypes(representations, labels, candidates, rng, batch_size=256):
    """Return a consistent subset of the candidate prototype rows.

    This is Hart's condensed nearest-neighbour rule, processed in batches:
    rows are visited in random order, and a row whose nearest kept prototype
    has another label, or whose margin is within the float64 floor, is kept.
    Passes repeat until one keeps nothing, so every training representation's
    nearest prototype has its label. The cost is about
    ``n_sequences * n_kept`` distance evaluations per pass.

    Parameters
    ----------
    representations : ndarray of shape (n_sequences, n_pooled)
    labels : ndarray of shape (n_sequences,)
    candidates : ndarray of int
        Rows of the distinct representations.
    rng : numpy.random.RandomState

    Returns
    -------
    kept : ndarray of int
        Sorted rows of the prototypes.
    """
    order = candidates[rng.permutation(candidates.size)]
    _, first_of_class = np.unique(labels[order], return_index=True)
    kept = list(order[first_of_class])
    is_kept = np.zeros(representations.shape[0], dtype=bool)
    is_kept[kept] = True
    n_classes = labels.max() + 1
    # Equal representations get equal scores, so visiting the distinct ones
    # covers every training sequence.
    for _ in range(MAX_SEPARATION_ROUNDS):
        n_before = len(kept)
        for batch in batch_slices(order.size, batch_size):
            rows = order[batch]
            rows = rows[~is_kept[rows]]
            if rows.size == 0:
                continue
            kept_rows = np.asarray(kept)
            scores = _nearest_prototype_scores(
                representations[rows], representations[kept_rows], labels[kept_rows], n_classes
            )
            passing = _margin_exceeds_rounding(scores, labels[rows], representations[rows])
            failing = rows[~passing]
            kept.extend(failing.tolist())
            is_kept[failing] = True
        if len(kept) == n_before:
            break
    return np.sort(np.asarray(kept))


def _nearest_prototype_scores(points, prototypes, prototype_labels, n_classes):
    """Return ``|p|^2 - min_b |p - pi_b|^2`` per class, -inf without prototypes."""
    order = np.argsort(prototype_labels, kind="stable")
    present, starts = np.unique(prototype_labels[order], return_index=True)
    chosen = prototypes[order]
    fused = {
        "affine": fused_affine(2.0 * chosen, -np.einsum("ij,ij->i", chosen, chosen)),
        "starts": starts,
    }
    scores = np.full((points.shape[0], n_classes), -np.inf)
    scores[:, present] = _fused_maxima(points, fused)
    return scores


def probability_temperature(scores, labels):
    """Return the median training margin, the temperature of ``predict_proba``.

    The margin of a training sequence is its own class score minus the best
    other class score. With prototypes, it is the squared distance to the
    nearest prototype of another class minus that to the nearest of its own,
    and the latter is 0 when every representation is a prototype. Returns 1.0 when there is no other class.
    """
    if scores.shape[1] < 2:
        return 1.0
    margins = _margins(scores, labels)
    margins = margins[np.isfinite(margins) & (margins > 0)]
    if margins.size == 0:
        return 1.0
    return float(np.median(margins))


# Range of the temperature that held_out_temperature searches, in score units.
# The linear readout's scores regress targets of -1 and +1.
HELD_OUT_TEMPERATURES = (1e-3, 1e3)


def held_out_temperature(held_out, labels):
    """Return the temperature that minimizes the log-loss of held-out scores.

    ``held_out`` are the leave-one-out class scores of the training
    sequences. The search runs over the logarithm of the temperature within
    ``HELD_OUT_TEMPERATURES``. When every held-out prediction is right by a
    wide margin, the loss is flat near 0 for all small temperatures, and the
    search stops at one of them.
    """
    if held_out.shape[1] < 2:
        return 1.0
    rows = np.arange(labels.size)

    def loss(log_temperature):
        return -log_softmax(held_out / np.exp(log_temperature), axis=1)[rows, labels].mean()

    low, high = np.log(HELD_OUT_TEMPERATURES)
    result = minimize_scalar(loss, bounds=(low, high), method="bounded")
    return float(np.exp(result.x))


# With the linear readout, the temperature is at least the median training
# margin divided by this, so that a typical margin gives odds of at most
# e**10. Without the floor, held-out predictions that are all right let the
# temperature fall until every probability rounds to 0 or 1.
MARGIN_ODDS_EXPONENT = 10.0


def _temperature(scores, labels, subset, linear):
    """Return the temperature of ``predict_proba`` for ``temperature="auto"``."""
    median_margin = probability_temperature(scores, labels[subset])
    if linear is None:
        return median_margin
    return max(held_out_temperature(linear[3], labels), median_margin / MARGIN_ODDS_EXPONENT)


def _embedding_spec(kind, tokens, offsets, n_moments, random_state):
    """Fit the embedding: standardization, and for convolutions the stem.

    Returns the spec and the embedded features of the training tokens when
    fitting computed them (for convolutions), else None.
    """
    mean, scale = fit_standardization(tokens)
    if kind == "moments":
        return EmbeddingSpec("moments", mean, scale, n_moments=n_moments), None
    dilations = choose_dilations(np.diff(offsets))
    channels = choose_channels(mean.size, N_KERNELS * dilations.size, random_state)
    spec = EmbeddingSpec(
        "convolution", mean, scale, dilations=dilations, channels=channels
    )
    n_biases = max(1, round(CONVOLUTION_FEATURES / channels.shape[1]))
    _check_feature_memory(tokens.shape[0], channels.shape[1])
    features = _Front(spec, ("mean",), 1, ("hardmax", None)).build([], 0.0)
    features = features.embedding.features(tokens, offsets)
    biases, widths = fit_ramps(features, offsets, n_biases, random_state)
    spec = EmbeddingSpec(
        "convolution",
        mean,
        scale,
        dilations=dilations,
        channels=channels,
        biases=biases,
        widths=widths,
    )
    return spec, features


# Peak memory of a fit with the convolution embedding, in arrays of the
# features of all training tokens. tracemalloc measured 2.62 for 31,453
# tokens with 336 outputs and 2.03 for 59,690 tokens with 588 outputs.
FIT_FEATURE_COPIES = 4


def _check_feature_memory(n_tokens, n_outputs):
    """Raise if the convolution features of all training tokens cannot fit in memory."""
    needed = n_tokens * n_outputs * 8 * FIT_FEATURE_COPIES
    # Read from the module, where tests replace it.
    available = _model._physical_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"Fitting the convolution embedding on {n_tokens} training tokens "
            f"with {n_outputs} convolution outputs each needs about "
            f"{needed / 2**30:.1f} GiB, more than this machine's "
            f"{available / 2**30:.1f} GiB of memory. Fit on fewer or shorter "
            'sequences, or use embedding="moments", which needs far less.'
        )


def _proportion_shift(spec, features, offsets):
    """Return the mean over sequences of the pooled ramp features.

    Sorting each convolution output once gives every ramp's mean from prefix
    sums: tokens at or above ``bias + width`` count fully, and those inside
    the ramp count ``(c - bias) / width``. Each token carries the weight
    ``1 / (n_sequences * length)`` of its sequence. The result only centres
    the representations, so its rounding differs harmlessly from the
    network's own ramps. For the same reason it may be estimated from some
    of the sequences: more than ``SHIFT_SAMPLE_TOKENS`` tokens in all are
    thinned to every k-th sequence.
    """
    if not spec.n_proportions:
        return np.zeros(0)
    lengths = np.diff(offsets)
    step = -(-int(offsets[-1]) // SHIFT_SAMPLE_TOKENS)
    if step > 1:
        sample = np.arange(0, lengths.size, step)
        features = _gather_sequences(features, offsets, sample)
        lengths = lengths[sample]
    weights = np.repeat(1.0 / (lengths.size * lengths), lengths)
    by_output = np.ascontiguousarray(features.T)
    order = np.argsort(by_output, axis=1)
    values = np.take_along_axis(by_output, order, axis=1)
    sorted_weights = weights[order]
    zero = np.zeros((by_output.shape[0], 1))
    weight_sums = np.hstack([zero, np.cumsum(sorted_weights, axis=1)])
    moment_sums = np.hstack([zero, np.cumsum(sorted_weights * values, axis=1)])
    shift = np.empty(spec.biases.shape)
    for output, (biases, width) in enumerate(zip(spec.biases, spec.widths)):
        low = np.searchsorted(values[output], biases, side="right")
        high = np.searchsorted(values[output], biases + width, side="left")
        inside = weight_sums[output, high] - weight_sums[output, low]
        inside_moment = moment_sums[output, high] - moment_sums[output, low]
        above = weight_sums[output, -1] - weight_sums[output, high]
        shift[output] = above + (inside_moment - biases * inside) / width
    return shift.ravel()


def fit_linear_readout(representations, labels, n_classes, log):
    """Return the exact ridge head with the best leave-one-out accuracy, or None.

    Ridge regression with an intercept on one-hot targets coded -1/+1 is
    solved for every penalty in ``RIDGE_ALPHAS`` from one eigendecomposition.
    It decomposes the centred Gram matrix, or the covariance matrix when
    there are more sequences than features. The same decomposition gives the
    exact leave-one-out predictions through the diagonal of the hat matrix.

    A penalty qualifies when the full fit classifies every training
    representation with a margin above float64 rounding. Among those, the
    best leave-one-out accuracy wins, and ties go to the larger penalty, so
    a penalty is checked only when it would improve on the best so far.
    Returns ``(weights, intercepts, alpha, held_out)``, where ``held_out``
    are the leave-one-out scores of that penalty, or None when no penalty is
    exact.
    """
    n_sequences, n_pooled = representations.shape
    targets = -np.ones((n_sequences, n_classes))
    targets[np.arange(n_sequences), labels] = 1.0
    center = representations.mean(axis=0)
    target_center = targets.mean(axis=0)
    centred = representations - center
    centred_targets = targets - target_center
    use_gram = n_sequences <= n_pooled
    if use_gram:
        eigenvalues, vectors = np.linalg.eigh(centred @ centred.T)
        projected = vectors.T @ centred_targets
        leverage_basis = vectors**2
    else:
        eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
        design = centred @ vectors
        projected = design.T @ centred_targets
        leverage_basis = design**2
    eigenvalues = np.maximum(eigenvalues, 0.0)
    magnitudes = np.abs(representations)

    def held_out_scores(fitted, shrink):
        leverage = leverage_basis @ shrink + 1.0 / n_sequences
        return targets - (targets - fitted) / np.maximum(1.0 - leverage, EPSILON)[:, None]

    best = None
    for alpha in sorted(RIDGE_ALPHAS, reverse=True):
        # First the fitted scores from the decomposition, which costs no
        # product with the representations; the weights only for a penalty
        # that may win.
        if use_gram:
            shrink = eigenvalues / (eigenvalues + alpha)
            fitted = vectors @ (projected * shrink[:, None]) + target_center
        else:
            shrink = 1.0 / (eigenvalues + alpha)
            fitted = design @ (projected * shrink[:, None]) + target_center
        held_out = held_out_scores(fitted, shrink)
        loo_accuracy = float(np.mean(held_out.argmax(axis=1) == labels))
        if best is not None and loo_accuracy <= best[0]:
            log(f"ridge alpha {alpha:g}: leave-one-out accuracy {loo_accuracy:.4f}")
            continue
        if use_gram:
            dual = vectors @ (projected / (eigenvalues + alpha)[:, None])
            weights = (centred.T @ dual).T
        else:
            weights = (vectors @ (projected / (eigenvalues + alpha)[:, None])).T
        intercepts = target_center - weights @ center
        # The scores the readout computes, for the rounding check and the
        # held-out scores that set the temperature.
        fitted = representations @ weights.T + intercepts
        held_out = held_out_scores(fitted, shrink)
        loo_accuracy = float(np.mean(held_out.argmax(axis=1) == labels))
        exact = _linear_margin_exceeds_rounding(
            fitted, labels, magnitudes, weights, intercepts
        ).all()
        log(
            f"ridge alpha {alpha:g}: leave-one-out accuracy {loo_accuracy:.4f}, "
            f"exact on training data {exact}"
        )
        if exact and (best is None or loo_accuracy > best[0]):
            best = (loo_accuracy, weights, intercepts, alpha, held_out)
    if best is None:
        return None
    return best[1:]


def _linear_margin_exceeds_rounding(scores, labels, magnitudes, weights, intercepts):
    """Return, per row, whether a linear head wins by more than rounding.

    ``magnitudes`` are the absolute values ``|p|`` of the points. The
    rounding error of ``w_c . p + b_c`` over ``n`` terms is at most about
    ``(n + 3) eps (sum_k |w_ck p_k| + |b_c|)``; the own class must win by
    twice the sum of the errors of the own and the best other class.
    """
    gamma = (magnitudes.shape[1] + 3) * EPSILON
    errors = gamma * (magnitudes @ np.abs(weights).T + np.abs(intercepts))
    return _wins_by_more_than(scores, labels, errors)


def build_linear_readout_block(layout, weights, intercepts):
    """Return the block that writes ``score_c = w_c . p + b_c``.

    Two units per class compute ``relu(s)`` and ``relu(-s)`` and write their
    difference, which is ``s`` exactly, into the score coordinate.
    """
    n_classes = weights.shape[0]
    weight_in = np.zeros((2 * n_classes, layout.dim))
    bias = np.zeros(2 * n_classes)
    weight_out = np.zeros((layout.dim, 2 * n_classes))
    for label in range(n_classes):
        for sign, unit in ((1.0, 2 * label), (-1.0, 2 * label + 1)):
            weight_in[unit, layout.pooled] = sign * weights[label]
            bias[unit] = sign * intercepts[label]
            weight_out[layout.scores[label], unit] = sign
    return Block(
        FeedForward(weight_in, bias, weight_out), HardmaxAttention([], layout.dim)
    )


def _with_readout(front, readout_blocks, readout, fused_readout=True):
    """Return the network of ``front`` followed by the readout blocks."""
    transformer = HardmaxTransformer(
        front.embedding,
        list(front.blocks) + readout_blocks,
        readout,
        pooling_block=front.pooling_block,
        fused_readout=fused_readout,
    )
    # The embedding and the blocks up to pooling are the same objects, so the
    # fused pooling pass built for them applies unchanged.
    transformer._fused_front = front._fused_front
    return transformer


def construct_transformer(
    tokens,
    offsets,
    labels,
    n_classes,
    *,
    pooling,
    n_moments,
    random_state,
    embedding="moments",
    readout="prototype",
    prototypes="all",
    attention=("hardmax", None),
    n_jobs=None,
    log=print,
):
    """Construct a hardmax transformer that classifies the training data exactly.

    Parameters
    ----------
    tokens : ndarray of shape (n_tokens, n_features)
    offsets : ndarray of shape (n_sequences + 1,)
    labels : ndarray of int of shape (n_sequences,)
        Class indices in ``range(n_classes)``.
    n_classes : int
    pooling : tuple of str
    n_moments : int
    random_state : numpy.random.RandomState
    embedding : {"moments", "convolution"}
    readout : {"prototype", "linear", "auto"}
        "auto" tries the linear head and falls back to prototypes.
    prototypes : {"all", "condensed"}
        Which distinct training representations become prototypes.
    attention : tuple
        ``(kind, temperature)`` of the leader heads, kind "hardmax" or
        "softmax".
    n_jobs : int or None
        Number of joblib jobs for the pooling passes.
    log : callable
        Receives one progress message at a time.

    Returns
    -------
    Construction
    """
    spec, features = _embedding_spec(embedding, tokens, offsets, n_moments, random_state)
    front = _Front(spec, pooling, n_classes, attention)

    # Fail before the full-width passes if one sequence cannot fit in memory.
    # The network without witnesses has the layout of the first separation
    # round; it is built only if the fused pass's bound is needed.
    plain_layout = front.layout([])
    _model.check_sequence_memory(
        offsets, plain_layout.dim, lambda: front.build([], 0.0)._pooling_front()
    )
    embedding_only = spec.make(plain_layout)
    # Fitting the convolution embedding computed the features of every
    # training token. The separation rounds pool them without computing them
    # again. The moments embedding's features are computed once as well when
    # they fit in one batch of the centring shift, and in batches otherwise.
    if features is None and tokens.shape[0] * spec.n_embedded <= SHIFT_BATCH_VALUES:
        features = embedding_only.features(tokens, offsets)
        shift = centring_shift(features, offsets, pooling)
    elif features is None:
        shift = _centring_shift_in_batches(embedding_only, tokens, offsets, pooling)
    else:
        shift = np.concatenate(
            [
                centring_shift(features, offsets, pooling),
                _proportion_shift(spec, features, offsets),
            ]
        )

    @functools.cache
    def token_index():
        return TokenIndex.from_features(
            embedding_only.raw_features(tokens, offsets), offsets
        )

    # With positional features only identical sequences share a token
    # distribution, and comparing whole sequences costs far less than
    # indexing every token. The index is then built only if separation needs
    # a witness.
    if spec.positional:
        group_ids = group_identical_sequences(tokens, offsets)
        counted = ""
    else:
        group_ids = group_indistinguishable(token_index())
        counted = f"{token_index().distinct.shape[0]} distinct tokens, "
    training_labels, conflicting = majority_labels(group_ids, labels, n_classes)
    log(
        f"{counted}{group_ids.max() + 1} distinct token distributions, "
        f"{len(conflicting)} with conflicting labels"
    )

    witnesses, transformer, representations, distinct, n_rounds = separate(
        front,
        tokens,
        offsets,
        training_labels,
        token_index,
        shift,
        random_state,
        n_jobs,
        log,
        features=features,
    )
    del features
    layout = transformer.layout

    linear = None
    if readout in ("linear", "auto") and n_classes >= 2:
        linear = fit_linear_readout(representations, training_labels, n_classes, log)
        if linear is None and readout == "linear":
            raise ValueError(
                "No ridge penalty gives a linear readout that classifies every "
                "training sequence exactly (there may be more training sequences "
                "than pooled features). Use readout='auto' or readout='prototype'."
            )
    if linear is not None:
        weights, intercepts, alpha, _ = linear
        log(f"linear readout with ridge alpha {alpha:g}")
        readout_used = "linear"
        prototype_rows = np.zeros(0, dtype=np.intp)
        transformer = _with_readout(
            transformer,
            [build_linear_readout_block(layout, weights, intercepts)],
            # A class that lost every majority vote scores -inf, as it does
            # with prototypes.
            build_readout(layout, np.unique(training_labels)),
            fused_readout=False,
        )
    else:
        readout_used = "prototype"
        first, _ = distinct
        if prototypes == "condensed":
            first = condense_prototypes(representations, training_labels, first, random_state)
            log(
                f"condensed {distinct[0].size} distinct "
                f"representations to {first.size} prototypes"
            )
        prototype_rows = first
        prototype_classes = training_labels[first]
        readout_blocks = build_readout_blocks(
            layout, representations[first], prototype_classes
        )
        transformer = _with_readout(
            transformer, readout_blocks, build_readout(layout, prototype_classes)
        )
    # Counting the nonzero weights reads every layer, so it is done once.
    n_params = transformer.n_params
    log(
        f"{len(witnesses)} witnesses, {readout_used} readout, "
        f"{prototype_rows.size} prototypes, {transformer.n_blocks} blocks, "
        f"{n_params} parameters"
    )

    scores, subset = verify_exactness(
        transformer,
        tokens,
        offsets,
        training_labels,
        representations,
        random_state,
        check_all=readout_used == "linear" or prototypes == "condensed",
        linear=linear,
        separated=True,
    )
    margins = _margins(scores, training_labels[subset])
    finite = margins[np.isfinite(margins)]
    if finite.size:
        log(
            f"training margins over {subset.size} checked sequences (own class "
            f"score minus best other): min {finite.min():.6g}, median "
            f"{np.median(finite):.6g}, max {finite.max():.6g}"
        )
    return Construction(
        transformer=transformer,
        n_params=n_params,
        prototype_rows=prototype_rows,
        training_labels=training_labels,
        conflicting_groups=conflicting,
        witnesses=witnesses,
        n_rounds=n_rounds,
        temperature=_temperature(scores, training_labels, subset, linear),
        readout=readout_used,
    )
