"""Data sets of variable-length sequences of vectors, bundled for examples and tests."""

from ._base import load_japanese_vowels

__all__ = ["load_japanese_vowels"]
