"""The fused pooling pass against the layer-by-layer pass, bit for bit."""

import warnings

import numpy as np
import pytest
from scipy.sparse import csr_array
from test_exactness import FAMILIES

from sklearn_hardmax import (
    AttentionHead,
    FeedForward,
    HardmaxAttention,
    HardmaxTransformer,
    HardmaxTransformerClassifier,
    _pooling,
)
from sklearn_hardmax._construction import _embedding_spec, _proportion_shift
from sklearn_hardmax._convolution import KERNEL_WEIGHTS, N_KERNELS, fit_ramps
from sklearn_hardmax._model import Block, _pool_chunk
from sklearn_hardmax._pooling import FusedFront, build_fused_front


def _ragged(X):
    tokens = np.vstack([np.asarray(sequence, dtype=float) for sequence in X])
    offsets = np.concatenate([[0], np.cumsum([len(sequence) for sequence in X])])
    return tokens, offsets


def _layer_by_layer(transformer, tokens, offsets):
    front = (transformer.embedding, transformer.blocks[: transformer.pooling_block + 1])
    return _pool_chunk(front, tokens, offsets)


SETTINGS = [
    {},
    {"readout": "prototype"},
    {"pooling": ("mean", "max", "min")},
    {"pooling": ("mean", "max"), "attention": "softmax"},
    {"embedding": "moments", "readout": "prototype"},
    {"embedding": "moments", "pooling": ("mean", "max", "min"), "positional_moments": 1},
]


# The layer-by-layer pass takes tens of seconds on the 5000-token sequences of
# long_sequences. test_fused_pass_across_ramp_batches covers sequences that
# span several batches of the proportion computation.
SHORT_FAMILIES = [family for family in FAMILIES if family.__name__ != "long_sequences"]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("family", SHORT_FAMILIES, ids=lambda f: f.__name__)
def test_fused_pass_equals_layer_by_layer(family, settings):
    X, y = family(np.random.default_rng(0))
    model = HardmaxTransformerClassifier(random_state=0, **settings).fit(X, y)
    # A 2-D table is a list of one-token sequences.
    X = [np.atleast_2d(sequence) for sequence in X]
    transformer = model.transformer_
    front = transformer._pooling_front()
    assert isinstance(front, FusedFront)

    rng = np.random.default_rng(1)
    unseen = [
        sequence + rng.normal(scale=0.1, size=np.shape(sequence)) for sequence in X
    ]
    for sequences in (X, unseen):
        tokens, offsets = _ragged(sequences)
        expected = _layer_by_layer(transformer, tokens, offsets)
        assert np.array_equal(front.pool(tokens, offsets), expected)


def test_fused_pass_with_witnesses():
    # Sequences 1e-9 apart fall on the same side of every ramp, so only
    # separation witnesses tell them apart.
    rng = np.random.default_rng(2)
    base = [rng.normal(size=(rng.integers(2, 6), 3)) for _ in range(10)]
    X = base + [sequence * (1 + 1e-9) for sequence in base]
    y = np.array([0] * 10 + [1] * 10)
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    assert len(model.witnesses_) > 0
    assert np.array_equal(model.predict(X), y)
    transformer = model.transformer_
    tokens, offsets = _ragged(X)
    fused = transformer._pooling_front().pool(tokens, offsets)
    assert np.array_equal(fused, _layer_by_layer(transformer, tokens, offsets))


def test_fused_pass_across_ramp_batches(monkeypatch):
    # Batches of 5 tokens split the data between and around long sequences.
    monkeypatch.setattr(_pooling, "RAMP_TOKENS", 5)
    rng = np.random.default_rng(3)
    X = [rng.normal(size=(length, 2)) for length in (1, 3, 12, 2, 2, 40, 1, 7)]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, np.arange(8) % 2)
    tokens, offsets = _ragged(X)
    fused = model.transformer_._pooling_front().pool(tokens, offsets)
    assert np.array_equal(fused, _layer_by_layer(model.transformer_, tokens, offsets))


def test_sequence_alone_pools_like_batch_wide_tokens():
    # 64 features make 576 inner columns in the convolution, a shape where a
    # BLAS product rounds a row differently by its place in the batch.
    rng = np.random.default_rng(4)
    X = [rng.normal(size=(rng.integers(1, 6), 64)) for _ in range(30)]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, rng.integers(0, 3, 30))
    pooled = model.transform(X)
    for index, sequence in enumerate(X):
        assert np.array_equal(model.transform([sequence])[0], pooled[index])


