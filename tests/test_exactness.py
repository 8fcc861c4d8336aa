"""Exactness of the constructed transformer on hard training sets.

Every case checks three things. Each training sequence gets its label, or its
group's majority label with a warning when no hardmax transformer can
distinguish the group. The network has at most ``n_sequences + 2`` blocks.
The reported parameter count equals a count derived here from the structure
of the construction.
"""

import math
import warnings

import numpy as np
import pytest

from sklearn_hardmax import (
    HardmaxTransformerClassifier,
    IndistinguishableSequencesWarning,
)


def _sequences(X):
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return [row[None, :] for row in X]
    return [np.asarray(sequence, dtype=np.float64) for sequence in X]


def distribution_key(sequence, positional_moments):
    """Return the key of a sequence's empirical token distribution in the model.

    With positional moments a token is identified together with its relative
    position, which the model's raw coordinates carry.
    """
    n_tokens = len(sequence)
    items = []
    for position, token in enumerate(sequence):
        tau = position / (n_tokens - 1) if n_tokens > 1 else 0.0
        if positional_moments == 0:
            tau = None
        items.append((tuple(float(value) + 0.0 for value in token), tau))
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    divisor = math.gcd(*counts.values())
    return tuple(sorted((item, count // divisor) for item, count in counts.items()))


def expected_training_labels(X, y, positional_moments, classes):
    """Return y with each indistinguishable group given its majority label."""
    sequences = _sequences(X)
    keys = [distribution_key(sequence, positional_moments) for sequence in sequences]
    rank = {label: index for index, label in enumerate(classes)}
    groups = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    expected = np.asarray(y).copy()
    n_conflicts = 0
    for members in groups.values():
        labels = [y[member] for member in members]
        if len(set(labels)) > 1:
            n_conflicts += 1
            votes = {label: labels.count(label) for label in set(labels)}
            winner = min(votes, key=lambda label: (-votes[label], rank[label]))
            expected[members] = winner
    return expected, n_conflicts


def expected_n_params(model, X):
    """Count the nonzero weights from the construction's structure.

    Data-dependent zeros come from the data (the standardization mean, the
    centring shift, the prototypes) and every count of units and connections
    from the construction's rules.
    """
    transformer = model.transformer_
    n_features = model.n_features_in_
    n_embedded = n_features * (model.positional_moments + 1)
    pooling = transformer.layout.pooling
    witnesses = model.witnesses_
    n_separation = 4 if witnesses else 0
    n_classes = model.classes_.size

    # Embedding: the mean, the scale (never 0), one copy per register, the
    # constant coordinate.
    tokens = np.vstack(_sequences(X))
    embedding = transformer.embedding
    count = np.count_nonzero(embedding.mean) + n_features
    count += n_embedded * len(pooling) + 1

    # With witnesses, the embedding copies the raw token (and its position)
    # and the pooling block clears each copy with two units of two weights.
    if witnesses:
        n_raw = n_features + (model.positional_moments > 0)
        count += n_raw + 4 * n_raw

    # Witness bumps: two units per term reading g and writing the witness's
    # scratch coordinate, then one unit writing the offset and one clearing
    # the scratch.
    for witness in witnesses:
        for coordinates, _, center in witness.terms:
            count += 2 * len(coordinates) + 2 * (center != 0) + 2
        count += 1 + 1 + np.count_nonzero(witness.offset) + 2

    # Centring unit: bias 1 and the shift, the mean over sequences of the
    # uncentred pooled registers.
    sequences = _sequences(X)
    standardized = [(sequence - embedding.mean) / embedding.scale for sequence in sequences]
    features = []
    for sequence in standardized:
        n_tokens = len(sequence)
        tau = np.arange(n_tokens) / max(n_tokens - 1, 1)
        parts = [sequence] + [
            sequence * np.cos(moment * np.pi * tau)[:, None]
            for moment in range(1, model.positional_moments + 1)
        ]
        features.append(np.hstack(parts))
    pooled = {
        "mean": np.array([block.mean(axis=0) for block in features]),
        "max": np.array([block.max(axis=0) for block in features]),
        "min": np.array([block.min(axis=0) for block in features]),
    }
    shift = np.concatenate([pooled[kind].mean(axis=0) for kind in pooling])
    if np.any(shift):
        count += 1 + np.count_nonzero(shift)

    # Pooling heads: a rank-zero mean head writing the mean register and the
    # separation coordinates, and a head with one-hot Q, K and V per leader.
    count += n_embedded * ("mean" in pooling) + n_separation
    count += 3 * n_embedded * (("max" in pooling) + ("min" in pooling))

    # Readout blocks over the prototypes of each class: every distinct
    # representation, or the condensed subset that fit chose.
    representations = model.transform(X)
    labels = np.searchsorted(model.classes_, model.training_labels_)
    _, first = np.unique(representations, axis=0, return_index=True)
    if model.prototypes == "all":
        assert np.array_equal(np.sort(first), model.prototype_indices_)
    else:
        first = model.prototype_indices_
    seen = set()
    for position in np.sort(first):
        prototype = representations[position]
        label = labels[position]
        nonzero = np.count_nonzero(prototype)
        has_bias = int(prototype @ prototype != 0)
        if label in seen:
            count += nonzero + 1 + has_bias + 1
        else:
            count += 2 * nonzero + 2 * has_bias + 2
            seen.add(label)

    # Readout: one weight per class with prototypes, a -inf bias otherwise.
    count += n_classes
    assert tokens.shape[1] == n_features
    return int(count)


def expected_n_blocks_bound(X):
    return len(_sequences(X)) + 2


# Data families. Each returns (X, y).


def random_ragged(rng):
    X = [rng.normal(size=(rng.integers(1, 12), 3)) for _ in range(40)]
    return X, rng.integers(0, 3, size=40)


def shared_vocabulary(rng):
    vocabulary = rng.normal(size=(4, 2))
    X = [vocabulary[rng.integers(0, 4, size=rng.integers(1, 7))] for _ in range(60)]
    return X, rng.integers(0, 2, size=60)


def equal_means(rng):
    a, c = np.array([[0.0, 1.0]]), np.array([[2.0, -1.0]])
    b = (a + c) / 2
    X = [np.vstack([a, c]), b, np.vstack([a, b, c]), np.vstack([a, c, a, c]), b.repeat(3, 0)]
    X += [rng.normal(size=(3, 2)) for _ in range(5)]
    return X, np.array([0, 1, 1, 0, 1, 0, 1, 0, 1, 0])


def integer_tokens(rng):
    X = [rng.integers(0, 4, size=(rng.integers(1, 6), 2)) for _ in range(50)]
    return X, rng.integers(0, 3, size=50)


def nested_subsets(rng):
    base = rng.normal(size=(12, 2))
    X = [base[: length] for length in range(1, 13)]
    return X, np.arange(12) % 2


def permuted(rng):
    base = [rng.normal(size=(5, 2)) for _ in range(6)]
    X = base + [sequence[rng.permutation(5)] for sequence in base]
    return X, np.array([0] * 6 + [1] * 6)


def one_token(rng):
    return rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)


def one_feature(rng):
    X = [rng.integers(-3, 4, size=(rng.integers(1, 6), 1)).astype(float) for _ in range(40)]
    return X, rng.integers(0, 2, size=40)


def wide_tokens(rng):
    X = [rng.normal(size=(rng.integers(1, 5), 64)) for _ in range(20)]
    return X, rng.integers(0, 4, size=20)


def duplicates(rng):
    X = [rng.normal(size=(rng.integers(1, 5), 3)) for _ in range(10)]
    y = rng.integers(0, 2, size=10)
    return X + [sequence.copy() for sequence in X], np.concatenate([y, y])


def tiny_scale(rng):
    X, y = random_ragged(rng)
    return [sequence * 1e-8 for sequence in X], y


def huge_scale(rng):
    X, y = random_ragged(rng)
    return [sequence * 1e8 for sequence in X], y


def large_offset(rng):
    X, y = random_ragged(rng)
    return [sequence + 1e6 for sequence in X], y


def long_sequences(rng):
    X = [rng.normal(size=(5000, 3)) for _ in range(3)]
    X += [rng.normal(size=(rng.integers(1, 8), 3)) for _ in range(7)]
    return X, np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])


