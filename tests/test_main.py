"""The ``python -m sklearn_hardmax`` main job."""

import subprocess
import sys

import pytest

from sklearn_hardmax.__main__ import main


def _report(capsys, argv):
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    return dict(line.split("  ", 1) for line in lines), lines


def test_main_reports_size_accuracy_and_times(capsys):
    report, lines = _report(capsys, [])
    values = {name.strip(): value.strip() for name, value in report.items()}
    assert values["training sequences"] == "270 in 9 classes"
    assert values["token size"] == "12"
    assert values["training lengths"] == "7 to 26 tokens"
    assert values["blocks"].endswith("(hardmax theorem: 4N + 1 = 1081)")
    assert int(values["blocks"].split()[0]) <= 272
    assert values["training accuracy"] == "1.0000"
    assert float(values["test accuracy"]) >= 0.95
    assert values["fit time"].endswith(" s")
    assert values["predict time"].endswith("for 370 sequences")
    assert len(lines) == 13


def test_main_accepts_pooling_and_moments(capsys):
    report, _ = _report(capsys, ["--pooling", "max", "min", "--positional-moments", "0"])
    values = {name.strip(): value.strip() for name, value in report.items()}
    assert values["pooling"] == "max, min"
    assert values["positional moments"] == "0"
    assert values["training accuracy"] == "1.0000"


def test_main_rejects_negative_moments(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--positional-moments", "-1"])
    assert raised.value.code == 2
    assert "must be 0 or more, got -1" in capsys.readouterr().err


def test_main_help_runs_as_module():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_hardmax", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Japanese Vowels" in result.stdout
    assert "--positional-moments K" in result.stdout
