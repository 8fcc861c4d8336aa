"""Layers of the hardmax transformer and the network that chains them.

Every layer acts on a ragged batch: ``tokens`` of shape (n_tokens, width) contains
the tokens of all sequences one after the other, and ``offsets`` of shape
(n_sequences + 1,) marks where each sequence starts, as in a CSR matrix. A
feed-forward layer acts on each token alone. An attention layer mixes tokens
of the same sequence only.

Segment sums use ``np.add.reduceat``, which reduces each sequence on its own,
from its own first token, in an order that depends only on its length.
A sequence therefore gets bitwise the same pooled token whether it is
processed alone or inside a batch, which the exactness check of the
construction relies on.
"""

import os
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from joblib.parallel import get_active_backend
from scipy.sparse import csr_array, issparse
from sklearn import get_config

POOLING_KINDS = ("mean", "max", "min")

# Upper bound on the sequences per chunk of pooling and readout work. It keeps
# chunks small enough to spread over joblib workers and fixes their
# boundaries independently of the number of jobs.
SEQUENCES_PER_CHUNK = 2048


def _count_nonzero(array):
    if issparse(array):
        return int(array.count_nonzero())
    return int(np.count_nonzero(array))


def _check_matrix(name, array, shape):
    array = np.asarray(array, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}.")
    return array


