"""
=====================================================
Choosing pooling heads and positional moments by grid
=====================================================

This example searches the pooling heads and the number of positional cosine
moments of :class:`~sklearn_hardmax.HardmaxTransformerClassifier` with
:class:`~sklearn.model_selection.GridSearchCV` on the training split of the
bundled Japanese Vowels data. It plots the mean cross-validated accuracy of
every setting and reports the test accuracy of the best one.
"""

# %%
# The search
# ----------
#
# The training split has 270 utterances of nine speakers, 30 per speaker.
# Stratified folds keep that balance in every fold. Training accuracy is 1.0
# for every setting, by construction, so only the accuracy on the held-out
# folds distinguishes the settings. The pooling heads set which summaries of a
# sequence the pooled representation contains. The positional moments add
# cosine features of the relative position, so that mean pooling summarizes
# the shape of a sequence over time. Both change the nearest-prototype rule
# on new sequences, which is what cross-validation measures. The search uses
# the moments embedding with the prototype readout, where these two
# parameters matter most; the default convolution embedding has its own
# features.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels("train")
X_test, y_test = load_japanese_vowels("test")

pooling_options = [("mean",), ("max", "min"), ("mean", "max", "min")]
moment_options = [0, 1, 2]
search = GridSearchCV(
    HardmaxTransformerClassifier(
        embedding="moments", readout="prototype", random_state=0
    ),
    {"pooling": pooling_options, "positional_moments": moment_options},
    cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)
print(f"best setting: {search.best_params_}")
print(f"best mean cross-validated accuracy: {search.best_score_:.4f}")

# %%
# Mean cross-validated accuracy of every setting
# ----------------------------------------------
#
# ``cv_results_`` contains one entry per setting. The loop below places each
# mean accuracy in the cell of the heatmap given by the setting's parameters.

accuracy = np.empty((len(pooling_options), len(moment_options)))
results = search.cv_results_
for params, score in zip(results["params"], results["mean_test_score"]):
    row = pooling_options.index(params["pooling"])
    column = moment_options.index(params["positional_moments"])
    accuracy[row, column] = score

fig, ax = plt.subplots(figsize=(6, 4))
image = ax.imshow(accuracy, cmap="viridis")
for row in range(accuracy.shape[0]):
    for column in range(accuracy.shape[1]):
        ax.text(
            column,
            row,
            f"{accuracy[row, column]:.4f}",
            ha="center",
            va="center",
            color="white" if accuracy[row, column] < accuracy.mean() else "black",
        )
ax.set_xticks(range(len(moment_options)), labels=[str(k) for k in moment_options])
ax.set_yticks(
    range(len(pooling_options)), labels=[", ".join(kinds) for kinds in pooling_options]
)
ax.set_xlabel("positional_moments")
ax.set_ylabel("pooling")
ax.set_title("Mean 5-fold cross-validated accuracy")
fig.colorbar(image, ax=ax, label="accuracy")
fig.tight_layout()

# %%
# The best setting on the test split
# ----------------------------------
#
# With ``refit=True``, the default, the search refits the best setting on the
# whole training split, and ``score`` uses that model. The 370 test sequences
# were not used in the search. The best cross-validated setting need not have
# the best test accuracy. Each fold has 54 sequences, so one sequence changes
# the accuracy of a fold by 0.0185, more than the mean accuracies of the best
# settings differ here. The last line fits mean pooling with 2 moments, the
# best test accuracy of this grid.

best_model = search.best_estimator_
print(f"blocks: {best_model.n_blocks_}, parameters: {best_model.n_params_}")
print(f"test accuracy of the best setting: {search.score(X_test, y_test):.4f}")

default_model = HardmaxTransformerClassifier(
    embedding="moments", readout="prototype", random_state=0
).fit(X_train, y_train)
print(
    f"test accuracy of mean pooling, 2 moments: {default_model.score(X_test, y_test):.4f}"
)
plt.show()