def test_fused_front_absent_without_mean_head():
    # Max and min pooling without witnesses leave no mean head to fuse.
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(3, 2)) for _ in range(10)]
    model = HardmaxTransformerClassifier(
        embedding="moments", pooling=("max", "min"), random_state=0
    )
    model.fit(X, np.arange(10) % 2)
    assert len(model.witnesses_) == 0
    assert isinstance(model.transformer_._pooling_front(), tuple)


def test_fused_front_rejects_dense_ramps():
    rng = np.random.default_rng(6)
    X = [rng.normal(size=(4, 2)) for _ in range(10)]
    transformer = HardmaxTransformerClassifier(random_state=0).fit(X, np.arange(10) % 2)
    transformer = transformer.transformer_
    ramps = transformer.blocks[0].feed_forward
    dense = FeedForward(
        ramps.weight_in.toarray(), ramps.bias, ramps.weight_out.toarray()
    )
    blocks = [Block(dense, transformer.blocks[0].attention), *transformer.blocks[1:]]
    assert (
        build_fused_front(
            transformer.embedding, blocks[: transformer.pooling_block + 1]
        )
        is None
    )
    rebuilt = HardmaxTransformer(
        transformer.embedding,
        blocks,
        transformer.readout,
        pooling_block=transformer.pooling_block,
    )
    tokens, offsets = _ragged(X)
    assert np.array_equal(
        rebuilt.pooled_tokens(tokens, offsets),
        transformer.pooled_tokens(tokens, offsets),
    )


def _reference_convolution(embedding, sequence):
    """Convolve one sequence with explicit loops and zero padding."""
    standardized = (sequence - embedding.mean) / embedding.scale
    n_tokens = len(sequence)
    outputs = np.zeros((n_tokens, embedding.n_outputs))
    for output in range(embedding.n_outputs):
        kernel = KERNEL_WEIGHTS[:, output % N_KERNELS]
        dilation = embedding.dilations[output // N_KERNELS]
        summed = standardized @ embedding.channels[:, output]
        for position in range(n_tokens):
            for tap, weight in enumerate(kernel):
                source = position + (tap - 4) * dilation
                if 0 <= source < n_tokens:
                    outputs[position, output] += weight * summed[source]
    return outputs


def test_convolution_matches_explicit_loops():
    rng = np.random.default_rng(7)
    # Lengths 1 and 3 are shorter than the kernel's span at every dilation.
    X = [rng.normal(size=(length, 3)) for length in (1, 3, 9, 20, 41)]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, [0, 1, 0, 1, 0])
    embedding = model.transformer_.embedding
    assert embedding.dilations.tolist() == [1, 2, 4, 8]
    tokens, offsets = _ragged(X)
    batch = embedding.features(tokens, offsets)
    for index, sequence in enumerate(X):
        expected = _reference_convolution(embedding, sequence)
        np.testing.assert_allclose(
            batch[offsets[index] : offsets[index + 1]], expected, rtol=1e-12, atol=1e-12
        )


def test_proportion_shift_equals_mean_of_ramps():
    rng = np.random.default_rng(8)
    X = [
        rng.integers(-2, 3, size=(rng.integers(1, 15), 2)).astype(float)
        for _ in range(40)
    ]
    tokens, offsets = _ragged(X)
    spec, features = _embedding_spec(
        "convolution", tokens, offsets, 0, np.random.RandomState(0)
    )
    # clip((c - bias) / width, 0, 1) for every token, output and bias.
    scaled = (features[:, :, None] - spec.biases) / spec.widths[:, None]
    ramps = np.clip(scaled, 0.0, 1.0).reshape(len(features), -1)
    means = np.add.reduceat(ramps, offsets[:-1], axis=0) / np.diff(offsets)[:, None]
    np.testing.assert_allclose(
        _proportion_shift(spec, features, offsets),
        means.mean(axis=0),
        rtol=1e-9,
        atol=1e-12,
    )


