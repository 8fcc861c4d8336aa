"""Steps of the construction against direct numpy computations."""

import numpy as np
import pytest

from sklearn_hardmax import HardmaxTransformerClassifier, _construction
from sklearn_hardmax._construction import _row_keys, distinct_rows, fit_standardization


def _rows_with_repeats():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(500, 3))
    rows[::7] = rows[3]
    rows[10] = [-0.0, 0.0, 1.0]
    rows[11] = [0.0, -0.0, 1.0]
    rows[20:40, 1] = np.round(rows[20:40, 1])
    return rows


def _check_distinct(rows, first, ids):
    _, expected_first = np.unique(_row_keys(rows), return_index=True)
    assert np.array_equal(first, np.sort(expected_first))
    assert np.array_equal(rows[first][ids] + 0.0, rows + 0.0)
    # Ids follow the first occurrences, so those rows get 0, 1, 2, ...
    assert np.array_equal(ids[first], np.arange(first.size))


def test_distinct_rows_match_unique():
    rows = _rows_with_repeats()
    first, ids = distinct_rows(rows)
    _check_distinct(rows, first, ids)
    assert ids[10] == ids[11]


def test_distinct_rows_after_hash_collisions(monkeypatch):
    # Every row gets the same hash, so the exact comparison finds different
    # rows under one hash and falls back to np.unique.
    rows = _rows_with_repeats()
    expected = distinct_rows(rows)
    monkeypatch.setattr(
        _construction, "_row_hashes", lambda rows: np.zeros(rows.shape[0], np.uint64)
    )
    first, ids = distinct_rows(rows)
    _check_distinct(rows, first, ids)
    assert np.array_equal(first, expected[0])
    assert np.array_equal(ids, expected[1])


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (4, 6)])
def test_distinct_rows_of_small_arrays(shape):
    rows = np.arange(np.prod(shape), dtype=float).reshape(shape) % 3
    first, ids = distinct_rows(rows)
    _check_distinct(rows, first, ids)


@pytest.mark.parametrize("chunk_values", [7, 2**19])
def test_standardization_matches_numpy(monkeypatch, chunk_values):
    monkeypatch.setattr(_construction, "STANDARDIZATION_VALUES", chunk_values)
    rng = np.random.default_rng(1)
    tokens = rng.normal(loc=3.0, scale=5.0, size=(101, 4))
    tokens[:, 2] = 0.1
    mean, scale = fit_standardization(tokens)
    np.testing.assert_allclose(mean, tokens.mean(axis=0), rtol=1e-13)
    expected_scale = tokens.std(axis=0)
    expected_scale[2] = 1.0
    np.testing.assert_allclose(scale, expected_scale, rtol=1e-12)


def test_standardization_overflow_names_feature():
    tokens = np.array([[1.0, 1.7e308], [2.0, 1.7e308], [3.0, 1.7e308], [4.0, -1.7e308]])
    with pytest.raises(ValueError, match="Feature 1 overflows float64 when centred"):
        fit_standardization(tokens)


def test_fit_token_ids_follow_first_occurrence():
    X = [np.array([[2.0], [1.0], [2.0]]), np.array([[3.0], [1.0]])]
    model = HardmaxTransformerClassifier(embedding="moments", positional_moments=0)
    model.fit(X, [0, 1])
    tokens = np.vstack(X)
    first, ids = distinct_rows(tokens)
    assert first.tolist() == [0, 1, 3]
    assert ids.tolist() == [0, 1, 0, 2, 1]
    assert np.array_equal(model.predict(X), [0, 1])


@pytest.mark.parametrize("batch_values", [1, 50, 2**22])
def test_shift_in_batches_matches_whole(monkeypatch, batch_values):
    # Batches of whole sequences, and one sequence longer than a batch.
    monkeypatch.setattr(_construction, "SHIFT_BATCH_VALUES", batch_values)
    rng = np.random.default_rng(2)
    X = [rng.normal(size=(length, 2)) for length in (1, 4, 30, 2, 7)]
    model = HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", pooling=("mean", "max", "min"), random_state=0
    ).fit(X, np.arange(5) % 2)
    embedding = model.transformer_.embedding
    tokens = np.vstack(X)
    offsets = np.concatenate([[0], np.cumsum([len(sequence) for sequence in X])])
    pooling = ("mean", "max", "min")
    whole = _construction.centring_shift(embedding.features(tokens, offsets), offsets, pooling)
    batched = _construction._centring_shift_in_batches(embedding, tokens, offsets, pooling)
    assert np.array_equal(batched, whole)


def test_held_out_temperature_minimizes_log_loss():
    from scipy.special import log_softmax

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=200)
    held_out = rng.normal(size=(200, 3))
    held_out[np.arange(200), labels] += 1.5
    temperature = _construction.held_out_temperature(held_out, labels)

    def loss(value):
        return -log_softmax(held_out / value, axis=1)[np.arange(200), labels].mean()

    assert 1e-3 < temperature < 1e3
    for other in (temperature * 0.9, temperature * 1.1):
        assert loss(temperature) <= loss(other)


