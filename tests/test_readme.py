"""The README's example runs, and CI runs the README's test command."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _blocks(language):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_readme_python_example_runs(capsys):
    (example,) = _blocks("python")
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    # The comments in the example quote these figures.
    assert printed[0] == "1.0"
    assert printed[3] == "linear"
    assert round(float(printed[4]), 4) == 0.9946


def test_readme_has_two_setup_commands():
    commands = [block.strip() for block in _blocks("bash")]
    assert commands == [
        "pip install . && python -m sklearn_hardmax",
        'pip install -e ".[test]" && pytest',
    ]


def test_ci_runs_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    if not ci:
        pytest.fail(".ci/run is empty")
    assert 'pip install -e ".[test]" && pytest' in ci.splitlines()
