"""The layers of the hardmax transformer against their formulas."""

import numpy as np
import pytest

from sklearn_hardmax import (
    AttentionHead,
    Block,
    FeedForward,
    HardmaxAttention,
    HardmaxTransformerClassifier,
)


def _offsets(*lengths):
    return np.concatenate([[0], np.cumsum(lengths)])


def test_feed_forward_matches_formula():
    rng = np.random.default_rng(0)
    weight_in, bias, weight_out = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=(3, 5))
    tokens = rng.normal(size=(7, 3))
    layer = FeedForward(weight_in, bias, weight_out)
    expected = np.array(
        [z + weight_out @ np.maximum(weight_in @ z + bias, 0) for z in tokens]
    )
    np.testing.assert_allclose(layer.forward(tokens), expected, rtol=1e-12)


def test_feed_forward_identity_leaves_tokens():
    tokens = np.arange(6.0).reshape(2, 3)
    layer = FeedForward.identity(3)
    assert layer.width == 0
    assert layer.n_params == 0
    assert np.array_equal(layer.forward(tokens), tokens)


def test_feed_forward_counts_nonzero_weights():
    layer = FeedForward([[1.0, 0.0], [0.0, 0.0]], [0.0, 2.0], [[0.0, 3.0], [4.0, 0.0]])
    assert layer.n_params == 4


def test_feed_forward_rejects_bad_shapes():
    with pytest.raises(ValueError, match="weight_out must have shape"):
        FeedForward(np.zeros((2, 3)), np.zeros(2), np.zeros((2, 3)))


def test_mean_head_averages_each_sequence():
    tokens = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0]])
    head = AttentionHead(np.zeros((0, 2)), np.zeros((0, 2)), [0])
    layer = HardmaxAttention([head], 2)
    out = layer.forward(tokens, _offsets(2, 1))
    assert out[:, 0].tolist() == [2.0, 2.0, 5.0]
    assert out[:, 1].tolist() == [10.0, 20.0, 30.0]


def test_max_head_copies_leader_and_averages_ties():
    # Coordinate 0 is the constant, coordinate 1 the key, coordinate 2 a value.
    tokens = np.array([[1.0, 4.0, 1.0], [1.0, 4.0, 3.0], [1.0, 2.0, 9.0]])
    query = np.array([[1.0, 0.0, 0.0]])
    key = np.array([[0.0, 1.0, 0.0]])
    layer = HardmaxAttention([AttentionHead(query, key, [2])], 3)
    out = layer.forward(tokens, _offsets(3))
    # Tokens 0 and 1 tie for the largest key; their values average to 2.
    assert out[:, 2].tolist() == [2.0, 2.0, 2.0]


def test_rank_one_head_follows_query_sign():
    # A negative query attends to the smallest key, a zero query to all.
    tokens = np.array([[1.0, 5.0, 1.0], [-1.0, 2.0, 2.0], [0.0, 8.0, 6.0]])
    query = np.array([[1.0, 0.0, 0.0]])
    key = np.array([[0.0, 1.0, 0.0]])
    head = AttentionHead(query, key, [2])
    values = head.attend(tokens, _offsets(3))[:, 0]
    scores = np.outer(tokens @ query[0], tokens @ key[0])
    expected = [
        tokens[scores[i] == scores[i].max(), 2].mean() for i in range(len(tokens))
    ]
    assert values.tolist() == expected
    assert values.tolist() == [6.0, 2.0, 3.0]


def test_attention_rejects_overlapping_heads():
    head = AttentionHead(np.zeros((0, 2)), np.zeros((0, 2)), [0, 1])
    other = AttentionHead(np.zeros((0, 2)), np.zeros((0, 2)), [1])
    with pytest.raises(ValueError, match="disjoint"):
        HardmaxAttention([head, other], 2)


def test_attention_head_rejects_rank_two():
    with pytest.raises(ValueError, match="rank 0 or 1"):
        AttentionHead(np.zeros((2, 3)), np.zeros((2, 3)), [0])


def test_attention_without_heads_is_identity():
    tokens = np.arange(4.0).reshape(2, 2)
    out = HardmaxAttention([], 2).forward(tokens, _offsets(2))
    assert np.array_equal(out, tokens)