def test_held_out_temperature_bounds():
    from scipy.special import log_softmax

    labels = np.array([0, 1, 0, 1])
    separated = np.array([[5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, 5.0]])
    temperature = _construction.held_out_temperature(separated, labels)
    probabilities = np.exp(log_softmax(separated / temperature, axis=1))
    assert probabilities[np.arange(4), labels].min() > 1 - 1e-6
    assert _construction.held_out_temperature(np.zeros((4, 1)), np.zeros(4, int)) == 1.0


def test_linear_readout_probabilities_are_calibrated():
    from sklearn.metrics import log_loss

    from sklearn_hardmax.datasets import load_japanese_vowels

    X, y = load_japanese_vowels("train")
    model = HardmaxTransformerClassifier(random_state=0).fit(X, y)
    assert model.readout_ == "linear"
    X_test, y_test = load_japanese_vowels("test")
    # The median training margin, the earlier rule, gave a test log-loss of 1.3952.
    assert log_loss(y_test, model.predict_proba(X_test), labels=model.classes_) < 0.1


def _ridge_data(n_sequences, n_pooled, n_classes=3, seed=4):
    # Unequal classes, so that the intercepts differ between classes.
    rng = np.random.default_rng(seed)
    labels = np.minimum(np.arange(n_sequences) * n_classes**2 // (2 * n_sequences), n_classes - 1)
    centers = rng.normal(scale=4.0, size=(n_classes, n_pooled))
    points = centers[labels] + rng.normal(scale=0.3, size=(n_sequences, n_pooled))
    return points, labels


@pytest.mark.parametrize("shape", [(12, 40), (60, 5)], ids=["gram", "covariance"])
def test_linear_readout_matches_ridge_and_refits(monkeypatch, shape):
    from sklearn.linear_model import Ridge

    points, labels = _ridge_data(*shape)
    monkeypatch.setattr(_construction, "RIDGE_ALPHAS", np.array([0.5]))
    weights, intercepts, alpha, held_out = _construction.fit_linear_readout(
        points, labels, 3, log=lambda message: None
    )
    targets = np.where(labels[:, None] == np.arange(3), 1.0, -1.0)
    ridge = Ridge(alpha=0.5).fit(points, targets)
    assert alpha == 0.5
    np.testing.assert_allclose(weights, ridge.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(intercepts, ridge.intercept_, rtol=1e-9, atol=1e-12)
    # Leave-one-out scores against refitting without each sequence.
    for sequence in range(points.shape[0]):
        others = np.arange(points.shape[0]) != sequence
        refit = Ridge(alpha=0.5).fit(points[others], targets[others])
        expected = refit.predict(points[sequence : sequence + 1])[0]
        np.testing.assert_allclose(held_out[sequence], expected, rtol=1e-8, atol=1e-10)


def test_linear_readout_picks_best_held_out_penalty():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    # Small noisy values: the largest penalties shrink the fit until it
    # misclassifies training sequences, and the others differ in their
    # leave-one-out accuracy.
    points, labels = _ridge_data(40, 60, seed=5)
    points += np.random.default_rng(6).normal(scale=8.0, size=points.shape)
    points *= 0.01
    targets = np.where(labels[:, None] == np.arange(3), 1.0, -1.0)
    messages = []
    weights, intercepts, alpha, _ = _construction.fit_linear_readout(
        points, labels, 3, log=messages.append
    )
    candidates = []
    for candidate in _construction.RIDGE_ALPHAS:
        scores = cross_val_predict(Ridge(alpha=candidate), points, targets, cv=LeaveOneOut())
        accuracy = np.mean(scores.argmax(axis=1) == labels)
        # Every penalty's leave-one-out accuracy is reported, also for those
        # that were not checked for exactness.
        assert f"ridge alpha {candidate:g}: leave-one-out accuracy {accuracy:.4f}" in "\n".join(
            messages
        )
        ridge = Ridge(alpha=candidate).fit(points, targets)
        if np.array_equal(ridge.predict(points).argmax(axis=1), labels):
            candidates.append((accuracy, candidate))
    assert 1 < len(candidates) < len(_construction.RIDGE_ALPHAS)
    assert len({accuracy for accuracy, _ in candidates}) > 1
    # The best accuracy, and among equals the largest penalty.
    assert alpha == max(candidates)[1]
    fitted = points @ weights.T + intercepts
    assert np.array_equal(fitted.argmax(axis=1), labels)


def test_proportion_shift_is_mean_of_ramps(monkeypatch):
    rng = np.random.default_rng(7)
    lengths = np.array([3, 1, 8, 5, 2, 6, 4])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    features = rng.normal(size=(offsets[-1], 4))
    biases = rng.normal(size=(4, 2))
    widths = np.array([0.1, 0.5, 1e-3, 2.0])
    spec = _construction.EmbeddingSpec(
        "convolution", np.zeros(1), np.ones(1), biases=biases, widths=widths
    )

    def direct(sequences):
        ramps = np.clip((features[:, :, None] - biases) / widths[:, None], 0.0, 1.0)
        per_sequence = [ramps[offsets[s] : offsets[s + 1]].mean(axis=0) for s in sequences]
        return np.mean(per_sequence, axis=0).ravel()

    monkeypatch.setattr(_construction, "SHIFT_SAMPLE_TOKENS", 1000)
    whole = _construction._proportion_shift(spec, features, offsets)
    np.testing.assert_allclose(whole, direct(range(7)), rtol=1e-12, atol=1e-12)
    # 29 tokens over a budget of 10 keep every third sequence.
    monkeypatch.setattr(_construction, "SHIFT_SAMPLE_TOKENS", 10)
    sampled = _construction._proportion_shift(spec, features, offsets)
    np.testing.assert_allclose(sampled, direct([0, 3, 6]), rtol=1e-12, atol=1e-12)
    assert not np.allclose(sampled, whole)


def _reference_groups(token_ids, offsets):
    """Group ids by the exact token distribution, first occurrence first."""
    from fractions import Fraction

    keys = {}
    groups = []
    for start, stop in zip(offsets[:-1], offsets[1:]):
        ids, counts = np.unique(token_ids[start:stop], return_counts=True)
        length = stop - start
        key = tuple(zip(ids.tolist(), (Fraction(int(c), int(length)) for c in counts)))
        groups.append(keys.setdefault(key, len(keys)))
    return np.array(groups)


def test_group_indistinguishable_matches_distributions():
    rng = np.random.default_rng(3)
    sequences = []
    for _ in range(300):
        base = rng.integers(0, 6, size=rng.integers(1, 5))
        # Repeats and reorderings of a few short bases give many sequences
        # with proportional multiplicities.
        sequence = np.tile(base, rng.integers(1, 4))
        sequences.append(rng.permutation(sequence))
    lengths = [len(sequence) for sequence in sequences]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    token_ids = np.concatenate(sequences)
    index = _construction.TokenIndex(np.zeros((6, 1)), token_ids, offsets)
    groups = _construction.group_indistinguishable(index)
    expected = _reference_groups(token_ids, offsets)
    assert np.array_equal(groups, expected)
    assert groups.max() + 1 < len(sequences)


def test_collisions_found_among_close_and_far_points():
    rng = np.random.default_rng(4)
    points = rng.normal(size=(200, 20))
    labels = np.arange(200) % 2
    # Pairs closer than the readout resolves: an exact duplicate with
    # another label, a copy moved by one ulp, and a same-label copy, which
    # is no collision.
    points[1] = points[0]
    points[3] = np.nextafter(points[2], np.inf)
    points[6] = np.nextafter(points[4], np.inf)
    pairs = _construction.find_collisions(points, labels)
    assert pairs.tolist() == [[0, 1], [2, 3]]
    far = rng.normal(size=(200, 20))
    assert _construction.find_collisions(far, labels).shape == (0, 2)


def test_moments_fit_same_with_features_in_batches(monkeypatch):
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(rng.integers(1, 30), 2)) * 100 for _ in range(40)]
    y = np.arange(40) % 3
    settings = dict(embedding="moments", readout="prototype", random_state=0)
    whole = HardmaxTransformerClassifier(**settings).fit(X, y)
    # Features of 30 tokens per batch, so fit computes them in batches and
    # pools without keeping them.
    monkeypatch.setattr(_construction, "SHIFT_BATCH_VALUES", 30 * 6)
    batched = HardmaxTransformerClassifier(**settings).fit(X, y)
    assert np.array_equal(whole.transform(X), batched.transform(X))
    assert np.array_equal(whole.decision_function(X), batched.decision_function(X))


