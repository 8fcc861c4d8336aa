"""The ``python -m sklearn_hardmax`` main job."""

import subprocess
import sys

import joblib
import numpy as np
import pytest

from sklearn_hardmax import HardmaxTransformerClassifier
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
    assert values["embedding"] == "convolution"
    assert values["positional moments"] == "not used by the convolution embedding"
    assert values["readout"] == "linear (requested auto)"
    assert values["blocks"].startswith("3 ")
    assert values["prototypes"] == "none (linear readout)"
    assert len(lines) == 16


def test_main_accepts_pooling_and_moments(capsys):
    argv = ["--embedding", "moments", "--pooling", "max", "min", "--positional-moments", "0"]
    report, _ = _report(capsys, argv)
    values = {name.strip(): value.strip() for name, value in report.items()}
    assert values["pooling"] == "max, min"
    assert values["positional moments"] == "0"
    assert values["training accuracy"] == "1.0000"


def test_main_condensed_prototypes_fewer_blocks(capsys):
    report, _ = _report(
        capsys, ["--embedding", "moments", "--readout", "prototype", "--prototypes", "condensed"]
    )
    values = {name.strip(): value.strip() for name, value in report.items()}
    assert values["training accuracy"] == "1.0000"
    assert int(values["prototypes"].split()[0]) < 270
    assert int(values["blocks"].split()[0]) < 31


def test_main_report_fit_error_is_one_line(capsys):
    # No exact linear head exists for the moments embedding on this data.
    assert main(["--embedding", "moments", "--readout", "linear"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: fit failed: No ridge penalty")


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
    assert "Japanese" in result.stdout
    assert "predict the classes of a .ts file" in result.stdout
    assert "--positional-moments K" in result.stdout


TRAIN = """@problemName toy
@dimensions 2
@equalLength false
@classLabel true up down
@data
0,1,2:0,0,1:up
2,1,0:1,0,0:down
0,2:0,1:up
3,1,0,0:1,1,0,0:down
"""


WIDE = """@problemName wide
@dimensions 3
@classLabel true up down
@data
0,1:0,1:1,1:up
"""


@pytest.fixture
def files(tmp_path):
    train = tmp_path / "train.ts"
    train.write_text(TRAIN, encoding="utf-8")
    return tmp_path, train


def test_fit_predict_info_round_trip(files, capsys):
    folder, train = files
    model = folder / "model.joblib"
    assert main(["fit", str(train), "--model", str(model), "--no-progress"]) == 0
    fitted = capsys.readouterr().out
    assert "fitted 4 sequences in 2 classes" in fitted
    assert "training accuracy 1.0000" in fitted

    output = folder / "predictions.csv"
    assert main(["predict", str(model), str(train), "--output", str(output)]) == 0
    assert "accuracy 1.0000" in capsys.readouterr().out
    rows = output.read_text(encoding="utf-8").splitlines()
    assert rows == ["index,prediction,label", "0,up,up", "1,down,down", "2,up,up", "3,down,down"]

    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "classes             down, up" in info
    assert "saved with          sklearn-hardmax 0.1.0" in info


def test_predict_prints_one_line_per_sequence(files, capsys):
    folder, train = files
    model = folder / "model.joblib"
    main(["fit", str(train), "--model", str(model), "--no-progress"])
    capsys.readouterr()
    assert main(["predict", str(model), str(train), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["up", "down", "up", "down"]
    assert "accuracy 1.0000" in captured.err


@pytest.mark.parametrize(
    "command, message",
    [
        (["info", "{folder}/missing.joblib"], "error: model file not found"),
        (["info", "{folder}/train.ts"], "joblib.dump wrote?"),
        (["fit", "{folder}/missing.ts", "--model", "{folder}/m.joblib"], "error: data file not found"),
        (["predict", "{folder}/model.joblib", "{folder}/wide.ts"], "X has 3 features"),
    ],
)
def test_command_errors_are_one_line(files, capsys, command, message):
    folder, train = files
    main(["fit", str(train), "--model", str(folder / "model.joblib"), "--no-progress"])
    (folder / "wide.ts").write_text(WIDE, encoding="utf-8")
    capsys.readouterr()
    argv = [part.format(folder=folder) for part in command]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]


def test_info_warns_on_other_version(files, capsys, monkeypatch):
    import sklearn_hardmax._classifier as classifier_module

    folder, train = files
    model = folder / "model.joblib"
    main(["fit", str(train), "--model", str(model), "--no-progress"])
    capsys.readouterr()
    monkeypatch.setattr(classifier_module, "__version__", "99.0")
    monkeypatch.setattr("sklearn_hardmax.__main__.__version__", "99.0")
    assert main(["info", str(model)]) == 0
    captured = capsys.readouterr()
    assert "warning: This HardmaxTransformerClassifier was saved with sklearn-hardmax 0.1.0" in captured.err
    assert "loaded with         sklearn-hardmax 99.0" in captured.out


def test_predict_progress_lines_on_stderr(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["@problemName toy", "@dimensions 1", "@classLabel true a b", "@data"]
    for index in range(40):
        values = ",".join(f"{value:.3f}" for value in rng.normal(size=4) + index % 2)
        lines.append(f"{values}:{'ab'[index % 2]}")
    data = tmp_path / "data.ts"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = tmp_path / "model.joblib"
    main(["fit", str(data), "--model", str(model), "--no-progress"])
    capsys.readouterr()
    assert main(["predict", str(model), str(data), "--progress"]) == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("predicted ")]
    assert progress[-1].startswith("predicted 40 sequences")
    assert len(progress) == 21


def test_options_before_command_are_kept(files, capsys):
    folder, train = files
    model = folder / "model.joblib"
    argv = ["--positional-moments", "0", "fit", str(train), "--model", str(model)]
    assert main(argv + ["--no-progress"]) == 0
    assert joblib.load(model).positional_moments == 0
    argv = ["--positional-moments", "0", "fit", str(train), "--model", str(model)]
    assert main(argv + ["--positional-moments", "1", "--no-progress"]) == 0
    assert joblib.load(model).positional_moments == 1


def test_info_rejects_unfitted_model(tmp_path, capsys):
    path = tmp_path / "unfitted.joblib"
    joblib.dump(HardmaxTransformerClassifier(), path)
    assert main(["info", str(path)]) == 1
    assert "is not fitted" in capsys.readouterr().err


def test_fit_drop_missing_warns_in_one_line(tmp_path, capsys):
    data = tmp_path / "missing.ts"
    data.write_text(
        "@problemName x\n@dimensions 1\n@classLabel true a b\n@data\n"
        "1,2,3:a\n1,?,3:b\n2,2,2:b\n",
        encoding="utf-8",
    )
    argv = ["fit", str(data), "--model", str(tmp_path / "m.joblib"), "--drop-missing"]
    assert main(argv + ["--no-progress"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "Dropped 1 of 3 sequences" in warnings[0]
    assert "fitted 2 sequences" in captured.out
