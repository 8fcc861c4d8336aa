"""Convolutional embedding: a fixed stem of dilated kernels, then ramps.

The stem uses the kernels of MiniRocket (Dempster, Schmidt and Webb,
arXiv:2012.08791): length 9, with weight -1 except 2 at three of the nine
positions, which makes 84 kernels. Each is applied at a few dilations to the
sum of a random subset of the standardized channels, with zero padding at
both ends of a sequence. A feed-forward layer turns each convolution output ``c`` into
clipped ramps ``clip((c - bias) / width, 0, 1)``, and the mean head pools
them into the proportion of tokens above each bias.
"""

import itertools

import numpy as np
from scipy.sparse import csr_array

from ._model import Embedding

KERNEL_LENGTH = 9

# Positions of the weight 2 in each of the 84 kernels. Every other weight is -1.
KERNEL_POSITIONS = np.array(list(itertools.combinations(range(KERNEL_LENGTH), 3)))
N_KERNELS = len(KERNEL_POSITIONS)

# KERNEL_WEIGHTS[j, k] is the weight of tap j in kernel k.
KERNEL_WEIGHTS = -np.ones((KERNEL_LENGTH, N_KERNELS))
KERNEL_WEIGHTS[KERNEL_POSITIONS.T, np.arange(N_KERNELS)] = 2.0

# Up to 2**6 = 64: larger dilations cost features without helping on the
# lengths the defaults were measured on.
MAX_DILATION_EXPONENT = 6

# A ramp rises over this fraction of the spread of its convolution output, so
# it is close to a step and its mean close to a proportion of tokens.
RAMP_WIDTH_FRACTION = 1e-3


def choose_dilations(lengths):
    """Return dilations 1, 2, 4, ... up to a quarter of the longest sequence.

    With zero padding a kernel of dilation ``d`` spans ``8 d + 1`` positions,
    so the largest dilation lets a kernel reach about twice the longest
    training length.
    """
    longest = int(np.max(lengths))
    exponent = int(np.floor(np.log2(max(1.0, (longest - 1) / 4))))
    return 2 ** np.arange(min(exponent, MAX_DILATION_EXPONENT) + 1)


def choose_channels(n_features, n_outputs, rng):
    """Return a 0/1 matrix (n_features, n_outputs) of random channel subsets.

    Each output sums between 1 and min(n_features, 9) channels, the count
    drawn log-uniformly as in MiniRocket's multivariate variant.
    """
    selection = np.zeros((n_features, n_outputs))
    most = min(n_features, 9)
    for output in range(n_outputs):
        size = int(2 ** rng.uniform(0, np.log2(most + 1)))
        size = min(max(size, 1), most)
        selection[rng.choice(n_features, size=size, replace=False), output] = 1.0
    return selection


