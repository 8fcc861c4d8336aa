"""Parallel pooling and scoring with joblib, locally and on a dask cluster."""

import contextlib

import joblib
import numpy as np
import pytest

from sklearn_hardmax import HardmaxTransformerClassifier


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    X = [rng.normal(size=(rng.integers(1, 12), 3)) + label for label in y]
    X_new = [rng.normal(size=(rng.integers(1, 12), 3)) for _ in range(500)]
    return X, y, X_new


@pytest.fixture(scope="module")
def serial(data):
    X, y, _ = data
    return HardmaxTransformerClassifier(random_state=0).fit(X, y)


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_gives_identical_results(data, serial, n_jobs):
    X, y, X_new = data
    # Small chunks make several chunks, so the work is really spread.
    with joblib.parallel_config(max_nbytes=None):
        from sklearn import config_context

        with config_context(working_memory=1):
            parallel = HardmaxTransformerClassifier(random_state=0, n_jobs=n_jobs)
            parallel.fit(X, y)
            scores = parallel.decision_function(X_new)
            pooled = parallel.transform(X_new)
    with config_context(working_memory=1):
        expected_scores = serial.decision_function(X_new)
        expected_pooled = serial.transform(X_new)
    assert np.array_equal(scores, expected_scores)
    assert np.array_equal(pooled, expected_pooled)
    assert np.array_equal(parallel.predict(X), y)


def test_predict_from_threads_matches_serial(data, serial):
    from concurrent.futures import ThreadPoolExecutor

    _, _, X_new = data
    expected = serial.decision_function(X_new)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(serial.decision_function, [X_new] * 8))
    for result in results:
        assert np.array_equal(result, expected)


def test_dask_backend_predicts_like_serial(data, serial):
    distributed = pytest.importorskip("distributed")
    _, _, X_new = data
    expected = serial.predict(X_new)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        model = joblib.load(_dump(serial))
        model.set_params(n_jobs=2)
        with joblib.parallel_config(backend="dask"):
            predictions = model.predict(X_new)
            scores = model.decision_function(X_new)
            pooled = model.transform(X_new)
    assert np.array_equal(predictions, expected)
    # The layers up to pooling use no BLAS, so the workers pool bit for bit
    # like the serial run.
    assert np.array_equal(pooled, serial.transform(X_new))
    # Dask workers run BLAS with another number of threads, which may round
    # the readout's products differently in the last bits.
    np.testing.assert_allclose(
        scores, serial.decision_function(X_new), rtol=1e-12, atol=1e-12
    )


def _dump(model):
    import io

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return buffer


class _ClusterLikeBackend(joblib.parallel.ThreadingBackend):
    """A threading backend defined outside joblib, as a cluster backend is."""


@pytest.mark.parametrize("backend", [None, "loky", "threading"])
def test_single_chunk_runs_in_process(monkeypatch, data, serial, backend):
    from sklearn_hardmax import _model

    def reject_parallel(*args, **kwargs):
        raise AssertionError("a single chunk was sent to joblib.Parallel")

    _, _, X_new = data
    expected = serial.decision_function(X_new)
    monkeypatch.setattr(_model, "Parallel", reject_parallel)
    model = joblib.load(_dump(serial)).set_params(n_jobs=2)
    context = contextlib.nullcontext() if backend is None else joblib.parallel_config(backend)
    with context:
        assert np.array_equal(model.decision_function(X_new), expected)


def test_single_chunk_goes_to_cluster_backend(monkeypatch, data, serial):
    from sklearn_hardmax import _model

    calls = []

    class CountingParallel(joblib.Parallel):
        def __call__(self, iterable):
            calls.append(1)
            return super().__call__(iterable)

    joblib.register_parallel_backend("cluster_like", _ClusterLikeBackend)
    monkeypatch.setattr(_model, "Parallel", CountingParallel)
    _, _, X_new = data
    model = joblib.load(_dump(serial)).set_params(n_jobs=2)
    with joblib.parallel_config(backend="cluster_like"):
        scores = model.decision_function(X_new)
    assert calls
    np.testing.assert_allclose(scores, serial.decision_function(X_new), rtol=1e-12, atol=1e-12)
