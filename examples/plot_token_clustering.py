"""
=====================================
Token clustering in the pooling block
=====================================

The pooling block of a fitted
:class:`~sklearn_hardmax.HardmaxTransformerClassifier` makes every token of a
sequence identical, because hardmax attention moves all tokens onto their mean
and onto their leaders. This example fits the classifier on a few short
sequences of 2-D tokens and plots the token states layer by layer with
``model.transformer_.forward(X, return_states=True)``.
"""

# %%
# A small data set
# ----------------
#
# Six training sequences of 3 to 5 tokens in the plane, three per class. The
# tokens of class 0 lie around (-1, 0) and those of class 1 around (1, 1).
# The model uses the three pooling heads, so the leader heads are visible,
# and no positional moments, so every embedded token has exactly the two
# standardized features.

import matplotlib.pyplot as plt
import numpy as np

from sklearn_hardmax import HardmaxTransformerClassifier

rng = np.random.default_rng(0)
centers = np.array([[-1.0, 0.0], [1.0, 1.0]])
y = np.array([0, 0, 0, 1, 1, 1])
X = [
    centers[label] + rng.normal(scale=0.7, size=(rng.integers(3, 6), 2)) for label in y
]

# The moments embedding without positional features keeps every token in the
# plane of its two features, and the prototype readout makes the last step a
# nearest-prototype rule, which is easy to draw.
model = HardmaxTransformerClassifier(
    embedding="moments",
    readout="prototype",
    pooling=("mean", "max", "min"),
    positional_moments=0,
    random_state=0,
).fit(X, y)
print(model.transformer_)
print(f"training accuracy: {model.score(X, y):.1f}")

# %%
# The token layout
# ----------------
#
# Every token of the network has the same layout, stored in
# ``model.transformer_.layout``. It starts with one register per pooling
# kind, each a copy of the embedded features, followed by the constant
# coordinate and one score coordinate per class. This data needs no
# separation witness, so the layout has no separation, raw or scratch
# coordinates. ``layout.register(kind)`` returns the coordinates of the
# register of a pooling kind. Each plot below shows the two coordinates of one
# register.

print(f"separation witnesses: {len(model.witnesses_)}")
layout = model.transformer_.layout
for kind in layout.pooling:
    print(f"{kind} register: coordinates {layout.register(kind).tolist()}")
print(f"constant coordinate: {layout.constant}")
print(f"score coordinates: {layout.scores.tolist()}")

# %%
# Token states layer by layer
# ---------------------------
#
# With ``return_states=True``, ``forward`` runs every layer on every token and
# also returns ``states``. ``states[0][i]`` holds the tokens of sequence ``i``
# after the embedding, and then every block adds two entries, the state after
# its feed-forward layer and the state after its attention layer. The pooling
# block is ``model.transformer_.pooling_block``, here block 0.
#
# After the pooling block each sequence has a single distinct token, its
# pooled representation.

transformer = model.transformer_
_, states = transformer.forward(X, return_states=True)
pooling = transformer.pooling_block
embedded = states[0]
before_attention = states[2 * pooling + 1]
pooled = states[2 * pooling + 2]
for index, tokens in enumerate(pooled):
    n_distinct = np.unique(tokens, axis=0).shape[0]
    print(
        f"sequence {index}: {len(tokens)} tokens, distinct after pooling: {n_distinct}"
    )

# %%
# The embedded tokens
# -------------------
#
# The embedding standardizes every feature with the mean and the standard
# deviation over all training tokens, and copies the result into every
# register. The plot shows the mean register. A line joins the tokens of one
# sequence in order.

colors = np.array(["tab:blue", "tab:orange"])
mean_register = layout.register("mean")

fig, ax = plt.subplots(figsize=(5, 4.5))
for tokens, label in zip(embedded, y):
    points = tokens[:, mean_register]
    ax.plot(points[:, 0], points[:, 1], "o-", color=colors[label], alpha=0.8)
for label in (0, 1):
    ax.plot([], [], "o-", color=colors[label], label=f"class {label}")