def test_fused_front_rebuilt_after_pickling():
    import pickle

    rng = np.random.default_rng(9)
    X = [rng.normal(size=(rng.integers(1, 8), 2)) for _ in range(12)]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, np.arange(12) % 3)
    expected = model.decision_function(X)
    assert model.transformer_._fused_front is not None
    restored = pickle.loads(pickle.dumps(model))
    assert restored.transformer_._fused_front is None
    assert np.array_equal(restored.decision_function(X), expected)
    assert isinstance(restored.transformer_._fused_front, FusedFront)


def test_ramp_biases_match_numpy_quantiles():
    rng = np.random.default_rng(10)
    lengths = rng.integers(1, 30, size=50)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    features = rng.normal(size=(offsets[-1], 40))
    biases, widths = fit_ramps(features, offsets, 8, np.random.RandomState(0))
    chosen = np.random.RandomState(0).randint(0, 50, size=40)
    fractions = (np.arange(1, 9) * (np.sqrt(5.0) - 1.0) / 2.0) % 1.0
    for output, sequence in enumerate(chosen):
        values = features[offsets[sequence] : offsets[sequence + 1], output]
        np.testing.assert_allclose(
            biases[output], np.quantile(values, fractions), rtol=1e-14, atol=1e-15
        )
    np.testing.assert_allclose(widths, 1e-3 * features.std(axis=0))


def test_fused_front_with_extra_sparse_layer():
    # A hand-built block before the ramps: one unit adds relu(1 - 1) = 0 to
    # register coordinate 0 and touches no proportion feature.
    rng = np.random.default_rng(11)
    X = [rng.normal(size=(rng.integers(1, 6), 2)) for _ in range(12)]
    transformer = HardmaxTransformerClassifier(random_state=0).fit(X, np.arange(12) % 2)
    transformer = transformer.transformer_
    layout = transformer.layout
    weight_in = np.zeros((1, layout.dim))
    weight_in[0, layout.constant] = 1.0
    weight_out = np.zeros((layout.dim, 1))
    weight_out[0, 0] = 1.0
    extra = FeedForward(csr_array(weight_in), np.array([-1.0]), csr_array(weight_out))
    blocks = [Block(extra, transformer.blocks[0].attention), *transformer.blocks]
    rebuilt = HardmaxTransformer(
        transformer.embedding,
        blocks,
        transformer.readout,
        pooling_block=transformer.pooling_block + 1,
    )
    front = rebuilt._pooling_front()
    assert isinstance(front, FusedFront)
    tokens, offsets = _ragged(X)
    assert np.array_equal(front.pool(tokens, offsets), _layer_by_layer(rebuilt, tokens, offsets))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_matrix_sequences_fit_like_arrays():
    rng = np.random.default_rng(12)
    X = [rng.normal(size=(rng.integers(2, 6), 2)) for _ in range(8)]
    y = np.arange(8) % 2
    expected = HardmaxTransformerClassifier(random_state=0).fit(X, y).decision_function(X)
    model = HardmaxTransformerClassifier(random_state=0).fit([np.asmatrix(s) for s in X], y)
    assert np.array_equal(model.decision_function(X), expected)


def test_predict_overflow_names_sequence():
    rng = np.random.default_rng(13)
    X = [rng.normal(size=(rng.integers(2, 6), 2)) for _ in range(8)]
    model = HardmaxTransformerClassifier(random_state=0).fit(X, np.arange(8) % 2)
    far = [X[0], X[1] * 1e307]
    with warnings.catch_warnings():
        # The error alone reports the overflow, without numpy's warnings.
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="overflows float64 on sequence 1"):
            model.predict(far)


def test_literal_check_uses_prefix_of_long_sequences(monkeypatch):
    # Every sequence is longer than the token budget of the full-width check.
    from sklearn_hardmax import _construction

    monkeypatch.setattr(_construction, "N_LITERAL_TOKENS", 10)
    rng = np.random.default_rng(14)
    X = [rng.normal(size=(length, 2)) for length in (30, 25, 40, 31)]
    assert _construction._literal_check_sequences(np.array([30, 25, 40, 31]), rng).size == 0
    model = HardmaxTransformerClassifier(random_state=0).fit(X, [0, 1, 0, 1])
    assert np.array_equal(model.predict(X), [0, 1, 0, 1])


