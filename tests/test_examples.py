"""Run every gallery script of examples/ as a script, without a display."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.fixture
def pyplot():
    """Return matplotlib.pyplot on the non-interactive Agg backend.

    Skips the test when matplotlib is not installed, and closes every figure
    that the test opened.
    """
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_examples_found():
    assert EXAMPLES, "no examples/plot_*.py script found"


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(path, pyplot):
    runpy.run_path(str(path), run_name="__main__")
    assert pyplot.get_fignums(), f"{path.name} drew no figure"
