"""
=========================================================
Comparing with a nearest-neighbour rule and a dummy model
=========================================================

The readout of :class:`~sklearn_hardmax.HardmaxTransformerClassifier`
predicts the class of the nearest prototype, the pooled representation of a
training sequence. This example compares, by cross-validation on the
training split of the Japanese Vowels data, the classifier with a
1-nearest-neighbour rule on the same pooled representation and with a
classifier that ignores its input.
"""

# %%
# Three models
# ------------
#
# ``transform`` of a fitted classifier returns the pooled representation of
# every sequence, the coordinates of the point onto which the pooling block
# moves all of its tokens. The classifier is therefore also a transformer, and a
# :class:`~sklearn.pipeline.Pipeline` can feed its output to
# :class:`~sklearn.neighbors.KNeighborsClassifier`. The pipeline fits the
# pooling step, its standardization, centring and separation bumps included,
# on the training folds only. Wrapping the ``transform`` of a model fitted on
# the whole training split in a
# :class:`~sklearn.preprocessing.FunctionTransformer` would let every
# validation fold leak into the representation.
#
# Both hardmax models use the moments embedding with the nearest-prototype
# readout (``embedding="moments", readout="prototype"``), the readout whose
# equivalence with 1-nearest-neighbour this example shows. The default
# convolution embedding with its linear readout is more accurate and slower.
#
# :class:`~sklearn.dummy.DummyClassifier` predicts the most frequent class of
# the training folds whatever the input, which sets the chance level. The
# nine speakers have 30 training utterances each, so a constant prediction is
# right on 1/9 of every stratified fold.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels("train")

models = {
    "HardmaxTransformerClassifier": HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", random_state=0
    ),
    "pooling + 1-nearest neighbour": Pipeline(
        [
            (
                "pool",
                HardmaxTransformerClassifier(
                    embedding="moments", readout="prototype", random_state=0
                ),
            ),
            ("knn", KNeighborsClassifier(n_neighbors=1)),
        ]
    ),
    "DummyClassifier": DummyClassifier(),
}

# %%
# Cross-validation
# ----------------
#
# Five stratified folds, repeated three times with different shuffles, give
# 15 accuracies per model. Every model is scored on the same folds,
# because the splitter has a fixed ``random_state``.

cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=0)
scores = {}
for name, model in models.items():
    scores[name] = cross_val_score(model, X_train, y_train, cv=cv)
for name, model_scores in scores.items():
    print(f"{name}: {model_scores.mean():.4f} +/- {model_scores.std():.4f}")

# %%
# The classifier's readout is a 1-nearest-neighbour rule on the pooled
# representation, so the first two models make the same predictions. They
# can differ only where two prototypes of different classes are equally near
# up to rounding, or where the majority rule of ``fit`` relabels training
# sequences that no hardmax transformer can tell apart. Here they get the
# same accuracy on every fold.

hardmax_scores, knn_scores = list(scores.values())[:2]
largest_difference = np.abs(hardmax_scores - knn_scores).max()
print(f"largest difference over the folds: {largest_difference}")

# %%
# Accuracy over the folds
# -----------------------
#
# Each box shows the 15 fold accuracies of one model. The dashed line is the
# chance level of the nine balanced classes.

fig, ax = plt.subplots(figsize=(7, 4))
ax.boxplot(list(scores.values()))
tick_labels = [name.replace(" + ", " +\n") for name in scores]
ax.set_xticks(range(1, len(scores) + 1), labels=tick_labels)
ax.axhline(1 / 9, color="gray", linestyle="--", linewidth=1, label="chance, 1/9")
ax.set_ylabel("accuracy on the validation fold")
ax.set_ylim(0, 1.05)
ax.set_title("Japanese Vowels training split, 5-fold cross-validation, 3 repeats")
ax.legend(loc="center right")
fig.tight_layout()
plt.show()
