"""
==========================================
Speaker classification on Japanese Vowels
==========================================

This example fits :class:`~sklearn_hardmax.HardmaxTransformerClassifier` with
its default parameters on the bundled Japanese Vowels data, compares the size
of the constructed network with the hardmax construction of arXiv:2502.02270,
and plots the confusion matrix on the test split.
"""

# %%
# Loading the data
# ----------------
#
# Each sequence is one utterance of the vowels "a" and "e". Its tokens are the
# time steps of the recording, each a vector of 12 LPC cepstrum coefficients.
# The class is the speaker, one of nine. The official split has 270 training
# and 370 test sequences of different lengths.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from sklearn_hardmax import HardmaxTransformerClassifier
from sklearn_hardmax.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels("train")
X_test, y_test = load_japanese_vowels("test")
lengths = [len(sequence) for sequence in X_train + X_test]
print(f"{len(X_train)} training and {len(X_test)} test sequences")
print(f"{X_train[0].shape[1]} features per token")
print(f"{min(lengths)} to {max(lengths)} tokens per sequence")

# %%
# Constructing the network
# ------------------------
#
# ``fit`` computes the weights of the transformer from the training data,
# without gradient descent. The defaults are mean pooling and 2 positional cosine
# moments. The network has one pooling block, after which every token of a
# sequence is identical, and readout blocks that compute, for every speaker,
# the squared distance to the nearest pooled training sequence. The nine
# speakers share the readout blocks, so there are as many of them as one
# speaker has training sequences, 30. The theorem of arXiv:2502.02270 builds
# 4N + 1 blocks for N training sequences.

model = HardmaxTransformerClassifier(random_state=0).fit(X_train, y_train)

n_sequences = len(X_train)
print(f"blocks: {model.n_blocks_} (theorem: 4N + 1 = {4 * n_sequences + 1})")
print(f"parameters: {model.n_params_} nonzero weights")
print(f"witnesses: {len(model.witnesses_)}")

# %%
# Accuracy
# --------
#
# The construction classifies every training sequence correctly, and ``fit``
# checks that on the stored network before it returns. On new sequences the
# readout is a 1-nearest-neighbour rule on the pooled representation.

train_accuracy = model.score(X_train, y_train)
test_accuracy = model.score(X_test, y_test)
print(f"training accuracy: {train_accuracy:.4f}")
print(f"test accuracy: {test_accuracy:.4f}")

# %%
# Confusion matrix on the test split
# ----------------------------------
#
# Rows are the true speakers and columns the predicted ones. The test split
# has between 24 and 88 utterances per speaker, so the row sums differ.

display = ConfusionMatrixDisplay.from_estimator(
    model, X_test, y_test, cmap="Blues", colorbar=False
)
display.ax_.set_title(
    f"Japanese Vowels test split: accuracy {test_accuracy:.4f}, "
    f"{np.trace(display.confusion_matrix)} of {len(X_test)} correct"
)
display.ax_.set_xlabel("Predicted speaker")
display.ax_.set_ylabel("True speaker")
plt.tight_layout()
plt.show()