def test_block_applies_feed_forward_then_attention():
    layer = FeedForward([[1.0, 0.0]], [0.0], [[1.0], [0.0]])
    head = AttentionHead(np.zeros((0, 2)), np.zeros((0, 2)), [0])
    block = Block(layer, HardmaxAttention([head], 2))
    tokens = np.array([[1.0, 0.0], [-1.0, 0.0]])
    # The unit doubles the positive token only; the mean is (2 - 1) / 2.
    assert block.forward(tokens, _offsets(2))[:, 0].tolist() == [0.5, 0.5]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(25)]
    y = rng.integers(0, 3, size=25)
    model = HardmaxTransformerClassifier(pooling=("mean", "max", "min"), random_state=0)
    return model.fit(X, y), X, y


def test_forward_tokens_identical_after_pooling(fitted):
    model, X, _ = fitted
    _, states = model.transformer_.forward(X, return_states=True)
    pooling_state = states[2 * (model.transformer_.pooling_block + 1)]
    for tokens in pooling_state:
        assert np.array_equal(tokens, np.repeat(tokens[:1], len(tokens), axis=0))


def test_forward_shapes_follow_input(fitted):
    model, X, _ = fitted
    outputs = model.transformer_.forward(X)
    assert [out.shape for out in outputs] == [
        (len(sequence), model.transformer_.layout.dim) for sequence in X
    ]
    _, states = model.transformer_.forward(X, return_states=True)
    assert len(states) == 1 + 2 * model.n_blocks_


def test_predict_equals_readout_of_forward(fitted):
    model, X, _ = fitted
    rng = np.random.default_rng(2)
    X_new = [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(40)]
    transformer = model.transformer_
    for sequences in (X, X_new):
        final = np.array([out[-1] for out in transformer.forward(sequences)])
        scores = transformer.readout.forward(final)
        assert np.array_equal(model.predict(sequences), model.classes_[scores.argmax(axis=1)])


def test_literal_chain_agrees_with_fused_readout(fitted):
    model, X, y = fitted
    rng = np.random.default_rng(3)
    X_new = [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(40)]
    transformer = model.transformer_
    for sequences in (X, X_new):
        outputs, _ = transformer.forward(sequences, return_states=True)
        chain = transformer.readout.forward(np.array([out[0] for out in outputs]))
        fused = model.decision_function(sequences)
        np.testing.assert_allclose(chain, fused, rtol=1e-9, atol=1e-9)
    outputs, _ = transformer.forward(X, return_states=True)
    chain = transformer.readout.forward(np.array([out[0] for out in outputs]))
    assert np.array_equal(model.classes_[chain.argmax(axis=1)], y)


def test_n_params_sums_layers(fitted):
    model, _, _ = fitted
    transformer = model.transformer_
    total = transformer.embedding.n_params + transformer.readout.n_params
    for block in transformer.blocks:
        total += block.feed_forward.n_params
        total += sum(
            np.count_nonzero(head.query)
            + np.count_nonzero(head.key)
            + head.value_coordinates.size
            for head in block.attention.heads
        )
    assert model.n_params_ == total


def test_heads_store_rank_one_vectors(fitted):
    model, _, _ = fitted
    pooling = model.transformer_.blocks[model.transformer_.pooling_block]
    dim = model.transformer_.layout.dim
    ranks = sorted({head.rank for head in pooling.attention.heads})
    assert ranks == [0, 1]
    for head in pooling.attention.heads:
        assert head.query.shape == (head.rank, dim)
        assert head.key.shape == (head.rank, dim)


def test_sequence_alone_scores_like_batch(fitted):
    model, X, _ = fitted
    rng = np.random.default_rng(4)
    X_new = X + [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(150)]
    pooled = model.transform(X_new)
    scores = model.decision_function(X_new)
    for index, sequence in enumerate(X_new):
        assert np.array_equal(model.transform([sequence])[0], pooled[index])
        assert np.array_equal(model.decision_function([sequence])[0], scores[index])
    middle = model.decision_function(X_new[7:100])
    assert np.array_equal(middle, scores[7:100])


