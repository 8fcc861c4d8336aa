"""Data sets of variable-length sequences of vectors and a ``.ts`` file reader.

``load_japanese_vowels`` loads the bundled data set, and ``load_ts_file`` reads
any classification file in the ``.ts`` format of the UEA & UCR time series
archive.
"""

from ._base import load_japanese_vowels
from ._ts_format import MissingValuesWarning, load_ts_file

__all__ = ["MissingValuesWarning", "load_japanese_vowels", "load_ts_file"]