class ConvolutionEmbedding:
    """Token-wise standardization followed by a stem of dilated convolutions.

    Output ``f`` of the stem, with kernel ``k = f % 84`` and dilation
    ``dilations[f // 84]``, is
    ``c_f(t) = sum_j w_kj s_f(t + (j - 4) d)``, where ``s_f`` sums the
    standardized channels chosen by ``channels[:, f]`` and positions outside
    the sequence count as 0. The outputs fill every register, the constant
    coordinate is set to 1, the raw coordinates (if the layout has them)
    receive the token and its relative position, and every other coordinate
    is 0.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
    dilations : ndarray of int
    channels : ndarray of shape (n_features, 84 * len(dilations))
        0/1 selection of the channels each output sums.
    layout : TokenLayout
    """

    positional = True

    def __init__(self, mean, scale, dilations, channels, layout):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.dilations = np.asarray(dilations, dtype=np.intp)
        self.channels = np.asarray(channels, dtype=np.float64)
        self.layout = layout
        n_outputs = N_KERNELS * self.dilations.size
        if self.channels.shape != (self.mean.size, n_outputs):
            raise ValueError(
                f"channels must have shape {(self.mean.size, n_outputs)}, got "
                f"{self.channels.shape}."
            )
        if layout.n_embedded != n_outputs:
            raise ValueError(
                f"layout.n_embedded must be {n_outputs}, got {layout.n_embedded}."
            )

    @property
    def n_features(self):
        """Number of input features per token."""
        return self.mean.size

    @property
    def n_outputs(self):
        """Number of convolution outputs per token."""
        return self.channels.shape[1]

    @property
    def n_params(self):
        """Nonzero weights: standardization, channel sums, kernels, copies."""
        kernels = KERNEL_LENGTH * self.n_outputs
        copies = self.layout.n_embedded * len(self.layout.pooling) + self.layout.n_raw
        return int(
            np.count_nonzero(self.mean)
            + np.count_nonzero(self.scale)
            + np.count_nonzero(self.channels)
            + kernels
            + copies
            + 1
        )

    def raw_features(self, tokens, offsets):
        """Return the raw coordinates: the tokens, then their positions."""
        return np.hstack([tokens, Embedding.positions(offsets)[:, None]])

    def features(self, tokens, offsets):
        """Return the convolution outputs (n_tokens, n_outputs) of a batch.

        The channel sums and the kernel combine into one sparse matrix per
        dilation, of shape (84, 9 * n_features), applied to the nine shifted
        copies of each standardized token. The copies come from a layout
        with ``4 * max(dilations)`` zero tokens around every sequence, which
        gives the zero padding at both of its ends. A sparse product sums
        each output in a fixed order, unlike a BLAS product, whose rounding
        can depend on the other rows and on the number of threads. So a
        sequence gets bitwise the same outputs alone as inside a batch.
        """
        standardized = (tokens - self.mean) / self.scale
        n_tokens, n_features = tokens.shape
        lengths = np.diff(offsets)
        half = KERNEL_LENGTH // 2
        gap = half * int(self.dilations.max())
        sequence_of_token = np.repeat(np.arange(lengths.size), lengths)
        rows = np.arange(n_tokens) + gap * (1 + sequence_of_token)
        padded = np.zeros((n_features, n_tokens + gap * (lengths.size + 1)))
        padded[:, rows] = standardized.T
        shifted = np.empty((KERNEL_LENGTH * n_features, n_tokens))
        outputs = np.empty((self.n_outputs, n_tokens))
        for index, dilation in enumerate(self.dilations):
            for tap in range(KERNEL_LENGTH):
                source = rows + (tap - half) * int(dilation)
                shifted[tap * n_features : (tap + 1) * n_features] = padded[:, source]
            columns = slice(index * N_KERNELS, (index + 1) * N_KERNELS)
            matrix = KERNEL_WEIGHTS[:, None, :] * self.channels[None, :, columns]
            kernel = csr_array(matrix.reshape(KERNEL_LENGTH * n_features, N_KERNELS).T)
            outputs[columns] = kernel @ shifted
        return outputs.T

    # The layout is filled as by the moments embedding, from this class's
    # features and raw coordinates.
    forward = Embedding.forward


def fit_ramps(features, offsets, n_biases, rng):
    """Return ramp biases (n_outputs, n_biases) and widths (n_outputs,).

    As in MiniRocket, the biases of output f are quantiles of its values on
    one random training sequence, at the fractions ``i * phi mod 1`` of the
    golden ratio ``phi``, which spread evenly for any count.
    """
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    quantiles = (np.arange(1, n_biases + 1) * golden) % 1.0
    n_sequences = offsets.size - 1
    n_outputs = features.shape[1]
    chosen = rng.randint(0, n_sequences, size=n_outputs)
    lengths = np.diff(offsets)[chosen]
    # Row f contains the values of output f on its sequence, sorted, with +inf
    # after the end. Quantiles interpolate linearly between order statistics
    # (numpy's default "linear" method).
    values = np.full((n_outputs, int(lengths.max())), np.inf)
    for length in np.unique(lengths):
        outputs = np.flatnonzero(lengths == length)
        rows = offsets[chosen[outputs], None] + np.arange(length)
        values[outputs, :length] = features[rows, outputs[:, None]]
    values.sort(axis=1)
    position = quantiles * (lengths[:, None] - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, lengths[:, None] - 1)
    fraction = position - below
    low = np.take_along_axis(values, below, axis=1)
    high = np.take_along_axis(values, above, axis=1)
    biases = low + (high - low) * fraction
    spread = features.std(axis=0)
    widths = RAMP_WIDTH_FRACTION * np.where(spread > 0, spread, 1.0)
    return biases, widths
