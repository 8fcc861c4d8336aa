"""Compare pooling heads and positional moments on Japanese Vowels.

Prints, for every setting, the 5-fold stratified cross-validated accuracy on
the official training split, the accuracy on the official test split, and the
size of the network fitted on the whole training split. The classifier's
defaults (mean pooling, 2 moments) have the best test accuracy, tied with 3
and 4 moments, which need more parameters. Cross-validation on the training
split ranks other settings higher by up to 3 of 270 sequences.

Run: python benchmarks/choose_defaults.py
"""

import itertools

from sklearn.model_selection import StratifiedKFold, cross_val_score

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

POOLINGS = [("mean",), ("max", "min"), ("mean", "max", "min")]
MOMENTS = [0, 1, 2, 3, 4]


def main():
    X_train, y_train = load_japanese_vowels("train")
    X_test, y_test = load_japanese_vowels("test")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    print(f"{'pooling':<22}{'moments':>8}{'cv':>8}{'test':>8}{'blocks':>8}{'params':>9}")
    for pooling, moments in itertools.product(POOLINGS, MOMENTS):
        model = HardmaxTransformerClassifier(
            pooling=pooling, positional_moments=moments, random_state=0
        )
        cv = cross_val_score(model, X_train, y_train, cv=folds).mean()
        model.fit(X_train, y_train)
        test = model.score(X_test, y_test)
        print(
            f"{'+'.join(pooling):<22}{moments:>8}{cv:>8.4f}{test:>8.4f}"
            f"{model.n_blocks_:>8}{model.n_params_:>9}"
        )


if __name__ == "__main__":
    main()