def mixed_amplitudes(rng):
    low = [1e-6 * rng.normal(size=(rng.integers(2, 6), 3)) for _ in range(15)]
    high = [1e3 * rng.normal(size=(rng.integers(2, 6), 3)) for _ in range(15)]
    return low + high, rng.integers(0, 2, size=30)


FAMILIES = [
    random_ragged,
    shared_vocabulary,
    equal_means,
    integer_tokens,
    nested_subsets,
    permuted,
    one_token,
    one_feature,
    wide_tokens,
    duplicates,
    tiny_scale,
    huge_scale,
    large_offset,
    long_sequences,
    mixed_amplitudes,
]

SETTINGS = [
    {},
    {"positional_moments": 0},
    {"pooling": ("max", "min"), "positional_moments": 0},
    {"pooling": ("mean", "max", "min"), "positional_moments": 1},
    {"prototypes": "condensed", "positional_moments": 0},
]


# The parameter count above follows the moments embedding and the
# nearest-prototype readout; the convolution embedding and the linear readout
# are checked in test_fit_exact_with_convolution_and_linear.
MOMENTS_PROTOTYPE = {"embedding": "moments", "readout": "prototype"}


def _fit(X, y, settings):
    model = HardmaxTransformerClassifier(random_state=0, **{**MOMENTS_PROTOTYPE, **settings})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    conflicts = [w for w in caught if issubclass(w.category, IndistinguishableSequencesWarning)]
    return model, conflicts


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: str(s) or "defaults")
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_fit_exact_on_family(family, settings):
    X, y = family(np.random.default_rng(0))
    model, conflicts = _fit(X, y, settings)
    expected, n_conflicts = expected_training_labels(
        X, y, model.positional_moments, model.classes_
    )

    assert len(conflicts) == (1 if n_conflicts else 0)
    assert np.array_equal(model.training_labels_, expected)
    assert np.array_equal(model.predict(X), expected)
    assert model.n_blocks_ <= expected_n_blocks_bound(X)
    assert model.n_params_ == expected_n_params(model, X)