def chunk_rows(row_bytes, n_rows):
    """Return how many rows of ``row_bytes`` bytes fit in ``working_memory``.

    ``working_memory`` is scikit-learn's configured limit in MiB for temporary
    arrays. At least one row is always returned.
    """
    budget = get_config()["working_memory"] * 2**20
    return int(min(max(budget // max(row_bytes, 1), 1), max(n_rows, 1)))


def batch_slices(n, size):
    """Return the slices of ``range(n)`` in consecutive pieces of ``size``.

    The same slices as scikit-learn's ``gen_batches``, without its parameter
    validation, which costs about 0.2 ms per call on a path that predict
    takes twice.
    """
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def sequence_batches(offsets, max_tokens):
    """Split sequences into batches of whole sequences of at most ``max_tokens``.

    Returns ``(first, last)`` pairs: a batch is sequences ``first`` to
    ``last - 1``. A sequence longer than ``max_tokens`` is a batch of its own.
    """
    n_sequences = offsets.size - 1
    pairs = []
    first = 0
    while first < n_sequences:
        last = np.searchsorted(offsets, offsets[first] + max_tokens, side="right") - 1
        last = max(last, first + 1)
        pairs.append((first, last))
        first = last
    return pairs


def _segment_mean(values, offsets):
    """Return the mean of ``values`` over each sequence, one row per sequence."""
    sums = np.add.reduceat(values, offsets[:-1], axis=0)
    return sums / np.diff(offsets).reshape(-1, *([1] * (values.ndim - 1)))


# Peak number of full-width copies of a sequence's tokens while pooling it:
# the embedded tokens, a feed-forward output, the attention output and the
# temporary arrays of one head. Measured with tracemalloc on a 200,000-token
# sequence (about 5 copies); 8 leaves room.
TOKEN_COPIES = 8


def _physical_memory():
    """Return this machine's physical memory in bytes, or None if unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _pool_chunk(front, tokens, offsets, features=None):
    """Run the embedding and the blocks up to pooling; one token per sequence.

    The pooling block's attention layer is evaluated for the first token of
    each sequence only, which after pooling equals every other token.
    ``front`` is a ``FusedFront`` or the pair of the embedding and the blocks.
    ``features``, if given, are the embedding's features of ``tokens``.
    """
    # pooled_tokens raises a clear error for a pooled token that overflows,
    # so numpy's overflow warnings would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        if not isinstance(front, tuple):
            return front.pool(tokens, offsets, features=features)
        embedding, blocks = front
        states = embedding.forward(tokens, offsets, features=features)
        for block in blocks[:-1]:
            states = block.forward(states, offsets)
        states = blocks[-1].feed_forward.forward(states)
        return blocks[-1].attention.forward_first(states, offsets)


# Rows of the matrix products over tokens are padded to a multiple of this.
ROW_BLOCK = 64


def row_blocked_product(left, right, block_rows=ROW_BLOCK):
    """Return ``left @ right`` computed in blocks of ``block_rows`` rows.

    A BLAS takes other code paths for a single row, for a ragged edge of rows
    or for another number of rows, and they round differently. Zero-padded
    blocks of exactly ``ROW_BLOCK`` rows remove those differences for most
    shapes, so a row usually gets the same value alone as inside a batch.
    """
    # NOTE: not for every shape. With OpenBLAS 0.3.30 (SkylakeX kernel) the
    # last bits of a row can still depend on its position in the block and
    # on the number of threads, for example with 64 inner and 300 output
    # columns. The layers up to pooling therefore use sparse products, which
    # sum in a fixed order, and the readouts that use this function are
    # checked with rounding bounds that hold for any summation order.
    n_rows = left.shape[0]
    result = np.empty((n_rows, right.shape[1]))
    # Every product has exactly block_rows rows, because a BLAS may also
    # choose its kernel by the number of rows.
    block = np.zeros((block_rows, left.shape[1]))
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        if stop - start == block_rows:
            result[start:stop] = left[start:stop] @ right
            continue
        block[: stop - start] = left[start:stop]
        block[stop - start :] = 0.0
        result[start:stop] = (block @ right)[: stop - start]
    return result


# Activations per step of a sparse feed-forward layer. At full width on
# Japanese Vowels, 309 tokens through the 4032 ramp units took 22.7 ms at
# once and 15.7 ms in steps of 32 rows. The smaller temporary arrays, about
# 1 MiB each, probably come from the heap instead of fresh memory maps.
SPARSE_VALUES = 2**17


def sparse_product(dense, matrix):
    """Return ``dense @ matrix.T`` for a CSR ``matrix``, summed in stored order.

    Entry ``(t, r)`` starts from 0 and adds ``data * dense[t, column]`` for
    the entries of row ``r`` in the order they are stored, one rounded
    product and one rounded sum at a time. The result of a row therefore
    does not depend on the other rows of ``dense`` or on any library's
    choice of kernel, and restricting ``matrix`` to some of its rows or
    columns keeps the order.
    """
    counts = np.diff(matrix.indptr)
    result = np.zeros((dense.shape[0], matrix.shape[0]))
    for rank in range(int(counts.max(initial=0))):
        rows = np.flatnonzero(counts > rank)
        entries = matrix.indptr[rows] + rank
        columns = matrix.indices[entries]
        # Slices and broadcasting stand in for fancy indexing where they can;
        # they compute the same products.
        if np.all(columns == columns[0]):
            terms = dense[:, columns[0], None] * matrix.data[entries]
        else:
            terms = dense[:, columns] * matrix.data[entries]
        if rows[-1] - rows[0] + 1 == rows.size:
            result[:, rows[0] : rows[-1] + 1] += terms
        else:
            result[:, rows] += terms
    return result


def _local_backend():
    """Return whether joblib's active backend runs on this machine.

    joblib's own backends (loky, multiprocessing, threading, sequential) are
    defined in ``joblib._parallel_backends``. A cluster backend such as dask
    is defined elsewhere.
    """
    backend, _ = get_active_backend()
    return type(backend).__module__ == "joblib._parallel_backends"


def _run_chunks(n_jobs):
    """Return a callable that runs a list of ``delayed`` calls.

    A single call runs in this process unless a cluster backend such as dask
    is active. A worker process would gain nothing for one call. On the
    Japanese Vowels test set, sending the one chunk to loky with
    ``n_jobs=2`` took 2.1 s on the first call and 0.33 s on the next,
    against 0.16 s here. The workers also run the BLAS with fewer threads,
    which changed the last bits of some readout scores. Other calls go to
    ``Parallel(n_jobs=n_jobs)``.
    """

    def run(tasks):
        tasks = list(tasks)
        if len(tasks) == 1 and (effective_n_jobs(n_jobs) == 1 or _local_backend()):
            function, args, kwargs = tasks[0]
            return [function(*args, **kwargs)]
        return Parallel(n_jobs=n_jobs)(tasks)

    return run


def _run_blocks(blocks, pooled):
    """Run blocks on one pooled token per sequence."""
    offsets = np.arange(pooled.shape[0] + 1)
    states = pooled
    for block in blocks:
        states = block.forward(states, offsets)
    return states


# Rows and readout units per matrix product of the fused readout. The
# activations of one product take 256 * 8192 * 8 bytes = 16 MiB, where a
# product over 50,000 units would take 100 MiB per 256 rows. The products
# write into one buffer reused for the whole call, because a fresh 16 MiB
# array per product costs its page faults every time. Scoring 8000 random
# points against 50,000 prototypes of 36 coordinates on the 2-core machine of
# doc/benchmarks.rst took 1.46 s with fresh arrays and a separate bias
# addition, 0.52 s with the buffer and the bias in the product, and 0.71 s
# with brute 1-NN.
FUSED_ROWS = 256
FUSED_UNITS = 8192


def fused_affine(weight, bias):
    """Return the units' weights with their biases as a last column."""
    affine = np.empty((weight.shape[0], weight.shape[1] + 1))
    affine[:, :-1] = weight
    affine[:, -1] = bias
    return affine


# Readout units that _build_fused_readout reads at once.
FUSED_GROUP_UNITS = 4096


def _fused_maxima(pooled, fused):
    """Return per class the largest ``l_b(p)`` over its readout units.

    ``fused["affine"]`` holds each unit's weights and then its bias, so the
    product of a row of ``pooled`` extended by a 1 with a unit's row is
    ``l_b(p)``, one dot product of ``n_columns + 1`` terms. The units are
    taken ``FUSED_UNITS`` at a time for ``FUSED_ROWS`` rows at a time, zero
    padded so that every product has the same number of rows, and the maxima
    of the pieces combine exactly, whatever the order.
    """
    affine, starts = fused["affine"], fused["starts"]
    n_rows = pooled.shape[0]
    n_units, n_columns = affine.shape
    ends = np.append(starts[1:], n_units)
    maxima = np.full((n_rows, starts.size), -np.inf)
    block = np.zeros((FUSED_ROWS, n_columns))
    buffer = np.empty(FUSED_ROWS * min(n_units, FUSED_UNITS))
    for row in range(0, n_rows, FUSED_ROWS):
        stop = min(row + FUSED_ROWS, n_rows)
        count = stop - row
        block[:count, :-1] = pooled[row:stop]
        block[:count, -1] = 1.0
        block[count:] = 0.0
        for low in range(0, n_units, FUSED_UNITS):
            high = min(low + FUSED_UNITS, n_units)
            # A contiguous view of the buffer, so the product writes in place.
            activations = buffer[: FUSED_ROWS * (high - low)].reshape(FUSED_ROWS, high - low)
            np.matmul(block, affine[low:high].T, out=activations)
            # The classes whose units overlap [low, high), in order.
            first = np.searchsorted(ends, low, side="right")
            last = np.searchsorted(starts, high, side="left")
            pieces = np.maximum.reduceat(
                activations[:count], np.maximum(starts[first:last], low) - low, axis=1
            )
            target = maxima[row:stop, first:last]
            np.maximum(target, pieces, out=target)
    return maxima


def check_sequence_memory(offsets, dim, pooling_front):
    """Raise if pooling the longest sequence would exceed physical memory.

    One sequence is pooled at once. At full width (``dim`` coordinates per
    token), the embedding and the attention layer hold about
    ``TOKEN_COPIES`` arrays of its tokens. The fused pass of _pooling.py
    needs less (``FusedFront.token_bytes``), and its bound applies where the
    full-width one fails. ``pooling_front`` returns what the network pools
    with: a ``FusedFront``, or a tuple for the full-width pass. It is called
    only when the full-width bound fails, so the common case builds nothing.
    """
    if offsets.size < 2:
        return
    lengths = np.diff(offsets)
    longest = int(np.argmax(lengths))
    available = _physical_memory()
    if available is None:
        return
    needed = int(lengths[longest]) * dim * 8 * TOKEN_COPIES
    if needed > available:
        front = pooling_front()
        if not isinstance(front, tuple):
            needed = int(lengths[longest]) * front.token_bytes
    if needed > available:
        raise ValueError(
            f"Sequence {longest} has {lengths[longest]} tokens; pooling it needs "
            f"about {needed / 2**30:.1f} GiB, more than this machine's "
            f"{available / 2**30:.1f} GiB of memory. Split it into shorter "
            "sequences or subsample its tokens."
        )


class FeedForward:
    """Token-wise residual ReLU layer ``z <- z + W relu(U z + b)``.

    A layer of width 0 is the identity. Two units give an exact linear map
    because ``relu(t) - relu(-t) = t``, and a unit with ``U = 0`` and ``b > 0``
    adds a constant.

    Parameters
    ----------
    weight_in : array-like of shape (width, dim)
        The matrix ``U`` that maps a token to the units' pre-activations.
    bias : array-like of shape (width,)
        The bias ``b`` of the units.
    weight_out : array-like of shape (dim, width)
        The matrix ``W`` that writes the units' activations into the token.

    Examples
    --------
    Two units copy coordinate 0 into coordinate 1 exactly, because
    ``relu(t) - relu(-t) = t``:

    >>> import numpy as np
    >>> from sklearn_hardmax import FeedForward
    >>> layer = FeedForward(
    ...     weight_in=[[1.0, 0.0], [-1.0, 0.0]],
    ...     bias=[0.0, 0.0],
    ...     weight_out=[[0.0, 0.0], [1.0, -1.0]],
    ... )
    >>> layer.forward(np.array([[3.0, 1.0], [-2.0, 0.5]]))
    array([[ 3. ,  4. ],
           [-2. , -1.5]])
    >>> layer.width, layer.n_params
    (2, 4)
    >>> FeedForward.identity(2)
    FeedForward(width=0)
    """

    def __init__(self, weight_in, bias, weight_out):
        if issparse(weight_in) or issparse(weight_out):
            weight_in = csr_array(weight_in, dtype=np.float64)
            weight_out = csr_array(weight_out, dtype=np.float64)
            if weight_out.shape != weight_in.shape[::-1]:
                raise ValueError(
                    f"weight_out must have shape {weight_in.shape[::-1]}, got "
                    f"{weight_out.shape}."
                )
            self.weight_in = weight_in
            self.bias = _check_matrix("bias", bias, (weight_in.shape[0],))
            self.weight_out = weight_out
            return
        weight_in = np.asarray(weight_in, dtype=np.float64)
        if weight_in.ndim != 2:
            raise ValueError(
                f"weight_in must be 2-D (width, dim), got {weight_in.ndim}-D."
            )
        width, dim = weight_in.shape
        self.weight_in = weight_in
        self.bias = _check_matrix("bias", bias, (width,))
        self.weight_out = _check_matrix("weight_out", weight_out, (dim, width))

    @classmethod
    def identity(cls, dim):
        """Return the layer of width 0 on tokens of width ``dim``."""
        return cls(np.zeros((0, dim)), np.zeros(0), np.zeros((dim, 0)))

    @property
    def width(self):
        """Number of ReLU units."""
        return self.weight_in.shape[0]

    @property
    def n_params(self):
        """Number of nonzero weights in ``U``, ``b`` and ``W``."""
        return int(
            _count_nonzero(self.weight_in)
            + np.count_nonzero(self.bias)
            + _count_nonzero(self.weight_out)
        )

    def forward(self, tokens):
        """Apply the layer to every row of ``tokens`` (n_tokens, dim).

        Sparse weights (scipy CSR arrays, for layers whose units each read and
        write a few coordinates) give the same function at a cost linear in
        their nonzero entries. Their products sum in a fixed order per row,
        see ``sparse_product``.
        """
        if self.width == 0:
            return tokens
        if issparse(self.weight_in):
            # Every row is computed on its own, so a few rows at a time give
            # the same numbers with smaller activation arrays. predict uses
            # the fused pooling pass of _pooling.py for the ramps instead.
            step = max(1, SPARSE_VALUES // self.width)
            if step >= tokens.shape[0]:
                return self._sparse_rows(tokens)
            result = np.empty((tokens.shape[0], self.weight_out.shape[0]))
            for rows in batch_slices(tokens.shape[0], step):
                result[rows] = self._sparse_rows(tokens[rows])
            return result
        activations = np.maximum(row_blocked_product(tokens, self.weight_in.T) + self.bias, 0.0)
        return tokens + row_blocked_product(activations, self.weight_out.T)

    def _sparse_rows(self, tokens):
        """Apply the layer with sparse weights to the rows ``tokens``."""
        activations = sparse_product(tokens, self.weight_in)
        activations += self.bias
        np.maximum(activations, 0.0, out=activations)
        # update + tokens equals tokens + update exactly, and adding in place
        # saves an array of the tokens' size.
        update = sparse_product(activations, self.weight_out)
        update += tokens
        return update

    def __repr__(self):
        return f"FeedForward(width={self.width})"


class AttentionHead:
    """Hardmax attention head with a rank-zero or rank-one key-query matrix.

    Token ``i`` attends to the set ``C(i)`` of all tokens ``l`` of its
    sequence that maximize the score ``<Q z_i, K z_l>``, and its value
    coordinates are replaced by their mean over ``C(i)``. The value matrix is
    the coordinate projection ``V = sum_a e_a e_a^T`` over
    ``value_coordinates``, so the update ``z_i + V (mean_C z_l - z_i)`` is an
    assignment of those coordinates. Evaluated that way, every token that
    attends to the same set gets bitwise the same value.

    With rank 0 every score is 0, so every token attends to the whole
    sequence (mean pooling). With rank 1 the score is ``q_i k_l`` for the
    scalars ``q_i = Q z_i`` and ``k_l = K z_l``. Its maximizers are the tokens
    with the largest ``k_l`` when ``q_i > 0``, those with the smallest when
    ``q_i < 0``, and all tokens when ``q_i = 0``. This reading of the scores
    is exact in real arithmetic and needs no score matrix.

    A rank-one head with ``attention="softmax"`` replaces the maximizers by
    the weights ``softmax_l(q_i k_l / temperature)``. It needs a query that is
    constant within each sequence.

    Parameters
    ----------
    query : array-like of shape (rank, dim)
        The matrix ``Q``, with rank 0 or 1.
    key : array-like of shape (rank, dim)
        The matrix ``K``.
    value_coordinates : array-like of int
        The token coordinates that the head writes.
    attention : {"hardmax", "softmax"}, default="hardmax"
        How a rank-one head weighs the tokens.
    temperature : float or None, default=None
        Temperature of a softmax head.

    Examples
    --------
    Two sequences, of three tokens and of one, in a ragged batch. Coordinate
    1 is a constant 1. A rank-zero head writes the sequence mean of
    coordinate 0 into every token, and a rank-one head whose query reads the
    constant copies the value of the leaders, the tokens with the largest
    coordinate 0:

    >>> import numpy as np
    >>> from sklearn_hardmax import AttentionHead
    >>> tokens = np.array([[1.0, 1.0], [3.0, 1.0], [5.0, 1.0], [0.0, 1.0]])
    >>> offsets = np.array([0, 3, 4])
    >>> mean_head = AttentionHead(np.zeros((0, 2)), np.zeros((0, 2)), [0])
    >>> mean_head.attend(tokens, offsets).ravel().tolist()
    [3.0, 3.0, 3.0, 0.0]
    >>> max_head = AttentionHead(
    ...     query=[[0.0, 1.0]], key=[[1.0, 0.0]], value_coordinates=[0]
    ... )
    >>> max_head.attend(tokens, offsets).ravel().tolist()
    [5.0, 5.0, 5.0, 0.0]
    >>> max_head.rank, max_head.n_params
    (1, 3)

    A negative key makes the leaders the tokens with the smallest value:

    >>> min_head = AttentionHead([[0.0, 1.0]], [[-1.0, 0.0]], [0])
    >>> min_head.attend(tokens, offsets).ravel().tolist()
    [1.0, 1.0, 1.0, 0.0]
    """

    def __init__(
        self, query, key, value_coordinates, *, attention="hardmax", temperature=None
    ):
        if attention not in ("hardmax", "softmax"):
            raise ValueError(
                f"attention must be 'hardmax' or 'softmax', got {attention!r}."
            )
        if attention == "softmax" and not (temperature is not None and temperature > 0):
            raise ValueError(
                f"A softmax head needs a positive temperature, got {temperature!r}."
            )
        self.attention = attention
        self.temperature = temperature
        query = np.asarray(query, dtype=np.float64)
        if query.ndim != 2 or query.shape[0] not in (0, 1):
            raise ValueError(
                "query must have shape (rank, dim) with rank 0 or 1, got shape "
                f"{query.shape}."
            )
        self.query = query
        self.key = _check_matrix("key", key, query.shape)
        coordinates = np.asarray(value_coordinates, dtype=np.intp).ravel()
        dim = query.shape[1]
        if coordinates.size and (coordinates.min() < 0 or coordinates.max() >= dim):
            raise ValueError(
                f"value_coordinates must lie in [0, {dim}), got {coordinates}."
            )
        if np.unique(coordinates).size != coordinates.size:
            raise ValueError(f"value_coordinates has repeats: {coordinates}.")
        self.value_coordinates = coordinates

    @property
    def rank(self):
        """Rank of the key-query matrix ``Q^T K`` (0 or 1)."""
        return self.query.shape[0]

    @property
    def n_params(self):
        """Number of nonzero weights in ``Q``, ``K`` and ``V``."""
        return int(
            np.count_nonzero(self.query)
            + np.count_nonzero(self.key)
            + self.value_coordinates.size
        )

    def attend(self, tokens, offsets, first_only=False):
        """Return, for every token, the mean of its value coordinates over C(i).

        The result has shape (n_tokens, len(value_coordinates)), or
        (n_sequences, len(value_coordinates)) for the first token of each
        sequence with ``first_only``.
        """
        values = tokens[:, self.value_coordinates]
        if self.rank == 0:
            means = _segment_mean(values, offsets)
            return means if first_only else np.repeat(means, np.diff(offsets), axis=0)
        result = self._attend_rank_one(tokens, offsets, values)
        return result[offsets[:-1]] if first_only else result

    def _attend_rank_one(self, tokens, offsets, values):
        lengths = np.diff(offsets)
        whole_mean = np.repeat(_segment_mean(values, offsets), lengths, axis=0)

        # Only the nonzero entries of Q and K enter the scores, so a one-hot
        # key reads its coordinate exactly.
        query_support = np.flatnonzero(self.query[0])
        key_support = np.flatnonzero(self.key[0])
        query_values = tokens[:, query_support] @ self.query[0, query_support]
        key_values = tokens[:, key_support] @ self.key[0, key_support]

        if getattr(self, "attention", "hardmax") == "softmax":
            return self._softmax_attend(values, query_values, key_values, offsets)

        result = whole_mean
        for sign, extreme in ((1.0, np.maximum), (-1.0, np.minimum)):
            attends = sign * query_values > 0
            if not attends.any():
                continue
            leader_value = extreme.reduceat(key_values, offsets[:-1])
            is_leader = key_values == np.repeat(leader_value, lengths)
            leader_mean = np.add.reduceat(
                values * is_leader[:, None], offsets[:-1], axis=0
            ) / np.add.reduceat(is_leader.astype(np.float64), offsets[:-1])[:, None]
            leader_mean = np.repeat(leader_mean, lengths, axis=0)
            result = np.where(attends[:, None], leader_mean, result)
        return result

    def _softmax_attend(self, values, query_values, key_values, offsets):
        """Average values with weights ``softmax(q_i k_l / temperature)``.

        The query must be constant within each sequence, as it is for the
        leader heads of the construction, which read the constant coordinate.
        The weights are then the same for every token of a sequence.
        """
        starts = offsets[:-1]
        lengths = np.diff(offsets)
        query_per_sequence = query_values[starts]
        if not np.array_equal(query_values, np.repeat(query_per_sequence, lengths)):
            raise ValueError(
                "A softmax head needs a query that is constant within each "
                "sequence; this head's query varies."
            )
        logits = np.repeat(query_per_sequence, lengths) * key_values / self.temperature
        logits -= np.repeat(np.maximum.reduceat(logits, starts), lengths)
        weights = np.exp(logits)
        totals = np.add.reduceat(weights, starts)
        weighted = np.add.reduceat(values * weights[:, None], starts, axis=0)
        return np.repeat(weighted / totals[:, None], lengths, axis=0)

    def __repr__(self):
        return (
            f"AttentionHead(rank={self.rank}, "
            f"value_coordinates={self.value_coordinates.tolist()})"
        )


class HardmaxAttention:
    """Multi-head hardmax self-attention layer.

    Every head reads the same tokens and the heads' updates are summed. Heads
    must write disjoint coordinates, so the sum is a set of assignments. A
    layer with no heads is the identity.

    Parameters
    ----------
    heads : list of AttentionHead
        The heads, all on tokens of width ``dim``.
    dim : int
        Token width.

    Examples
    --------
    A mean head on coordinate 0 and a max head on coordinate 1, with the
    constant 1 in coordinate 2:

    >>> import numpy as np
    >>> from sklearn_hardmax import AttentionHead, HardmaxAttention
    >>> tokens = np.array(
    ...     [[1.0, 1.0, 1.0], [3.0, 3.0, 1.0], [5.0, 5.0, 1.0], [0.0, 0.0, 1.0]]
    ... )
    >>> offsets = np.array([0, 3, 4])
    >>> mean_head = AttentionHead(np.zeros((0, 3)), np.zeros((0, 3)), [0])
    >>> max_head = AttentionHead([[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]], [1])
    >>> attention = HardmaxAttention([mean_head, max_head], dim=3)
    >>> attention.forward(tokens, offsets)
    array([[3., 5., 1.],
           [3., 5., 1.],
           [3., 5., 1.],
           [0., 0., 1.]])

    Heads that write the same coordinate are rejected:

    >>> HardmaxAttention([mean_head, mean_head], dim=3)
    Traceback (most recent call last):
        ...
    ValueError: The heads of one layer must write disjoint coordinates.
    """

    def __init__(self, heads, dim):
        self.heads = tuple(heads)
        self.dim = int(dim)
        if not self.heads:
            return
        written = []
        for head in self.heads:
            if head.query.shape[1] != self.dim:
                raise ValueError(
                    f"Every head must act on tokens of width {self.dim}, got "
                    f"{head.query.shape[1]}."
                )
            written.append(head.value_coordinates)
        written = np.concatenate(written)
        if np.unique(written).size != written.size:
            raise ValueError("The heads of one layer must write disjoint coordinates.")

    @property
    def n_params(self):
        """Number of nonzero weights over all heads."""
        return sum(head.n_params for head in self.heads)

    def forward_first(self, tokens, offsets):
        """Return the updated first token of every sequence, (n_sequences, dim)."""
        first = tokens[offsets[:-1]].copy()
        for head in self.heads:
            first[:, head.value_coordinates] = head.attend(tokens, offsets, first_only=True)
        return first

    def forward(self, tokens, offsets):
        """Apply every head to the ragged batch ``(tokens, offsets)``."""
        if not self.heads:
            return tokens
        updated = tokens.copy()
        for head in self.heads:
            updated[:, head.value_coordinates] = head.attend(tokens, offsets)
        return updated

    def __repr__(self):
        return f"HardmaxAttention(n_heads={len(self.heads)})"


class Block:
    """One transformer block: a feed-forward layer, then an attention layer.

    Parameters
    ----------
    feed_forward : FeedForward
    attention : HardmaxAttention

    Examples
    --------
    A feed-forward unit with ``U = 0`` adds 10 to coordinate 0 of every
    token, and the attention layer then pools coordinate 0 by its mean and
    coordinate 1 by its maximum:

    >>> import numpy as np
    >>> from sklearn_hardmax import AttentionHead, Block, FeedForward, HardmaxAttention
    >>> shift = FeedForward(np.zeros((1, 3)), [10.0], [[1.0], [0.0], [0.0]])
    >>> mean_head = AttentionHead(np.zeros((0, 3)), np.zeros((0, 3)), [0])
    >>> max_head = AttentionHead([[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]], [1])
    >>> block = Block(shift, HardmaxAttention([mean_head, max_head], dim=3))
    >>> tokens = np.array(
    ...     [[1.0, 1.0, 1.0], [3.0, 3.0, 1.0], [5.0, 5.0, 1.0], [0.0, 0.0, 1.0]]
    ... )
    >>> block.forward(tokens, np.array([0, 3, 4]))
    array([[13.,  5.,  1.],
           [13.,  5.,  1.],
           [13.,  5.,  1.],
           [10.,  0.,  1.]])
    >>> block
    Block(FeedForward(width=1), HardmaxAttention(n_heads=2))
    >>> block.n_params
    6
    """

    def __init__(self, feed_forward, attention):
        self.feed_forward = feed_forward
        self.attention = attention

    @property
    def n_params(self):
        """Number of nonzero weights in both layers."""
        return self.feed_forward.n_params + self.attention.n_params

    def forward(self, tokens, offsets):
        """Apply the feed-forward layer, then the attention layer."""
        return self.attention.forward(self.feed_forward.forward(tokens), offsets)

    def __repr__(self):
        return f"Block({self.feed_forward!r}, {self.attention!r})"


@dataclass(frozen=True)
class TokenLayout:
    """Positions of the registers inside a token of the hardmax transformer.

    A token contains the following, in this order. First come one copy of the
    embedded features for every pooling kind and the proportion features
    (mean-pooled ramps of the convolution embedding, absent otherwise). Then
    come a constant coordinate equal to 1, the separation coordinates, the raw
    coordinates, the scratch coordinates (one per separation witness) and one
    score coordinate per class. The raw
    coordinates are an exact copy of the input token, followed by its relative
    position when the embedding has positional features. Separation bumps read
    them because standardization can round distinct tokens to one value.

    Parameters
    ----------
    n_embedded : int
        Number of embedded features per register.
    pooling : tuple of str
        Pooling kinds, one register each, drawn from "mean", "max", "min".
    n_separation : int
        Number of separation coordinates.
    n_scratch : int
        Number of scratch coordinates.
    n_classes : int
        Number of score coordinates.
    n_raw : int, default=0
        Number of raw coordinates.
    n_proportions : int, default=0
        Number of proportion features.

    Examples
    --------
    >>> from sklearn_hardmax import TokenLayout
    >>> layout = TokenLayout(
    ...     n_embedded=2,
    ...     pooling=("mean", "max"),
    ...     n_separation=4,
    ...     n_scratch=1,
    ...     n_classes=3,
    ...     n_raw=2,
    ... )
    >>> layout.register("mean").tolist(), layout.register("max").tolist()
    ([0, 1], [2, 3])
    >>> layout.constant
    4
    >>> layout.separation.tolist(), layout.raw.tolist(), layout.scratch.tolist()
    ([5, 6, 7, 8], [9, 10], [11])
    >>> layout.scores.tolist()
    [12, 13, 14]
    >>> layout.pooled.tolist()
    [0, 1, 2, 3, 5, 6, 7, 8]
    >>> layout.dim
    15
    """

    n_embedded: int
    pooling: tuple
    n_separation: int
    n_scratch: int
    n_classes: int
    n_raw: int = 0
    n_proportions: int = 0

    def register(self, kind):
        """Return the coordinates of the register of pooling ``kind``."""
        start = self.pooling.index(kind) * self.n_embedded
        return np.arange(start, start + self.n_embedded)

    @property
    def proportions(self):
        """Indices of the proportion features."""
        start = len(self.pooling) * self.n_embedded
        return np.arange(start, start + self.n_proportions)

    @property
    def constant(self):
        """Index of the constant coordinate."""
        return len(self.pooling) * self.n_embedded + self.n_proportions

    @property
    def separation(self):
        """Indices of the separation coordinates."""
        return np.arange(self.constant + 1, self.constant + 1 + self.n_separation)

    @property
    def raw(self):
        """Indices of the raw coordinates."""
        start = self.constant + 1 + self.n_separation
        return np.arange(start, start + self.n_raw)

    @property
    def scratch(self):
        """Indices of the scratch coordinates."""
        start = self.constant + 1 + self.n_separation + self.n_raw
        return np.arange(start, start + self.n_scratch)

    @property
    def scores(self):
        """Indices of the class-score coordinates."""
        start = self.constant + 1 + self.n_separation + self.n_raw + self.n_scratch
        return np.arange(start, start + self.n_classes)

    @property
    def pooled(self):
        """Coordinates that vary between sequences after pooling."""
        registers_and_proportions = np.arange(self.constant)
        return np.concatenate([registers_and_proportions, self.separation])

    @property
    def dim(self):
        """Token width."""
        return (
            len(self.pooling) * self.n_embedded
            + self.n_proportions
            + 1
            + self.n_separation
            + self.n_raw
            + self.n_scratch
            + self.n_classes
        )


class Embedding:
    """Token-wise embedding: standardization, positional features, layout.

    A token ``x`` at position ``t`` of a sequence of ``n`` tokens is first
    standardized, ``u = (x - mean) / scale``, then extended with cosine
    features ``[u, u cos(pi tau), ..., u cos(K pi tau)]`` with
    ``tau = t / (n - 1)`` (``tau = 0`` when ``n = 1``). Mean pooling of these
    features gives, for every feature, the averages of ``u cos(k pi tau)``
    over the sequence for ``k = 0, ..., K``, which are cosine coefficients of
    the feature over relative time. The embedded features are copied into
    every register, the constant coordinate is set to 1, the raw coordinates
    (if the layout has them) receive ``x`` and, with positional features,
    ``tau``, and every other coordinate is 0.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
    n_moments : int
        The number ``K`` of cosine features; 0 makes the model ignore order.
    layout : TokenLayout

    Examples
    --------
    One feature standardized with mean 1 and scale 2, one cosine moment and a
    single mean register. The token at relative position ``tau = 0.5`` has
    ``cos(pi tau) = 0`` up to rounding, and its standardized value is 0:

    >>> import numpy as np
    >>> from sklearn_hardmax import Embedding, TokenLayout
    >>> layout = TokenLayout(
    ...     n_embedded=2, pooling=("mean",), n_separation=0, n_scratch=0, n_classes=2
    ... )
    >>> embedding = Embedding(mean=[1.0], scale=[2.0], n_moments=1, layout=layout)
    >>> tokens = np.array([[3.0], [1.0], [5.0]])
    >>> offsets = np.array([0, 3])
    >>> Embedding.positions(offsets)
    array([0. , 0.5, 1. ])
    >>> embedding.features(tokens, offsets)
    array([[ 1.,  1.],
           [ 0.,  0.],
           [ 2., -2.]])

    ``forward`` writes the features into the register, sets the constant
    coordinate 2 to 1 and leaves the two score coordinates at 0:

    >>> embedding.forward(tokens, offsets)
    array([[ 1.,  1.,  1.,  0.,  0.],
           [ 0.,  0.,  1.,  0.,  0.],
           [ 2., -2.,  1.,  0.,  0.]])
    """

    def __init__(self, mean, scale, n_moments, layout):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = _check_matrix("scale", scale, self.mean.shape)
        self.n_moments = int(n_moments)
        self.layout = layout
        expected = self.mean.size * (self.n_moments + 1)
        if layout.n_embedded != expected:
            raise ValueError(
                f"layout.n_embedded must be {expected} for {self.mean.size} "
                f"features and {self.n_moments} moments, got {layout.n_embedded}."
            )

    @property
    def n_features(self):
        """Number of input features per token."""
        return self.mean.size

    @property
    def n_params(self):
        """Nonzero weights: standardization, copies, constant."""
        copies = self.layout.n_embedded * len(self.layout.pooling) + self.layout.n_raw
        return int(
            np.count_nonzero(self.mean) + np.count_nonzero(self.scale) + copies + 1
        )

    @property
    def positional(self):
        """Whether the embedding depends on token positions."""
        return self.n_moments > 0

    @staticmethod
    def positions(offsets):
        """Return the relative position ``tau`` in [0, 1] of every token."""
        lengths = np.diff(offsets)
        position = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
        last = np.repeat(np.maximum(lengths - 1, 1), lengths)
        return position / last

    def raw_features(self, tokens, offsets):
        """Return the raw coordinates: the tokens, then ``tau`` if positional."""
        if not self.positional:
            return tokens
        return np.hstack([tokens, self.positions(offsets)[:, None]])

    def features(self, tokens, offsets):
        """Return the embedded features (n_tokens, n_embedded) of a batch."""
        if self.n_moments == 0:
            return (tokens - self.mean) / self.scale
        n_tokens = tokens.shape[0]
        # Computed feature by feature into one array, so every step runs over
        # whole rows of tokens without temporaries. The result is a
        # transposed view.
        by_feature = np.empty((self.n_moments + 1, self.mean.size, n_tokens))
        standardized = by_feature[0]
        np.subtract(tokens.T, self.mean[:, None], out=standardized)
        np.divide(standardized, self.scale[:, None], out=standardized)
        lengths = np.diff(offsets)
        if lengths.size and np.all(lengths == lengths[0]):
            # Every sequence has the same positions, so the cosines of one
            # sequence serve all. They equal those computed from ``positions``.
            length = int(lengths[0])
            tau = np.arange(length) / max(length - 1, 1)
            shape = (self.mean.size, lengths.size, length)
            for moment in range(1, self.n_moments + 1):
                np.multiply(
                    standardized.reshape(shape),
                    np.cos(moment * np.pi * tau),
                    out=by_feature[moment].reshape(shape),
                )
        else:
            tau = self.positions(offsets)
            for moment in range(1, self.n_moments + 1):
                np.multiply(standardized, np.cos(moment * np.pi * tau), out=by_feature[moment])
        return by_feature.reshape(-1, n_tokens).T

    def forward(self, tokens, offsets, coordinates=None, features=None):
        """Return the embedded tokens (n_tokens, layout.dim) of a batch.

        With ``coordinates``, an increasing array of token coordinates, return
        only those columns, without computing the others. ``features``, if
        given, are ``self.features(tokens, offsets)``, computed before.
        """
        if coordinates is None:
            coordinates = np.arange(self.layout.dim)
        column_of = np.full(self.layout.dim, -1)
        column_of[coordinates] = np.arange(len(coordinates))

        def write(target, values):
            columns = column_of[target]
            requested = columns >= 0
            if requested.all() and np.all(np.diff(columns) == 1):
                # A block of consecutive columns: a slice avoids fancy indexing.
                embedded[:, columns[0] : columns[-1] + 1] = values
            else:
                embedded[:, columns[requested]] = values[:, requested]

        if features is None:
            features = self.features(tokens, offsets)
        embedded = np.zeros((tokens.shape[0], len(coordinates)))
        for kind in self.layout.pooling:
            write(self.layout.register(kind), features)
        write(np.array([self.layout.constant]), np.ones((tokens.shape[0], 1)))
        if self.layout.n_raw:
            write(self.layout.raw, self.raw_features(tokens, offsets))
        return embedded


class Readout:
    """Linear map from the final token to class scores: ``s = R z + r``.

    Parameters
    ----------
    weight : array-like of shape (n_classes, dim)
    bias : array-like of shape (n_classes,)
        A bias of ``-inf`` makes a class lose at every input.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hardmax import Readout
    >>> readout = Readout(weight=[[1.0, 0.0], [0.0, 1.0]], bias=[0.0, -np.inf])
    >>> readout.forward(np.array([[2.0, 5.0]]))
    array([[  2., -inf]])
    >>> readout.n_params
    3
    """

    def __init__(self, weight, bias):
        self.weight = np.asarray(weight, dtype=np.float64)
        self.bias = _check_matrix("bias", bias, (self.weight.shape[0],))

    @property
    def n_params(self):
        """Number of nonzero weights."""
        return int(np.count_nonzero(self.weight) + np.count_nonzero(self.bias))

    def forward(self, tokens):
        """Return the class scores (n_tokens, n_classes) of ``tokens``."""
        return tokens @ self.weight.T + self.bias


class HardmaxTransformer:
    """Embedding, a stack of blocks and a linear readout.

    Parameters
    ----------
    embedding : Embedding
    blocks : list of Block
    readout : Readout
    pooling_block : int or None, default=None
        Index of the block after which every token of a sequence is
        identical. When it is set, the forward pass carries one token per
        sequence past it. None runs every block on every token.
    fused_readout : bool, default=True
        Whether the blocks after ``pooling_block`` are running-maximum
        readout blocks (each unit writes one score coordinate) to evaluate in
        fused form. False runs them one after the other, as a linear readout
        block needs.

    Attributes
    ----------
    layout : TokenLayout
        The register layout of the tokens.

    Examples
    --------
    A network built by hand for tokens of one feature. Its single block mean
    pools the feature, and the readout scores class 0 with minus the mean
    and class 1 with the mean:

    >>> import numpy as np
    >>> from sklearn_hardmax import (
    ...     AttentionHead, Block, Embedding, FeedForward, HardmaxAttention,
    ...     HardmaxTransformer, Readout, TokenLayout,
    ... )
    >>> layout = TokenLayout(
    ...     n_embedded=1, pooling=("mean",), n_separation=0, n_scratch=0, n_classes=2
    ... )
    >>> embedding = Embedding(mean=[0.0], scale=[1.0], n_moments=0, layout=layout)
    >>> no_rows = np.zeros((0, layout.dim))
    >>> mean_head = AttentionHead(no_rows, no_rows, layout.register("mean"))
    >>> pooling = Block(
    ...     FeedForward.identity(layout.dim), HardmaxAttention([mean_head], layout.dim)
    ... )
    >>> weight = np.zeros((2, layout.dim))
    >>> weight[0, 0], weight[1, 0] = -1.0, 1.0
    >>> network = HardmaxTransformer(embedding, [pooling], Readout(weight, [0.0, 0.0]))
    >>> network
    HardmaxTransformer(n_blocks=1, dim=4, n_params=6)

    Every output token of a sequence is its mean followed by the constant
    coordinate and the two score coordinates:

    >>> X = [np.array([[-2.0], [1.0]]), np.array([[3.0], [-1.0], [4.0]])]
    >>> network.forward(X)[1]
    array([[2., 1., 0., 0.],
           [2., 1., 0., 0.],
           [2., 1., 0., 0.]])

    ``class_scores`` takes the ragged batch of the stacked tokens and the
    offsets at which the sequences start:

    >>> network.class_scores(np.vstack(X), np.array([0, 2, 5]))
    array([[ 0.5, -0.5],
           [-2. ,  2. ]])
    """

    def __init__(
        self, embedding, blocks, readout, *, pooling_block=None, fused_readout=True
    ):
        self.embedding = embedding
        self.blocks = tuple(blocks)
        self.readout = readout
        self.pooling_block = pooling_block
        self.fused_readout = fused_readout
        self.layout = embedding.layout
        self._fused_readout = None
        self._fused_front = None

    def __getstate__(self):
        # The fused readout and front are caches derived from the blocks,
        # rebuilt on use.
        state = self.__dict__.copy()
        state["_fused_readout"] = None
        state["_fused_front"] = None
        return state

    def _pooling_front(self):
        """Return what ``_pool_chunk`` evaluates: the fused front if it applies."""
        blocks = self.blocks[: self.pooling_block + 1]
        if getattr(self, "_fused_front", None) is None:
            # Imported here because _pooling builds on this module's layers.
            from ._pooling import build_fused_front

            self._fused_front = build_fused_front(self.embedding, blocks) or False
        return self._fused_front or (self.embedding, blocks)

    @property
    def n_blocks(self):
        """Number of blocks."""
        return len(self.blocks)

    @property
    def n_params(self):
        """Exact number of nonzero weights in the whole network."""
        return (
            self.embedding.n_params
            + sum(block.n_params for block in self.blocks)
            + self.readout.n_params
        )

    def _sequence_batches(self, offsets):
        """Split sequences into chunks whose embedded tokens fit in memory.

        The boundaries depend only on the lengths and on scikit-learn's
        ``working_memory``, never on the number of jobs, so every setting of
        ``n_jobs`` computes the same chunks and the same results.
        """
        lengths = np.diff(offsets)
        if lengths.size == 0:
            return []
        row_bytes = 8 * self.layout.dim * max(int(lengths.mean()), 1) * 4
        size = min(chunk_rows(row_bytes, lengths.size), SEQUENCES_PER_CHUNK)
        return batch_slices(lengths.size, size)

    def pooled_tokens(self, tokens, offsets, n_jobs=None, features=None):
        """Return the pooled token of every sequence of a ragged batch.

        Chunks of sequences run in parallel with joblib when ``n_jobs``
        requests it. Each sequence is reduced on its own, so the result does not
        depend on the chunking. A sequence too long to pool in this machine's
        memory raises a ValueError before any work starts, and one whose
        pooled token overflows float64 raises a ValueError too.

        ``features``, if given, must be ``self.embedding.features(tokens,
        offsets)``. The pass then reads them instead of computing them again.
        The embedding computes each sequence's features bitwise the same
        alone as in any batch, so the result is unchanged. Chunks sent to
        joblib workers compute their own features instead, which costs less
        than sending them.
        """
        self._check_sequence_memory(offsets)
        front = self._pooling_front()
        batches = self._sequence_batches(offsets)
        if len(batches) > 1 and effective_n_jobs(n_jobs) != 1:
            features = None
        chunks = _run_chunks(n_jobs)(
            delayed(_pool_chunk)(
                front,
                tokens[offsets[batch.start] : offsets[batch.stop]],
                offsets[batch.start : batch.stop + 1] - offsets[batch.start],
                None if features is None else features[offsets[batch.start] : offsets[batch.stop]],
            )
            for batch in batches
        )
        if not chunks:
            return np.zeros((0, self.layout.dim))
        pooled = np.vstack(chunks)
        finite = np.isfinite(pooled).all(axis=1)
        if not finite.all():
            sequence = int(np.flatnonzero(~finite)[0])
            largest = np.abs(tokens[offsets[sequence] : offsets[sequence + 1]]).max()
            raise ValueError(
                f"The network overflows float64 on sequence {sequence}: its pooled "
                f"token is not finite. Its largest absolute input value is "
                f"{largest:.6g}, probably far outside the range of the training "
                "data. Rescale the input to the range the model was fitted on."
            )
        return pooled

    def _check_sequence_memory(self, offsets):
        """Raise if pooling the longest sequence would exceed physical memory."""
        check_sequence_memory(offsets, self.layout.dim, self._pooling_front)

    def _build_fused_readout(self):
        """Collect the running-maximum units of the readout blocks.

        Every readout unit that adds its activation to score coordinate c
        computes ``relu(l_b(p) - score_c)`` or, for the first prototype of c,
        ``relu(l_b(p))``. Here ``l_b(p) = 2 <pi_b, p> - |pi_b|^2`` reads only
        the pooled coordinates, so the blocks compute
        ``score_c = max_b l_b(p)``. Returns the rows of ``l_b`` and the
        boundaries of each class's units.
        """
        score_coordinates = self.layout.scores
        is_score = np.zeros(self.layout.dim, dtype=bool)
        is_score[score_coordinates] = True
        rows, biases, classes = [], [], []
        group = []

        def read_group():
            # The units of a group of blocks side by side, checked and read
            # at once: one block at a time cost 25 microseconds a block.
            indices, weights_in, weights_out, unit_biases = zip(*group)
            weight_in = np.concatenate(weights_in)
            weight_out = np.concatenate(weights_out, axis=1)
            bias = np.concatenate(unit_biases)
            block_of_unit = np.repeat(indices, [part.size for part in unit_biases])
            nonzero = weight_out != 0
            written = nonzero.argmax(axis=0)
            invalid = (nonzero.sum(axis=0) != 1) | ~is_score[written]
            if invalid.any():
                unit = int(np.flatnonzero(invalid)[0])
                block = int(block_of_unit[unit])
                first_of_block = int(np.searchsorted(block_of_unit, block))
                raise ValueError(
                    f"Unit {unit - first_of_block} of readout block {block} does "
                    "not write exactly one score coordinate."
                )
            # A negative weight marks the relu(-l) half of a first-prototype pair.
            adding = weight_out[written, np.arange(bias.size)] > 0
            rows.append(np.where(is_score, 0.0, weight_in[adding]))
            biases.append(bias[adding])
            classes.append(np.searchsorted(score_coordinates, written[adding]))
            group.clear()

        n_grouped = 0
        for index, block in enumerate(self.blocks[self.pooling_block + 1 :]):
            layer = block.feed_forward
            if block.attention.heads:
                # The blocks before it are checked first, so errors name the
                # first bad block in order.
                if group:
                    read_group()
                raise ValueError(
                    f"Readout block {index} has attention heads; only feed-forward "
                    "readout blocks can be fused."
                )
            if layer.width == 0:
                continue
            weight_in, weight_out = layer.weight_in, layer.weight_out
            if issparse(weight_out):
                weight_in, weight_out = weight_in.toarray(), weight_out.toarray()
            group.append((index, weight_in, weight_out, layer.bias))
            n_grouped += layer.width
            # A group's dense output weights take dim * FUSED_GROUP_UNITS values.
            if n_grouped >= FUSED_GROUP_UNITS:
                read_group()
                n_grouped = 0
        if group:
            read_group()
        classes = np.concatenate(classes) if classes else np.zeros(0, dtype=np.intp)
        biases = np.concatenate(biases) if biases else np.zeros(0)
        rows = np.concatenate(rows) if rows else np.zeros((0, self.layout.dim))
        order = np.argsort(classes, kind="stable")
        rows = rows[order]
        columns = np.flatnonzero(rows.any(axis=0))
        present, starts = np.unique(classes[order], return_index=True)
        self._fused_readout = {
            "affine": fused_affine(rows[:, columns], biases[order]),
            "columns": columns,
            "classes": present,
            "starts": starts,
        }

    def _apply_readout_blocks(self, pooled, n_jobs=None):
        """Apply the readout blocks to pooled tokens in their fused form.

        Pre-activations are computed in chunks that fit in scikit-learn's
        ``working_memory``, so no (n_sequences, n_prototypes) matrix is
        allocated at once. Chunks run in parallel with joblib when ``n_jobs``
        requests it. Their boundaries do not depend on ``n_jobs``. Without
        ``fused_readout`` the blocks run one after the other on the pooled
        tokens.
        """
        if not getattr(self, "fused_readout", True):
            blocks = self.blocks[self.pooling_block + 1 :]
            size = min(chunk_rows(8 * self.layout.dim * 4, pooled.shape[0]), SEQUENCES_PER_CHUNK)
            batches = batch_slices(pooled.shape[0], size)
            chunks = _run_chunks(n_jobs)(
                delayed(_run_blocks)(blocks, pooled[batch]) for batch in batches
            )
            return np.vstack(chunks) if chunks else pooled.copy()
        if self._fused_readout is None:
            self._build_fused_readout()
        fused = self._fused_readout
        result = pooled.copy()
        if fused["classes"].size == 0:
            return result
        score_columns = self.layout.scores[fused["classes"]]
        size = min(chunk_rows(8 * fused["affine"].shape[0], pooled.shape[0]), SEQUENCES_PER_CHUNK)
        batches = batch_slices(pooled.shape[0], size)
        maxima = _run_chunks(n_jobs)(
            delayed(_fused_maxima)(pooled[batch][:, fused["columns"]], fused)
            for batch in batches
        )
        if maxima:
            result[:, score_columns] = np.vstack(maxima)
        return result

    def final_tokens(self, tokens, offsets, n_jobs=None):
        """Return the final token of every sequence, shape (n_sequences, dim).

        After pooling every token of a sequence is identical, so one token per
        sequence is carried through the readout blocks.
        """
        if self.pooling_block is None:
            return self._forward_states(tokens, offsets)[-1][offsets[:-1]]
        pooled = self.pooled_tokens(tokens, offsets, n_jobs=n_jobs)
        return self._apply_readout_blocks(pooled, n_jobs=n_jobs)

    def class_scores(self, tokens, offsets, n_jobs=None):
        """Return the readout's class scores (n_sequences, n_classes)."""
        return self.readout.forward(self.final_tokens(tokens, offsets, n_jobs=n_jobs))

    def _forward_states(self, tokens, offsets):
        """Run every layer on every token and return the state after each."""
        states = [self.embedding.forward(tokens, offsets)]
        for block in self.blocks:
            states.append(block.feed_forward.forward(states[-1]))
            states.append(block.attention.forward(states[-1], offsets))
        return states

    def forward(self, X, return_states=False):
        """Run the network on a list of sequences.

        Parameters
        ----------
        X : list of array-like of shape (n_tokens_i, n_features)
            The sequences.
        return_states : bool, default=False
            If True, run every layer on every token, the readout blocks one
            after the other as stored, and also return the token states after
            the embedding and after every layer. If False, evaluate the
            readout blocks in fused form, as ``predict`` does.

        Returns
        -------
        outputs : list of ndarray of shape (n_tokens_i, dim)
            The output tokens of every sequence.
        states : list of list of ndarray, only if ``return_states`` is True
            ``states[k][i]`` contains the tokens of sequence ``i`` after layer
            ``k``: ``k = 0`` is the embedding, then the feed-forward and the
            attention layer of every block in turn.
        """
        sequences = [np.asarray(sequence, dtype=np.float64) for sequence in X]
        for index, sequence in enumerate(sequences):
            if sequence.ndim != 2 or sequence.shape[1] != self.embedding.n_features:
                raise ValueError(
                    f"Sequence {index} has shape {sequence.shape}; expected "
                    f"(n_tokens, {self.embedding.n_features})."
                )
            if sequence.shape[0] == 0:
                raise ValueError(f"Sequence {index} is empty.")
        lengths = np.array([sequence.shape[0] for sequence in sequences])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        tokens = np.vstack(sequences) if sequences else np.zeros((0, 0))
        if return_states:
            states = self._forward_states(tokens, offsets)
            split = [np.split(state, offsets[1:-1]) for state in states]
            return split[-1], split
        final = np.repeat(self.final_tokens(tokens, offsets), lengths, axis=0)
        return np.split(final, offsets[1:-1])

    def __repr__(self):
        return (
            f"HardmaxTransformer(n_blocks={self.n_blocks}, dim={self.layout.dim}, "
            f"n_params={self.n_params})"
        )