@pytest.mark.parametrize("n_features", [1, 3])
def test_identical_sequences_match_positional_groups(n_features):
    from sklearn_hardmax._model import Embedding

    rng = np.random.default_rng(6)
    bases = [
        rng.integers(-2, 3, size=(length, n_features)).astype(float)
        for length in (1, 2, 2, 3, 4)
    ]
    sequences = []
    for _ in range(200):
        sequence = bases[rng.integers(len(bases))].copy()
        if rng.random() < 0.3:
            # Reordered tokens: the same tokens at other positions.
            sequence = sequence[::-1].copy()
        if rng.random() < 0.2:
            # -0.0 equals 0.0 as a token value.
            sequence[sequence == 0.0] = -0.0
        sequences.append(sequence)
    tokens = np.concatenate(sequences)
    lengths = [len(sequence) for sequence in sequences]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    raw = np.hstack([tokens, Embedding.positions(offsets)[:, None]])
    index = _construction.TokenIndex.from_features(raw, offsets)
    expected = _construction.group_indistinguishable(index)
    groups = _construction.group_identical_sequences(tokens, offsets)
    assert np.array_equal(groups, expected)
    assert groups.max() + 1 < len(sequences)


def test_identical_sequences_need_equal_lengths():
    tokens = np.array([[1.0], [1.0], [1.0]])
    offsets = np.array([0, 1, 3])
    groups = _construction.group_identical_sequences(tokens, offsets)
    assert groups.tolist() == [0, 1]