def test_fit_warns_on_permutations_without_positions():
    X, y = permuted(np.random.default_rng(1))
    with pytest.warns(IndistinguishableSequencesWarning, match="6 groups"):
        model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, positional_moments=0).fit(X, y)
    # Each pair has one vote per class, so the tie goes to the first class.
    assert np.array_equal(model.predict(X), np.zeros(12, dtype=int))
    assert len(model.conflicting_groups_) == 6


@pytest.mark.parametrize(
    "settings, hinted",
    [
        ({"embedding": "moments", "positional_moments": 0}, True),
        ({"embedding": "moments", "positional_moments": 2}, False),
        ({"embedding": "convolution", "positional_moments": 0}, False),
    ],
)
def test_conflict_warning_hints_order_only_without_positions(settings, hinted):
    X = [np.array([[1.0], [2.0]])] * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        HardmaxTransformerClassifier(random_state=0, **settings).fit(X, [0, 1])
    messages = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, IndistinguishableSequencesWarning)
    ]
    assert len(messages) == 1
    assert ("differ only in token order" in messages[0]) == hinted


def test_fit_separates_permutations_with_positions():
    X, y = permuted(np.random.default_rng(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndistinguishableSequencesWarning)
        model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, positional_moments=1).fit(X, y)
    assert np.array_equal(model.predict(X), y)


def test_fit_needs_witness_for_equal_means():
    # {a, c} and {b} with b the midpoint have the same mean, and mean pooling
    # alone cannot tell them apart.
    a, c = np.array([[0.0]]), np.array([[2.0]])
    X = [np.vstack([a, c]), (a + c) / 2]
    model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, pooling=("mean",), positional_moments=0)
    model.fit(X, [0, 1])
    assert len(model.witnesses_) == 1
    assert np.array_equal(model.predict(X), [0, 1])


def test_fit_majority_with_lost_class_scores_minus_infinity():
    token = np.array([[1.0, 2.0]])
    X = [token, token, token, np.array([[5.0, 5.0]])]
    y = np.array(["a", "a", "b", "c"])
    with pytest.warns(IndistinguishableSequencesWarning):
        model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE).fit(X, y)
    assert model.classes_.tolist() == ["a", "b", "c"]
    assert model.predict(X).tolist() == ["a", "a", "a", "c"]
    scores = model.decision_function([np.array([[3.0, 3.0]]), token])
    assert np.all(scores[:, 1] == -np.inf)
    assert np.all(model.predict_proba([token])[:, 1] == 0.0)