def test_fused_readout_survives_pickling(fitted):
    import pickle

    model, X, _ = fitted
    model.predict(X)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.transformer_._fused_readout is None
    assert np.array_equal(restored.decision_function(X), model.decision_function(X))


@pytest.mark.parametrize("n_rows, n_units", [(1, 1), (5, 7), (13, 30), (40, 3)])
def test_fused_maxima_over_several_products(monkeypatch, n_rows, n_units):
    # Small product sizes split the rows and the units into several pieces,
    # with ragged last pieces and classes that straddle two unit pieces.
    from sklearn_hardmax import _model

    monkeypatch.setattr(_model, "FUSED_ROWS", 4)
    monkeypatch.setattr(_model, "FUSED_UNITS", 6)
    rng = np.random.default_rng(5)
    points = rng.normal(size=(n_rows, 3))
    weight, bias = rng.normal(size=(n_units, 3)), rng.normal(size=n_units)
    classes = np.sort(rng.integers(0, 3, size=n_units))
    present, starts = np.unique(classes, return_index=True)
    fused = {"affine": _model.fused_affine(weight, bias), "starts": starts}
    activations = points @ weight.T + bias
    expected = np.stack([activations[:, classes == c].max(axis=1) for c in present], axis=1)
    np.testing.assert_allclose(_model._fused_maxima(points, fused), expected, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 7, 12])
def test_batch_slices_match_gen_batches(n):
    from sklearn.utils import gen_batches

    from sklearn_hardmax._model import batch_slices

    for size in (1, 3, 6, 20):
        assert batch_slices(n, size) == list(gen_batches(n, size))
    # gen_batches rejects n = 0, where batch_slices returns no slices.
    assert batch_slices(0, 3) == []


def _prototype_model():
    rng = np.random.default_rng(6)
    X = [rng.normal(size=(rng.integers(1, 9), 3)) for _ in range(20)]
    y = np.arange(20) % 3
    model = HardmaxTransformerClassifier(readout="prototype", random_state=0).fit(X, y)
    return model, X


def _with_readout_layer(transformer, position, layer):
    from sklearn_hardmax import HardmaxTransformer

    blocks = list(transformer.blocks)
    index = transformer.pooling_block + 1 + position
    blocks[index] = Block(layer, blocks[index].attention)
    return HardmaxTransformer(
        transformer.embedding, blocks, transformer.readout, pooling_block=transformer.pooling_block
    )


def test_fused_readout_of_sparse_blocks():
    from scipy.sparse import csr_array

    model, X = _prototype_model()
    transformer = model.transformer_
    layer = transformer.blocks[transformer.pooling_block + 2].feed_forward
    sparse = FeedForward(csr_array(layer.weight_in), layer.bias, csr_array(layer.weight_out))
    rebuilt = _with_readout_layer(transformer, 1, sparse)
    tokens = np.vstack(X)
    offsets = _offsets(*[len(sequence) for sequence in X])
    assert np.array_equal(
        rebuilt.class_scores(tokens, offsets), transformer.class_scores(tokens, offsets)
    )


def _with_unit_writing_two_scores(transformer):
    """Return ``transformer`` whose unit 1 of readout block 1 writes every score."""
    layer = transformer.blocks[transformer.pooling_block + 2].feed_forward
    weight_out = layer.weight_out.copy()
    weight_out[transformer.layout.scores, 1] = 1.0
    return _with_readout_layer(
        transformer, 1, FeedForward(layer.weight_in, layer.bias, weight_out)
    )


def test_fused_readout_rejects_unit_writing_two_scores():
    model, _ = _prototype_model()
    broken = _with_unit_writing_two_scores(model.transformer_)
    with pytest.raises(ValueError, match="Unit 1 of readout block 1 does not write exactly one"):
        broken._build_fused_readout()


