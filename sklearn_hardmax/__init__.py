"""Exact sequence classification with constructed hardmax transformers.

``HardmaxTransformerClassifier.fit`` builds a transformer with hardmax
self-attention that classifies every training sequence correctly, with a
number of blocks linear in the number of training sequences and independent
of their lengths (arXiv:2502.02270). ``predict`` runs that transformer.
"""

__version__ = "0.1.0"

from ._classifier import (  # noqa: E402 (the estimator records __version__)
    HardmaxTransformerClassifier,
    IndistinguishableSequencesWarning,
    ModelVersionWarning,
)
from ._construction import Witness
from ._convolution import ConvolutionEmbedding
from ._token_transformer import TokenTransformer
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

__all__ = [
    "AttentionHead",
    "Block",
    "ConvolutionEmbedding",
    "Embedding",
    "FeedForward",
    "HardmaxAttention",
    "HardmaxTransformer",
    "HardmaxTransformerClassifier",
    "IndistinguishableSequencesWarning",
    "ModelVersionWarning",
    "Readout",
    "TokenLayout",
    "TokenTransformer",
    "Witness",
    "__version__",
]
