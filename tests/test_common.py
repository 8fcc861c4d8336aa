"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hardmax import HardmaxTransformerClassifier


@parametrize_with_checks([HardmaxTransformerClassifier()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