@pytest.mark.parametrize("group_units", [1, 4, 5])
def test_fused_readout_same_in_groups_of_blocks(monkeypatch, group_units):
    from sklearn_hardmax import _model

    model, X = _prototype_model()
    transformer = model.transformer_
    transformer._build_fused_readout()
    whole = transformer._fused_readout
    monkeypatch.setattr(_model, "FUSED_GROUP_UNITS", group_units)
    transformer._build_fused_readout()
    grouped = transformer._fused_readout
    assert whole.keys() == grouped.keys()
    for key in whole:
        assert np.array_equal(whole[key], grouped[key]), key


def test_fused_readout_groups_name_bad_unit(monkeypatch):
    from sklearn_hardmax import _model

    model, _ = _prototype_model()
    transformer = model.transformer_
    layer = transformer.blocks[transformer.pooling_block + 3].feed_forward
    weight_out = layer.weight_out.copy()
    weight_out[:, 2] = 0.0
    broken = _with_readout_layer(
        transformer, 2, FeedForward(layer.weight_in, layer.bias, weight_out)
    )
    # Groups of 5 units: the first block's 6 units fill one group, so the
    # broken block starts a group of its own with the block after it.
    monkeypatch.setattr(_model, "FUSED_GROUP_UNITS", 5)
    with pytest.raises(ValueError, match="Unit 2 of readout block 2 does not write exactly one"):
        broken._build_fused_readout()


def test_fused_readout_names_first_bad_block(monkeypatch):
    from sklearn_hardmax import HardmaxTransformer, _model

    model, _ = _prototype_model()
    transformer = model.transformer_
    broken = _with_unit_writing_two_scores(transformer)
    # A later block with an attention head: the unit of block 1 comes first.
    blocks = list(broken.blocks)
    dim = transformer.layout.dim
    head = AttentionHead(np.zeros((0, dim)), np.zeros((0, dim)), [0])
    last = blocks[-1]
    blocks[-1] = Block(last.feed_forward, HardmaxAttention([head], dim))
    broken = HardmaxTransformer(
        broken.embedding, blocks, broken.readout, pooling_block=broken.pooling_block
    )
    monkeypatch.setattr(_model, "FUSED_GROUP_UNITS", 10**6)
    with pytest.raises(ValueError, match="Unit 1 of readout block 1 does not write exactly one"):
        broken._build_fused_readout()


def test_network_scores_no_sequences():
    model, _ = _prototype_model()
    transformer = model.transformer_
    n_features = model.n_features_in_
    pooled = transformer.pooled_tokens(np.zeros((0, n_features)), np.array([0]))
    assert pooled.shape == (0, transformer.layout.dim)
    scores = transformer.class_scores(np.zeros((0, n_features)), np.array([0]))
    assert scores.shape == (0, model.classes_.size)


def test_sequence_batches_keep_whole_sequences():
    from sklearn_hardmax._model import sequence_batches

    offsets = _offsets(3, 2, 15, 1, 1)
    assert sequence_batches(offsets, 5) == [(0, 2), (2, 3), (3, 5)]
    assert sequence_batches(offsets, 100) == [(0, 5)]
    assert sequence_batches(np.array([0]), 5) == []


@pytest.mark.parametrize("values", [6, 12, 2**17])
def test_sparse_feed_forward_in_steps(monkeypatch, values):
    from scipy.sparse import csr_array

    from sklearn_hardmax import _model

    rng = np.random.default_rng(13)
    weight_in = rng.normal(size=(6, 4)) * (rng.random((6, 4)) < 0.5)
    weight_out = rng.normal(size=(4, 6)) * (rng.random((4, 6)) < 0.5)
    layer = FeedForward(csr_array(weight_in), rng.normal(size=6), csr_array(weight_out))
    tokens = rng.normal(size=(11, 4))
    expected = tokens + np.maximum(tokens @ weight_in.T + layer.bias, 0.0) @ weight_out.T
    monkeypatch.setattr(_model, "SPARSE_VALUES", 2**17)
    whole = layer.forward(tokens)
    # The layer has 6 units: steps of 1 and 2 rows, then one step.
    monkeypatch.setattr(_model, "SPARSE_VALUES", values)
    stepped = layer.forward(tokens)
    assert np.array_equal(stepped, whole)
    np.testing.assert_allclose(stepped, expected, rtol=1e-12, atol=1e-12)
