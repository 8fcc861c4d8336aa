"""Exact sequence classification with constructed hardmax transformers.

``HardmaxTransformerClassifier.fit`` builds a transformer with hardmax
self-attention that classifies every training sequence correctly, with a
number of blocks linear in the number of training sequences and independent
of their lengths (arXiv:2502.02270). ``predict`` runs that transformer.
"""

from ._classifier import HardmaxTransformerClassifier, IndistinguishableSequencesWarning
from ._construction import Witness
from ._model import (
    AttentionHead,
    Block,
    Embedding,
    FeedForward,
    HardmaxAttention,
    HardmaxTransformer,
    Readout,
    TokenLayout,
)

__version__ = "0.1.0"

__all__ = [
    "AttentionHead",
    "Block",
    "Embedding",
    "FeedForward",
    "HardmaxAttention",
    "HardmaxTransformer",
    "HardmaxTransformerClassifier",
    "IndistinguishableSequencesWarning",
    "Readout",
    "TokenLayout",
    "Witness",
    "__version__",
]