def test_fit_majority_tie_goes_to_first_class():
    token = np.array([[0.5]])
    with pytest.warns(IndistinguishableSequencesWarning):
        model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE).fit([token, token], ["z", "y"])
    assert model.predict([token]).tolist() == ["y"]


def test_fit_near_duplicates_with_different_labels():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(6, 3))
    near = base.copy()
    near[2, 1] *= 1 + 1e-9
    X = [base, near] + [rng.normal(size=(4, 3)) for _ in range(6)]
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    for settings in SETTINGS:
        model, conflicts = _fit(X, y, settings)
        assert not conflicts
        assert np.array_equal(model.predict(X), y)


def test_fit_integer_and_float32_input_match_float64():
    rng = np.random.default_rng(4)
    X = [rng.integers(0, 5, size=(rng.integers(1, 6), 2)) for _ in range(30)]
    y = rng.integers(0, 2, size=30)
    reference = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, random_state=0).fit(
        [sequence.astype(np.float64) for sequence in X], y
    )
    for dtype in (np.int64, np.int32, np.float32):
        model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IndistinguishableSequencesWarning)
            model.fit([sequence.astype(dtype) for sequence in X], y)
        assert np.array_equal(model.training_labels_, reference.training_labels_)
        assert np.array_equal(
            model.transform(X), reference.transform(X)
        ), f"dtype {dtype}"


def test_fit_exact_with_many_classes():
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(rng.integers(1, 4), 2)) for _ in range(60)]
    y = np.arange(60)
    model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE).fit(X, y)
    assert np.array_equal(model.predict(X), y)
    # Every class has one prototype, so all of them share one readout block.
    assert model.n_blocks_ == 2


def test_fit_exact_on_shared_vocabulary_consistent_labels():
    # Labels are a function of the token distribution, so there is nothing to
    # vote on, but many distributions share a mean.
    rng = np.random.default_rng(6)
    X = [rng.integers(0, 3, size=(rng.integers(1, 7), 1)).astype(float) for _ in range(80)]
    keys = [distribution_key(sequence, 0) for sequence in X]
    label_of = {key: rng.integers(0, 2) for key in keys}
    y = np.array([label_of[key] for key in keys])
    model, conflicts = _fit(X, y, {"pooling": ("mean",), "positional_moments": 0})
    assert not conflicts
    assert np.array_equal(model.predict(X), y)
    assert len(model.witnesses_) > 0
    assert model.n_params_ == expected_n_params(model, X)


def test_training_margin_exceeds_float_floor():
    # The separation offsets must leave every pair of differently labelled
    # sequences apart by more than rounding, also in the literal chain.
    X, y = mixed_amplitudes(np.random.default_rng(7))
    model = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, pooling=("mean",), positional_moments=0)
    model.fit(X, y)
    outputs, _ = model.transformer_.forward(X, return_states=True)
    scores = model.transformer_.readout.forward(np.array([out[0] for out in outputs]))
    assert np.array_equal(model.classes_[scores.argmax(axis=1)], y)


def test_distribution_key_reduces_counts():
    sequence = np.array([[1.0], [2.0], [1.0], [2.0]])
    assert distribution_key(sequence, 0) == distribution_key(sequence[:2], 0)
    assert distribution_key(sequence, 0) != distribution_key(sequence[:3], 0)


def test_condensed_prototypes_are_fewer_and_exact():
    rng = np.random.default_rng(8)
    centers = rng.normal(size=(3, 2)) * 4
    y = np.repeat(np.arange(3), 40)
    X = [centers[label] + rng.normal(size=(rng.integers(2, 6), 2)) for label in y]
    full = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, random_state=0).fit(X, y)
    condensed = HardmaxTransformerClassifier(**MOMENTS_PROTOTYPE, prototypes="condensed", random_state=0)
    condensed.fit(X, y)
    assert np.array_equal(condensed.predict(X), y)
    assert condensed.n_prototypes_ < full.n_prototypes_ / 2
    assert condensed.n_blocks_ < full.n_blocks_
    assert condensed.n_params_ == expected_n_params(condensed, X)


def test_fit_reports_training_margins(capsys):
    X, y = random_ragged(np.random.default_rng(9))
    HardmaxTransformerClassifier(verbose=1).fit(X, y)
    printed = capsys.readouterr().out
    assert "training margins over 40 checked sequences" in printed
    median = float(printed.split("median ")[1].split(",")[0])
    assert median > 0


