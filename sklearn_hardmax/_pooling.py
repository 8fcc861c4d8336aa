"""Pooling pass that never builds full-width tokens for mean-pooled features.

The convolution embedding's ramp units fill the proportion coordinates, most
of a token's width, and only the mean head of the pooling layer reads them.
The registers of the moments embedding under mean pooling are read by the
mean head alone too, and the layers only add constants to them.
``FusedFront`` evaluates the embedding and the blocks up to pooling on the
other coordinates, with the same layers restricted to them. It computes the
proportion features of a few sequences at a time, straight from the weights
of the ramp units, takes those registers from the embedded features, and
keeps only their sequence means. Coordinates that contain one value for
every token, such as the constant coordinate, are computed once.

Every value goes through the same floating-point operations, in the same
order, as in the full-width layers. ``sparse_product`` sums each row in its
stored order, and restricting a layer to some coordinates keeps that order.
The ramp units each read one coordinate and write with weight +1 or -1. The
pooled tokens are therefore bitwise equal to those of the full-width pass,
which the tests check.
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_array, csr_array, issparse

from ._model import (
    AttentionHead,
    FeedForward,
    _segment_mean,
    sequence_batches,
    sparse_product,
)

# Tokens per batch of the proportion computation. Its temporary arrays then
# take about 3 * 8 * RAMP_TOKENS bytes per ramp unit, 24 MiB for the 4032
# ramp units of the default convolution embedding on Japanese Vowels.
RAMP_TOKENS = 256


class _Ramps:
    """Units that each read one coordinate and write proportion features.

    Proportion feature ``p`` is the sum over ``r`` in order of
    ``weights[r, p] * relu(slopes[r, p] * z[reads[r, p]] + biases[r, p])``,
    one term for each unit that writes it, as the stored layer sums them.
    Slots past a feature's own units have weight 0, which adds exactly 0.
    """

    def __init__(self, reads, slopes, biases, weights):
        self.reads = reads
        self.slopes = slopes
        self.biases = biases
        self.weights = weights

    def values(self, state, columns=slice(None)):
        """Return the proportion features ``columns`` of every token of ``state``.

        The result is a transposed view, computed coordinate by coordinate so
        that every step reads whole rows. A slot that reads the same
        coordinates with the same slopes as the one before reuses its
        products, which are the same numbers.
        """
        by_coordinate = np.ascontiguousarray(state.T)
        reads = self.reads[:, columns]
        slopes = self.slopes[:, columns]
        features = None
        for slot in range(reads.shape[0]):
            reuse = (
                slot > 0
                and np.array_equal(reads[slot], reads[slot - 1])
                and np.array_equal(slopes[slot], slopes[slot - 1])
            )
            if not reuse:
                # The sparse product computes 0 + slope * z.
                scaled = by_coordinate[reads[slot]]
                scaled *= slopes[slot][:, None]
            activations = scaled + self.biases[slot, columns][:, None]
            np.maximum(activations, 0.0, out=activations)
            weights = self.weights[slot, columns]
            # Multiplying by +1 or -1 is exact, so adding or subtracting the
            # activations gives the same numbers as the weighted sum.
            if np.all(weights == 1.0):
                terms, sign = activations, 1.0
            elif np.all(weights == -1.0):
                terms, sign = activations, -1.0
            else:
                terms, sign = activations * weights[:, None], 1.0
            if features is None:
                # The sparse output product starts every row sum from 0.
                features = 0.0 + terms if sign > 0 else 0.0 - terms
            elif sign > 0:
                features += terms
            else:
                features -= terms
        return features.T


def _extract_ramps(layer, is_proportion, column_of):
    """Split ``layer`` into its ramp units and a layer of the other units.

    Returns ``(None, restricted layer)`` when no unit writes a proportion
    feature, and
    ``(False, None)`` when the ramp units do not have the structure that
    ``_Ramps`` evaluates.
    """
    # Column u of W in CSC form lists the coordinates unit u writes.
    writes = csc_array(layer.weight_out)
    unit_of_entry = np.repeat(np.arange(layer.width), np.diff(writes.indptr))
    written_proportions = np.bincount(
        unit_of_entry, weights=is_proportion[writes.indices], minlength=layer.width
    )
    is_ramp = written_proportions > 0
    if not is_ramp.any():
        return None, _restrict(layer, np.arange(layer.width), column_of >= 0)
    if np.any(written_proportions[is_ramp] != np.diff(writes.indptr)[is_ramp]):
        return False, None
    weight_in = csr_array(layer.weight_in)
    if np.any(np.diff(weight_in.indptr)[is_ramp] != 1):
        return False, None
    ramp_units = np.flatnonzero(is_ramp)

    # Row slicing keeps each row's stored order, which fixes the order of
    # the row sums.
    proportions = np.flatnonzero(is_proportion)
    rows = csr_array(layer.weight_out)[proportions]
    if np.any(np.abs(rows.data) != 1.0):
        return False, None
    counts = np.diff(rows.indptr)
    n_slots = max(int(counts.max()), 1)
    units = np.full((n_slots, proportions.size), ramp_units[0])
    weights = np.zeros((n_slots, proportions.size))
    for rank in range(n_slots):
        has = counts > rank
        entries = rows.indptr[:-1][has] + rank
        units[rank, has] = rows.indices[entries]
        weights[rank, has] = rows.data[entries]
    first_entry = weight_in.indptr[units]
    ramps = _Ramps(
        column_of[weight_in.indices[first_entry]],
        weight_in.data[first_entry],
        layer.bias[units],
        weights,
    )
    return ramps, _restrict(layer, np.flatnonzero(~is_ramp), column_of >= 0)


def _restrict(layer, units, in_state):
    """Return ``layer`` with only ``units``, on the coordinates of ``in_state``.

    ``in_state`` is a boolean mask of the coordinates that the restricted
    layer reads and writes. Slicing keeps the stored order of the entries
    within each row.
    """
    coordinates = np.flatnonzero(in_state)
    if units.size == 0:
        return FeedForward.identity(coordinates.size)
    weight_in = csr_array(layer.weight_in)[units][:, coordinates]
    weight_out = csr_array(layer.weight_out)[coordinates][:, units]
    return FeedForward(csr_array(weight_in), layer.bias[units], csr_array(weight_out))


def _restrict_head(head, column_of):
    """Return ``head`` acting on the coordinates that ``column_of`` maps."""
    in_state = column_of >= 0
    return AttentionHead(
        head.query[:, in_state],
        head.key[:, in_state],
        column_of[head.value_coordinates],
        attention=getattr(head, "attention", "hardmax"),
        temperature=getattr(head, "temperature", None),
    )


# eq=False: the fields are arrays, which compare element by element.
@dataclass(eq=False)
class FusedFront:
    """The embedding and the blocks up to pooling, mean-pooled features apart.

    Built by ``build_fused_front``, which checks that the network has the
    structure this evaluation relies on.

    Parameters
    ----------
    embedding : ConvolutionEmbedding or Embedding
    others : ndarray of int
        The token coordinates computed for every token as a narrow state:
        all but the proportion features, the pass-through registers and the
        constant coordinates.
    layers : list of FeedForward
        Every feed-forward layer up to pooling, restricted to ``others`` and
        without the ramp units.
    ramps : _Ramps or None
    ramp_layer : int or None
        Index in ``layers`` of the layer that held the ramp units.
    increment : ndarray of shape (n_proportions,)
        What the pooling block's feed-forward layer adds to every proportion.
    heads : list of (AttentionHead, ndarray)
        The pooling heads other than the mean head, restricted to ``others``,
        each with the coordinates it writes.
    mean_head : tuple of ndarray
        The columns in the restricted state and the coordinates of the mean
        head's values in ``others``, then the proportion coordinates.
    passthrough : tuple
        The pass-through register coordinates, the embedded features they
        copy, and what each feed-forward layer with units adds to them.
    constants : tuple of ndarray
        The coordinates that contain one value for every token up to pooling
        (see ``_constant_coordinates``), and their pooled values.
    dim : int
        Width of the pooled token.
    """

    embedding: object
    others: np.ndarray
    layers: list
    ramps: object
    ramp_layer: object
    increment: np.ndarray
    heads: list
    mean_head: tuple
    passthrough: tuple
    constants: tuple
    dim: int

    @property
    def token_bytes(self):
        """Bytes per token that ``pool`` needs for one long sequence, with a margin.

        The features, the narrow state and the temporary arrays of its
        layers take about ``n_embedded + 3 * n_others + 3 * n_features``
        values, and the bound is twice that. The ramps take a bounded amount,
        see ``RAMP_TOKENS``. For sequences of 80,000 tokens of 12 features,
        tracemalloc measured 1374 and 2385 values per token where the
        estimate gives 1380 and 2391 (convolution embedding, without and with
        a max head), and less than the estimate for the moments embedding.
        """
        values = (
            self.embedding.layout.n_embedded
            + 3 * self.others.size
            + 3 * self.embedding.n_features
        )
        return 2 * 8 * values

    def pool(self, tokens, offsets, features=None):
        """Return the pooled token (n_sequences, dim) of every sequence.

        ``features``, if given, are ``self.embedding.features(tokens,
        offsets)``, computed before, and are left unchanged.
        """
        own_features = features is None
        if own_features:
            features = self.embedding.features(tokens, offsets)
        starts = offsets[:-1]
        pooled = np.zeros((starts.size, self.dim))
        constant_coordinates, constant_values = self.constants
        pooled[:, constant_coordinates] = constant_values
        if self.others.size:
            state = self.embedding.forward(
                tokens, offsets, coordinates=self.others, features=features
            )
            ramp_input = None
            for position, layer in enumerate(self.layers):
                if position == self.ramp_layer:
                    ramp_input = state
                state = layer.forward(state)
        else:
            # Nothing varies from token to token outside the features.
            state = np.zeros((tokens.shape[0], 0))
        pooled[:, self.others] = state[starts]
        for head, coordinates in self.heads:
            pooled[:, coordinates] = head.attend(state, offsets, first_only=True)
        other_columns, other_coordinates, proportion_coordinates = self.mean_head
        pooled[:, other_coordinates] = _segment_mean(state[:, other_columns], offsets)
        if self.ramps is not None:
            pooled[:, proportion_coordinates] = self._proportion_means(ramp_input, offsets)
        coordinates, feature_columns, increments = self.passthrough
        if coordinates.size:
            # The layers add each increment as tokens + increment, in order.
            # Features that this call computed are its own array, so the
            # additions write into it. A new array of that size would cost
            # page faults.
            if np.array_equal(feature_columns, np.arange(feature_columns.size)):
                values = features[:, : feature_columns.size]
                if not own_features:
                    # In the features' memory order, as when this call
                    # computes them: the order of reduceat's sums can
                    # depend on it.
                    values = values.copy(order="K")
            else:
                values = features[:, feature_columns]
            for increment in increments:
                np.add(values, increment, out=values)
            pooled[:, coordinates] = _segment_mean(values, offsets)
        return pooled

    def _proportion_means(self, ramp_input, offsets):
        """Return the sequence means of the proportion features, batch by batch.

        A batch is whole sequences of at most ``RAMP_TOKENS`` tokens in all,
        or one longer sequence. A longer sequence is reduced over a slice of
        the features at a time, so its temporary arrays stay about as large
        as those of a batch. Each feature is reduced over all of its tokens
        at once, as the full-width pass does, because ``np.add.reduceat``
        sums pairwise.
        """
        n_sequences = offsets.size - 1
        n_features = self.increment.size
        means = np.empty((n_sequences, n_features))
        for first, last in sequence_batches(offsets, RAMP_TOKENS):
            start, stop = offsets[first], offsets[last]
            local = offsets[first : last + 1] - start
            step = max(1, n_features * RAMP_TOKENS // (stop - start))
            for low in range(0, n_features, step):
                columns = slice(low, min(low + step, n_features))
                features = self.ramps.values(ramp_input[start:stop], columns)
                features += self.increment[columns]
                means[first:last, columns] = _segment_mean(features, local)
        return means


def _constant_increment(layer, rows):
    """Return what ``layer`` adds to the coordinates ``rows``, or None.

    None unless every unit that writes them has the activation
    ``relu(0 + b)``, the same for every token.
    """
    if not _constant_writers(layer, rows).all():
        return None
    constant = np.maximum(0.0 + layer.bias, 0.0)
    # Every row is summed on its own, in its stored order, so computing all
    # rows and keeping some gives the sums of a sliced matrix.
    return sparse_product(constant[None, :], csr_array(layer.weight_out))[0][rows]


def _passthrough_registers(layout, layers, read, mean_values):
    """Return the registers that only the embedding and constants fill.

    A register coordinate passes through when no unit, query or key reads
    it, the mean head averages it, and every layer that writes it adds a
    constant. Returns the coordinates, the embedded features they copy and
    the increments of the layers with units, in order.
    """
    coordinates, feature_columns = [], []
    for kind in layout.pooling:
        register = layout.register(kind)
        passes = ~read[register] & mean_values[register]
        coordinates.append(register[passes])
        feature_columns.append(np.flatnonzero(passes))
    coordinates = np.concatenate(coordinates)
    feature_columns = np.concatenate(feature_columns)
    increments = []
    for layer in layers:
        if layer.width == 0 or coordinates.size == 0:
            continue
        increment = _constant_increment(layer, coordinates)
        if increment is None:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), []
        increments.append(increment)
    return coordinates, feature_columns, increments


# Maximum magnitude of an integer constant whose mean over a sequence the
# fused pass takes to be the constant itself. Partial sums of up to 2**33
# copies are integers of magnitude at most 2**53, so they and the division by
# the length are exact in float64.
EXACT_CONSTANT = 2.0**20


def _constant_writers(layer, rows):
    """Return, per coordinate of ``rows``, whether only constant units write it.

    A constant unit reads no coordinate, so its activation is ``relu(b)``
    for every token.
    """
    writes = csr_array(layer.weight_out)
    reads = np.diff(csr_array(layer.weight_in).indptr) != 0
    row_of_entry = np.repeat(np.arange(writes.shape[0]), np.diff(writes.indptr))
    readers = np.bincount(
        row_of_entry, weights=reads[writes.indices], minlength=writes.shape[0]
    )
    return readers[rows] == 0


def _constant_coordinates(layout, layers, heads, read, mean_values, left_out):
    """Find the coordinates that contain one value for every token up to pooling.

    A coordinate qualifies when the embedding copies no feature into it, so
    that it starts at 1 (the constant coordinate) or 0. No unit, query, key
    or rank-one head may read it, and every feed-forward layer up to pooling
    may only add constants to it. Its value after each layer is
    computed with the same addition as in the full-width pass. A coordinate
    that the mean head averages also needs an integer value of magnitude at
    most ``EXACT_CONSTANT``, so that its mean is exactly that value. Returns
    the coordinates and their values.
    """
    # The embedding writes the registers and the raw coordinates per token,
    # and a rank-one head writes the values of the tokens it attends to.
    per_token = np.zeros(layout.dim, dtype=bool)
    for kind in layout.pooling:
        per_token[layout.register(kind)] = True
    per_token[layout.raw] = True
    for head in heads:
        if head.rank:
            per_token[head.value_coordinates] = True
    coordinates = np.flatnonzero(~left_out & ~per_token & ~read)
    values = np.where(coordinates == layout.constant, 1.0, 0.0)
    for layer in layers:
        if layer.width == 0 or coordinates.size == 0:
            continue
        constant = _constant_writers(layer, coordinates)
        coordinates, values = coordinates[constant], values[constant]
        # The layer computes tokens + update, and addition commutes exactly.
        values = values + _constant_increment(layer, coordinates)
    exact = ~mean_values[coordinates] | (
        (values == np.round(values)) & (np.abs(values) <= EXACT_CONSTANT)
    )
    return coordinates[exact], values[exact]


def build_fused_front(embedding, blocks):
    """Return a ``FusedFront`` for the pooling pass, or None if it does not apply.

    It applies when all of these hold:

    - the feed-forward layers up to pooling are sparse, and the blocks
      before pooling have no attention heads;
    - the pooling layer has one mean head;
    - no unit, query or key reads the proportion features, the mean head
      averages all of them, and the pooling layer only adds constants to
      them;
    - one layer before pooling writes the proportions, with ramp units that
      each read one coordinate and write with weight +1 or -1;
    - there are proportion features or pass-through registers (see
      ``_passthrough_registers``).
    """
    layout = embedding.layout
    proportions = layout.proportions
    *pre_pooling, pooling = blocks
    if any(block.attention.heads for block in pre_pooling):
        return None
    layers = [block.feed_forward for block in blocks]
    if any(layer.width and not issparse(layer.weight_in) for layer in layers):
        return None
    mean_heads = [head for head in pooling.attention.heads if head.rank == 0]
    if len(mean_heads) != 1:
        return None

    read = np.zeros(layout.dim, dtype=bool)
    for layer in layers:
        if layer.width:
            read[csr_array(layer.weight_in).indices] = True
    for head in pooling.attention.heads:
        if head.rank:
            read |= (head.query != 0).any(axis=0) | (head.key != 0).any(axis=0)
    mean_values = np.zeros(layout.dim, dtype=bool)
    mean_values[mean_heads[0].value_coordinates] = True
    if read[proportions].any() or not mean_values[proportions].all():
        return None
    passthrough = _passthrough_registers(layout, layers, read, mean_values)
    if proportions.size == 0 and passthrough[0].size == 0:
        return None

    is_proportion = np.zeros(layout.dim, dtype=bool)
    is_proportion[proportions] = True
    left_out = is_proportion.copy()
    left_out[passthrough[0]] = True
    constants = _constant_coordinates(
        layout, layers, pooling.attention.heads, read, mean_values, left_out
    )
    left_out[constants[0]] = True
    others = np.flatnonzero(~left_out)
    column_of = np.full(layout.dim, -1)
    column_of[others] = np.arange(others.size)

    restricted, ramps, ramp_layer = [], None, None
    for position, layer in enumerate(layers[:-1]):
        if layer.width == 0:
            restricted.append(FeedForward.identity(others.size))
            continue
        found, rest = _extract_ramps(layer, is_proportion, column_of)
        if found is False or (found is not None and ramps is not None):
            return None
        if found is not None:
            ramps, ramp_layer = found, position
        restricted.append(rest)
    if proportions.size and ramps is None:
        return None

    # The pooling layer may add to the proportions only through units whose
    # activation is the same for every token, relu(0 + b).
    last = layers[-1]
    increment = np.zeros(proportions.size)
    if last.width:
        if proportions.size:
            increment = _constant_increment(last, proportions)
            if increment is None:
                return None
        restricted.append(_restrict(last, np.arange(last.width), ~left_out))
    else:
        restricted.append(FeedForward.identity(others.size))

    heads = []
    for head in pooling.attention.heads:
        if head.rank:
            heads.append((_restrict_head(head, column_of), head.value_coordinates))
    values = mean_heads[0].value_coordinates
    other_coordinates = values[~left_out[values]]
    mean_head = (column_of[other_coordinates], other_coordinates, proportions)
    return FusedFront(
        embedding=embedding,
        others=others,
        layers=restricted,
        ramps=ramps,
        ramp_layer=ramp_layer,
        increment=increment,
        heads=heads,
        mean_head=mean_head,
        passthrough=passthrough,
        constants=constants,
        dim=layout.dim,
    )
