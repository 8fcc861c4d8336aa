"""Compare embeddings, readouts, pooling heads and moments on Japanese Vowels.

For every setting the script prints the 5-fold stratified cross-validated
accuracy on the official training split, the accuracy on the official test
split, and the size of the network fitted on the whole training split. The
first table compares embeddings and readouts. The second compares pooling
heads and positional moments of the moments embedding with the prototype
readout. The classifier's defaults
are the convolution embedding with the automatic (here linear) readout and
mean pooling, the best cross-validated setting of the first table.

Run: python benchmarks/choose_defaults.py
"""

import itertools

from sklearn.model_selection import StratifiedKFold, cross_val_score

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

POOLINGS = [("mean",), ("max", "min"), ("mean", "max", "min")]
MOMENTS = [0, 1, 2, 3, 4]


# Embedding and readout settings compared first; the table of pooling heads
# and moments below uses the moments embedding with the prototype readout.
READOUTS = [
    ("convolution", "auto", ("mean",)),
    ("convolution", "prototype", ("mean",)),
    ("convolution", "auto", ("mean", "max")),
    ("moments", "auto", ("mean",)),
    ("moments", "prototype", ("mean",)),
]


def main():
    X_train, y_train = load_japanese_vowels("train")
    X_test, y_test = load_japanese_vowels("test")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    print(
        f"{'embedding':<13}{'readout':<11}{'pooling':<10}{'used':<11}{'cv':>8}"
        f"{'test':>8}{'blocks':>8}{'params':>9}"
    )
    for embedding, readout, pooling in READOUTS:
        model = HardmaxTransformerClassifier(
            embedding=embedding, readout=readout, pooling=pooling, random_state=0
        )
        cv = cross_val_score(model, X_train, y_train, cv=folds).mean()
        model.fit(X_train, y_train)
        test = model.score(X_test, y_test)
        print(
            f"{embedding:<13}{readout:<11}{'+'.join(pooling):<10}{model.readout_:<11}"
            f"{cv:>8.4f}{test:>8.4f}{model.n_blocks_:>8}{model.n_params_:>9}"
        )
    print()
    print(f"{'pooling':<22}{'moments':>8}{'cv':>8}{'test':>8}{'blocks':>8}{'params':>9}")
    for pooling, moments in itertools.product(POOLINGS, MOMENTS):
        model = HardmaxTransformerClassifier(
            embedding="moments",
            readout="prototype",
            pooling=pooling,
            positional_moments=moments,
            random_state=0,
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