def test_sequence_too_long_for_memory_rejected(monkeypatch):
    import sklearn_hardmax._model as model_module

    # Pretend the machine has 1 MiB, so a 10,000-token sequence cannot fit.
    monkeypatch.setattr(model_module, "_physical_memory", lambda: 2**20)
    X = [np.ones((10_000, 3)), np.zeros((2, 3))]
    with pytest.raises(ValueError, match="Sequence 0 has 10000 tokens; pooling it needs"):
        HardmaxTransformerClassifier(embedding="moments").fit(X, [0, 1])


CONVOLUTION_SETTINGS = [
    {},
    {"readout": "prototype"},
    {"embedding": "moments", "readout": "auto", "positional_moments": 0},
    {"pooling": ("mean", "max"), "attention": "softmax"},
    {"embedding": "moments", "readout": "prototype", "pooling": ("max", "min"),
     "attention": "softmax", "positional_moments": 0},
]


def _linear_block_params(block):
    layer = block.feed_forward
    return (
        np.count_nonzero(layer.weight_in)
        + np.count_nonzero(layer.bias)
        + np.count_nonzero(layer.weight_out)
    )


@pytest.mark.parametrize("settings", CONVOLUTION_SETTINGS, ids=str)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_fit_exact_with_convolution_and_linear(family, settings):
    X, y = family(np.random.default_rng(0))
    model = HardmaxTransformerClassifier(random_state=0, **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    conflicts = [w for w in caught if issubclass(w.category, IndistinguishableSequencesWarning)]
    embedding = settings.get("embedding", "convolution")
    moments = model.positional_moments if embedding == "moments" else 1
    expected, n_conflicts = expected_training_labels(X, y, moments, model.classes_)

    assert len(conflicts) == (1 if n_conflicts else 0)
    assert np.array_equal(model.training_labels_, expected)
    assert np.array_equal(model.predict(X), expected)
    assert model.n_blocks_ <= expected_n_blocks_bound(X)
    assert model.readout_ in ("linear", "prototype")
    if settings.get("readout", "auto") == "prototype":
        assert model.readout_ == "prototype"
    if model.readout_ == "linear":
        # One readout block of two units per class, whatever N is.
        readout_block = model.transformer_.blocks[-1]
        assert model.n_blocks_ == model.transformer_.pooling_block + 2
        assert readout_block.feed_forward.width == 2 * model.classes_.size
        assert model.n_prototypes_ == 0
        assert _linear_block_params(readout_block) > 0


def test_linear_readout_fallback_to_prototypes():
    # 200 one-token sequences of one feature: no linear head on a handful of
    # pooled features classifies alternating labels exactly.
    rng = np.random.default_rng(10)
    X = np.sort(rng.normal(size=(200, 1)), axis=0)
    y = np.arange(200) % 2
    model = HardmaxTransformerClassifier(embedding="moments", readout="auto").fit(X, y)
    assert model.readout_ == "prototype"
    assert np.array_equal(model.predict(X), y)
    with pytest.raises(ValueError, match="No ridge penalty gives a linear readout"):
        HardmaxTransformerClassifier(embedding="moments", readout="linear").fit(X, y)


def test_convolution_embedding_separates_order():
    # The same tokens in another order: convolutions see the order.
    rng = np.random.default_rng(11)
    base = [rng.normal(size=(6, 2)) for _ in range(5)]
    X = base + [sequence[::-1] for sequence in base]
    y = np.array([0] * 5 + [1] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndistinguishableSequencesWarning)
        model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    assert np.array_equal(model.predict(X), y)


def _fitted_parts(readout, embedding="moments"):
    """Return a fitted model, its training tokens, offsets, labels and representations."""
    rng = np.random.default_rng(11)
    X = [rng.normal(size=(length, 3)) for length in (4, 1, 6, 3, 5, 2, 7, 4)]
    X.append(X[0].copy())
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 0])
    model = HardmaxTransformerClassifier(
        embedding=embedding, readout=readout, random_state=0
    ).fit(X, y)
    tokens = np.vstack(X)
    offsets = np.concatenate([[0], np.cumsum([len(sequence) for sequence in X])])
    transformer = model.transformer_
    representations = transformer.pooled_tokens(tokens, offsets)[:, transformer.layout.pooled]
    return transformer, tokens, offsets, y, representations