ax.set_xlabel("standardized feature 0")
ax.set_ylabel("standardized feature 1")
ax.set_title("Embedded tokens")
ax.legend()
fig.tight_layout()

# %%
# After the pooling block
# -----------------------
#
# The feed-forward layer of the pooling block subtracts from each register its
# mean pooled value over the training sequences, so that the pooled
# representations are centred. The small
# dots are the tokens after that layer, and each large marker is the point
# that all tokens of the sequence occupy after the attention layer.
#
# In the mean register, the rank-zero head moves every token to the mean of
# its sequence. In the max register, one rank-one leader head per coordinate
# copies the largest value of that coordinate, so each token moves to the
# top right corner of the box around its sequence. That corner takes its
# horizontal value from one leader token and its vertical value from another,
# so it need not be a token of the sequence. The min heads move every token
# to the bottom left corner.

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), sharex=True, sharey=True)
for ax, kind in zip(axes, layout.pooling):
    register = layout.register(kind)
    for tokens, cluster, label in zip(before_attention, pooled, y):
        points = tokens[:, register]
        target = cluster[0, register]
        for point in points:
            segment = np.vstack([point, target])
            ax.plot(segment[:, 0], segment[:, 1], color=colors[label], alpha=0.3)
        ax.scatter(points[:, 0], points[:, 1], s=12, color=colors[label])
        ax.scatter(*target, s=120, color=colors[label], edgecolor="black", zorder=3)
    ax.set_title(f"{kind} register after pooling")
    ax.set_xlabel(f"coordinate {register[0]} (feature 0)")
    ax.set_ylabel(f"coordinate {register[1]} (feature 1)")
fig.tight_layout()

# %%
# Pooled points coloured by predicted class
# -----------------------------------------
#
# The readout blocks compute, for every class, the largest
# ``2 <pi_b, p> - |pi_b|^2`` over the pooled training representations
# ``pi_b`` of that class, which selects the class of the nearest training
# representation. ``states[-1]`` holds these class scores in the score
# coordinates, computed block by block. They give the same classes as
# ``predict``, which evaluates the same units in fused form.
#
# The plot shows the pooled points of 40 new sequences, in the mean register,
# coloured by their predicted class, and the training sequences as large
# markers. The readout uses all six register coordinates, so this 2-D view is
# a projection of the nearest-neighbour rule. In the mean register alone, a new
# point may lie closer to a training point of the other class.

new_labels = rng.integers(0, 2, size=40)
X_new = [
    centers[label] + rng.normal(scale=0.7, size=(rng.integers(3, 6), 2))
    for label in new_labels
]
_, new_states = transformer.forward(X_new, return_states=True)
new_pooled = np.array([tokens[0] for tokens in new_states[2 * pooling + 2]])
block_scores = np.array([tokens[0, layout.scores] for tokens in new_states[-1]])
predicted = model.predict(X_new)
print(
    "classes from the block-by-block scores equal predict: "
    f"{np.array_equal(model.classes_[block_scores.argmax(axis=1)], predicted)}"
)
print(f"accuracy on the new sequences: {np.mean(predicted == new_labels):.3f}")

training_pooled = np.array([tokens[0] for tokens in pooled])
fig, ax = plt.subplots(figsize=(5.5, 4.5))
ax.scatter(
    new_pooled[:, mean_register[0]],
    new_pooled[:, mean_register[1]],
    c=colors[predicted],
    s=30,
    alpha=0.8,
)
ax.scatter(
    training_pooled[:, mean_register[0]],
    training_pooled[:, mean_register[1]],
    c=colors[y],
    s=160,
    marker="*",
    edgecolor="black",
)
for label in (0, 1):
    ax.scatter([], [], color=colors[label], s=30, label=f"predicted class {label}")
ax.scatter(
    [],
    [],
    color="white",
    edgecolor="black",
    marker="*",
    s=160,
    label="training sequence",
)
ax.set_xlabel(f"coordinate {mean_register[0]} (mean register)")
ax.set_ylabel(f"coordinate {mean_register[1]} (mean register)")
ax.set_title("Pooled points of new sequences")
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()