def _with_averaged_constant(transformer, added):
    """Return ``transformer`` with a unit before pooling that adds ``added``.

    The unit reads nothing and writes ``added`` into the first score
    coordinate, which the mean head then averages too.
    """
    layout = transformer.layout
    target = layout.scores[0]
    weight_out = np.zeros((layout.dim, 1))
    weight_out[target, 0] = added
    extra = FeedForward(csr_array((1, layout.dim)), np.array([1.0]), csr_array(weight_out))
    pooling = transformer.blocks[transformer.pooling_block]
    heads = [
        AttentionHead(head.query, head.key, np.append(head.value_coordinates, target))
        if head.rank == 0
        else head
        for head in pooling.attention.heads
    ]
    blocks = list(transformer.blocks)
    blocks[transformer.pooling_block] = Block(
        pooling.feed_forward, HardmaxAttention(heads, layout.dim)
    )
    blocks.insert(0, Block(extra, HardmaxAttention([], layout.dim)))
    return HardmaxTransformer(
        transformer.embedding,
        blocks,
        transformer.readout,
        pooling_block=transformer.pooling_block + 1,
    ), target


@pytest.mark.parametrize("added, constant", [(3.0, True), (0.1, False)])
def test_constant_coordinates_pool_exactly(added, constant):
    # The mean of copies of 0.1 over a sequence is not always 0.1 in float64,
    # so that coordinate must stay in the per-token state.
    rng = np.random.default_rng(15)
    X = [rng.normal(size=(length, 2)) for length in (1, 3, 7, 10, 49, 50, 93)]
    model = HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", random_state=0
    ).fit(X, np.arange(7) % 2)
    rebuilt, target = _with_averaged_constant(model.transformer_, added)
    front = rebuilt._pooling_front()
    assert isinstance(front, FusedFront)
    assert (target in front.constants[0]) == constant
    assert rebuilt.layout.constant in front.constants[0]
    tokens, offsets = _ragged(X)
    pooled = front.pool(tokens, offsets)
    expected = _layer_by_layer(rebuilt, tokens, offsets)
    assert np.array_equal(pooled, expected)
    if constant:
        assert np.all(pooled[:, target] == added)
    else:
        assert np.any(expected[:, target] != added)


def test_moments_front_has_no_token_state():
    # Under mean pooling, every coordinate outside the registers contains one
    # value for every token, so the fused pass computes none of them per token.
    rng = np.random.default_rng(17)
    X = [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(30)]
    y = np.arange(30) % 3
    model = HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", random_state=0
    ).fit(X, y)
    front = model.transformer_._pooling_front()
    assert front.others.size == 0
    tokens, offsets = _ragged(X)
    assert np.array_equal(
        front.pool(tokens, offsets), _layer_by_layer(model.transformer_, tokens, offsets)
    )


@pytest.mark.parametrize("length", [1, 2, 6])
def test_equal_lengths_match_positions(length):
    rng = np.random.default_rng(16)
    X = [rng.normal(size=(length, 3)) for _ in range(5)]
    model = HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", positional_moments=3, random_state=0
    ).fit(X, np.arange(5) % 2)
    embedding = model.transformer_.embedding
    tokens, offsets = _ragged(X)
    standardized = (tokens - embedding.mean) / embedding.scale
    tau = embedding.positions(offsets)
    expected = np.hstack(
        [standardized] + [standardized * np.cos(m * np.pi * tau)[:, None] for m in (1, 2, 3)]
    )
    assert np.array_equal(embedding.features(tokens, offsets), expected)


@pytest.mark.parametrize("embedding", ["moments", "convolution"])
def test_pooling_reads_given_features(embedding):
    rng = np.random.default_rng(12)
    X = [rng.normal(size=(length, 2)) for length in (5, 1, 9, 3)]
    model = HardmaxTransformerClassifier(embedding=embedding, random_state=0).fit(X, [0, 1, 0, 1])
    transformer = model.transformer_
    tokens = np.vstack(X)
    offsets = np.concatenate([[0], np.cumsum([len(sequence) for sequence in X])])
    features = transformer.embedding.features(tokens, offsets)
    passed = features.copy()
    pooled = transformer.pooled_tokens(tokens, offsets, features=passed)
    assert np.array_equal(pooled, transformer.pooled_tokens(tokens, offsets))
    # The pass-through registers are shifted in a copy, not in the caller's array.
    assert np.array_equal(passed, features)