def _verify(parts, labels=None, representations=None, **options):
    from sklearn_hardmax import _construction

    transformer, tokens, offsets, y, pooled = parts
    return _construction.verify_exactness(
        transformer,
        tokens,
        offsets,
        y if labels is None else labels,
        pooled if representations is None else representations,
        np.random.RandomState(0),
        **options,
    )


def test_verification_passes_on_fitted_network():
    parts = _fitted_parts("prototype")
    scores, subset = _verify(parts)
    assert np.array_equal(scores.argmax(axis=1), parts[3][subset])


def test_verification_rejects_representations_of_another_pass():
    parts = _fitted_parts("prototype")
    shifted = np.nextafter(parts[4], np.inf)
    with pytest.raises(RuntimeError, match="layer-by-layer pass and the fused pooling pass"):
        _verify(parts, representations=shifted)


def test_verification_rejects_changed_pooling_layer():
    transformer, *rest = parts = _fitted_parts("prototype")
    # The fused pass was built from the layers before the change.
    transformer._pooling_front()
    layer = transformer.blocks[transformer.pooling_block].feed_forward
    layer.bias = layer.bias + 1e-3
    with pytest.raises(RuntimeError, match="layer-by-layer pass and the fused pooling pass"):
        _verify(parts)


def test_verification_rejects_equal_sequences_with_other_labels(monkeypatch):
    from sklearn_hardmax import _construction

    parts = _fitted_parts("prototype")
    labels = parts[3].copy()
    # Sequences 0 and 8 are equal.
    labels[8] = 1
    with pytest.raises(RuntimeError, match="different labels but the readout cannot"):
        _verify(parts, labels=labels)

    def fail_if_called(*args):
        raise AssertionError("the collision search ran again")

    # After separate, the search is not repeated.
    monkeypatch.setattr(_construction, "find_collisions", fail_if_called)
    _verify(parts, separated=True)


def test_verification_rejects_misclassified_sequence():
    parts = _fitted_parts("prototype")
    labels = parts[3].copy()
    labels[2] = 1
    with pytest.raises(RuntimeError, match="Training sequence 2 is misclassified"):
        _verify(parts, labels=labels)


def test_verification_of_linear_readout_checks_every_margin():
    from sklearn_hardmax import _construction

    transformer, tokens, offsets, y, pooled = parts = _fitted_parts("linear", "convolution")
    linear = _construction.fit_linear_readout(pooled, y, 3, log=lambda message: None)
    scores, subset = _verify(parts, check_all=True, linear=linear)
    assert np.array_equal(subset, np.arange(len(y)))
    labels = y.copy()
    labels[3] = 2
    with pytest.raises(RuntimeError, match="Training sequence 3 .* by the linear readout"):
        _verify(parts, labels=labels, check_all=True, linear=linear)


def test_long_sequence_within_fused_pass_memory(monkeypatch):
    import sklearn_hardmax._model as model_module

    X = [np.ones((10_000, 3)), np.zeros((2, 3))]
    model = HardmaxTransformerClassifier(embedding="moments").fit(X, [0, 1])
    transformer = model.transformer_
    fused = 10_000 * transformer._pooling_front().token_bytes
    full_width = 10_000 * transformer.layout.dim * 8 * model_module.TOKEN_COPIES
    assert fused < full_width
    # Enough memory for the fused pass, not for the full-width one.
    monkeypatch.setattr(model_module, "_physical_memory", lambda: (fused + full_width) // 2)
    assert np.array_equal(model.predict(X), [0, 1])
    monkeypatch.setattr(model_module, "_physical_memory", lambda: fused // 2)
    with pytest.raises(ValueError, match="Sequence 0 has 10000 tokens; pooling it needs"):
        model.predict(X)


def test_convolution_fit_beyond_memory_rejected(monkeypatch):
    import sklearn_hardmax._model as model_module

    monkeypatch.setattr(model_module, "_physical_memory", lambda: 2**20)
    X = [np.ones((300, 3)), np.zeros((200, 3))]
    with pytest.raises(ValueError, match='500 training tokens .* use embedding="moments"'):
        HardmaxTransformerClassifier().fit(X, [0, 1])
