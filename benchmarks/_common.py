"""Shared helpers of the benchmark scripts in this folder.

The scripts import this module by name, so run them from any directory as
``python benchmarks/SCRIPT.py``: Python puts the script's folder on
``sys.path``. The helpers cover

- timing: the median of repeated calls, after one warm-up call;
- memory: the resident set size (RSS) of the current process and its peak,
  read from ``/proc/self/status`` on Linux;
- fresh processes: ``run_in_fresh_process`` runs one measurement in a child
  started with the "spawn" method, so measurements do not share memory;
- data sets: the bundled Japanese Vowels split and ``--train``/``--test``
  pairs of .ts files, with their command-line options;
- synthetic data: ``make_smooth_curves``;
- reports: the machine and versions, tables in reStructuredText simple-table
  form, and plots when matplotlib is installed.
"""

import argparse
import json
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn

import sklearn_hardmax
from sklearn_hardmax.datasets import load_japanese_vowels, load_ts_file

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results"

MIB = 2**20

# Environment variables that change which kernels and how many threads the
# BLAS uses. The scripts print them and never set them.
BLAS_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


@dataclass(frozen=True)
class Timing:
    """Durations in seconds of repeated calls of one function.

    Attributes
    ----------
    seconds : tuple of float
        Duration of every timed call, in order.
    warmup : float or None
        Duration of the untimed first call, or None when there was none.
    """

    seconds: tuple
    warmup: float | None = None

    @property
    def median(self):
        """Median of the timed calls, in seconds."""
        return statistics.median(self.seconds)

    def to_dict(self):
        return {"seconds": list(self.seconds), "warmup": self.warmup}

# The nearest-prototype readout on the moments embedding: the network whose
# prediction is a 1-nearest-neighbour rule, which the speed and scaling
# targets compare with brute-force 1-NN. The classifier's defaults (the
# convolution embedding with a linear readout) are measured by
# ``bench_accuracy.py --defaults``.
PROTOTYPE_MODEL = {"embedding": "moments", "readout": "prototype", "random_state": 0}


def time_calls(function, repeats, *, warmup=True):
    """Call ``function()`` ``repeats`` times and return the durations.

    With ``warmup=True`` one extra call runs first and is reported apart, so
    one-time costs (imports, JIT compilation, caches built on first use) do
    not enter the median. Returns the ``Timing`` and the result of the last
    call.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    warmup_seconds = None
    if warmup:
        started = time.perf_counter()
        function()
        warmup_seconds = time.perf_counter() - started
    durations = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        durations.append(time.perf_counter() - started)
    return Timing(tuple(durations), warmup_seconds), result


def _read_status_bytes(field):
    """Return a ``kB`` field of ``/proc/self/status`` in bytes, or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def current_rss_bytes():
    """Return the resident set size of this process in bytes, or None.

    Only Linux exposes it (``VmRSS``). Elsewhere this returns None.
    """
    return _read_status_bytes("VmRSS")


def peak_rss_bytes():
    """Return the peak resident set size of this process in bytes.

    On Linux this is ``VmHWM``, the peak of this process's own address space.
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is the fallback elsewhere.
    On Linux ``ru_maxrss`` also counts the parent's RSS at the moment it
    forked this process, even after ``exec``, so it overstates the peak of a
    child started by a large parent.
    """
    peak = _read_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in bytes on macOS and in KiB on Linux and the BSDs.
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def reset_peak_rss():
    """Reset the peak RSS of this process to its current RSS.

    Writes 5 to ``/proc/self/clear_refs`` (Linux 4.0 and later). Returns
    False when that is not possible, in which case ``peak_rss_bytes`` keeps
    counting from the start of the process.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def run_in_fresh_process(function, /, *args, **kwargs):
    """Run ``function(*args, **kwargs)`` in a new spawned process and return its result.

    Each call starts a new interpreter, so its peak memory counts only what
    this call allocates. ``function`` must be defined at the top level of an
    importable module or of a script guarded by ``if __name__ == "__main__"``.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        return executor.submit(function, *args, **kwargs).result()


def add_data_set_arguments(parser):
    """Add --train, --test, --missing and --skip-japanese-vowels to ``parser``."""
    parser.add_argument(
        "--train",
        action="append",
        default=[],
        type=Path,
        help=".ts file of training sequences; repeat with --test for more pairs",
    )
    parser.add_argument(
        "--test",
        action="append",
        default=[],
        type=Path,
        help=".ts file of test sequences, paired with the --train of the same position",
    )
    parser.add_argument(
        "--missing",
        choices=("raise", "drop"),
        default="raise",
        help="what load_ts_file does with missing values '?' (default: raise)",
    )
    parser.add_argument(
        "--skip-japanese-vowels",
        action="store_true",
        help="benchmark only the --train/--test pairs",
    )


def check_data_set_arguments(parser, arguments):
    """Exit through ``parser.error`` if the data set options do not fit together."""
    if len(arguments.train) != len(arguments.test):
        parser.error(
            f"got {len(arguments.train)} --train and {len(arguments.test)} --test "
            "files; give them in pairs"
        )
    if arguments.skip_japanese_vowels and not arguments.train:
        parser.error("--skip-japanese-vowels needs at least one --train/--test pair")


def data_set_name(path):
    """Return the problem name of a .ts path: 'GunPoint' for GunPoint_TRAIN.ts."""
    name = path.name
    for suffix in (".gz", ".ts"):
        name = name.removesuffix(suffix)
    return re.sub(r"_(TRAIN|TEST)$", "", name, flags=re.IGNORECASE)


def load_data_sets(arguments):
    """Return a list of (name, X_train, y_train, X_test, y_test)."""
    data_sets = []
    if not arguments.skip_japanese_vowels:
        X_train, y_train = load_japanese_vowels("train")
        X_test, y_test = load_japanese_vowels("test")
        data_sets.append(("JapaneseVowels", X_train, y_train, X_test, y_test))
    for train_path, test_path in zip(arguments.train, arguments.test):
        X_train, y_train = load_ts_file(train_path, missing=arguments.missing)
        X_test, y_test = load_ts_file(test_path, missing=arguments.missing)
        if y_train is None or y_test is None:
            raise SystemExit(
                f"{train_path} or {test_path} has no class labels "
                "(@classLabel false); accuracy needs labelled files."
            )
        data_sets.append((data_set_name(train_path), X_train, y_train, X_test, y_test))
    return data_sets


def describe_data_set(X_train, y_train, X_test):
    """Return a one-line summary of the sizes of a train/test pair."""
    lengths = [sequence.shape[0] for sequence in list(X_train) + list(X_test)]
    n_features = X_train[0].shape[1]
    features = "1 feature" if n_features == 1 else f"{n_features} features"
    return (
        f"{len(X_train)} train and {len(X_test)} test sequences, "
        f"{features} per token, {min(lengths)} to {max(lengths)} tokens, "
        f"{np.unique(y_train).size} classes"
    )


def make_smooth_curves(
    n_sequences,
    *,
    mean_length=20,
    n_features=12,
    n_classes=5,
    noise=0.5,
    template_seed=0,
    sample_seed=0,
):
    """Generate labelled sequences of noisy smooth curves with random lengths.

    Every class is a curve in ``n_features`` dimensions, a sum of three sine
    harmonics drawn from ``template_seed``. The classes share most of their
    amplitudes, so they overlap. Each sequence draws, from ``sample_seed``,
    its class and a length uniform in
    ``[0.75 * mean_length, 1.25 * mean_length]`` (15 to 25 tokens for the
    default of 20). It also draws a random monotone time warp, its own
    amplitude and phase jitter, and Gaussian noise of standard deviation
    ``noise`` on every value. Equal ``template_seed`` give the same classes,
    so train and test sets can be drawn with different ``sample_seed``.

    Returns
    -------
    X : list of ndarray of shape (n_tokens_i, n_features)
    y : ndarray of int of shape (n_sequences,)
    """
    templates = np.random.default_rng(template_seed)
    n_harmonics = 3
    decay = 1.0 / np.arange(1, n_harmonics + 1)[:, None]
    shared = templates.normal(size=(n_harmonics, n_features)) * decay
    class_part = templates.normal(size=(n_classes, n_harmonics, n_features)) * decay
    amplitudes = shared + 0.15 * class_part
    phases = templates.uniform(
        0.0, 2.0 * np.pi, size=(n_classes, n_harmonics, n_features)
    )
    frequencies = np.arange(1, n_harmonics + 1)[:, None]

    samples = np.random.default_rng(sample_seed)
    labels = samples.integers(n_classes, size=n_sequences)
    shortest = max(int(round(0.75 * mean_length)), 1)
    longest = max(int(round(1.25 * mean_length)), shortest)
    lengths = samples.integers(shortest, longest + 1, size=n_sequences)
    X = []
    for label, length in zip(labels, lengths):
        time_points = np.linspace(0.0, 1.0, length) ** np.exp(0.2 * samples.normal())
        jitter = 1.0 + 0.5 * samples.normal(size=(n_harmonics, n_features))
        amplitude = amplitudes[label] * jitter
        phase = phases[label] + samples.normal(size=(n_harmonics, n_features))
        angles = 2.0 * np.pi * frequencies * time_points[:, None, None] + phase
        curve = (amplitude * np.sin(angles)).sum(axis=1)
        X.append(curve + noise * samples.normal(size=(length, n_features)))
    return X, labels


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def source_revision():
    """Return the location of sklearn_hardmax and its git revision, if any.

    The revision is ``git describe --always --dirty`` of the folder that
    contains the imported package. It is "not a git checkout" for an
    installed wheel, and ends in "-dirty" when the checkout has uncommitted
    changes.
    """
    package_folder = Path(sklearn_hardmax.__file__).resolve().parent
    try:
        completed = subprocess.run(
            ["git", "-C", str(package_folder), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return str(package_folder), "not a git checkout"
    return str(package_folder), completed.stdout.strip()


def _optional_version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def blas_report():
    """Return threadpoolctl's description of the loaded BLAS and OpenMP libraries.

    numpy, scipy and scikit-learn are imported first, so their libraries are
    loaded. Returns a list of dicts, empty when threadpoolctl is missing.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    import scipy.linalg  # noqa: F401 (loads scipy's BLAS)
    import sklearn.neighbors  # noqa: F401 (loads scikit-learn's OpenMP runtime)

    keys = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "architecture",
        "threading_layer",
        "num_threads",
        "filepath",
    )
    return [{key: info.get(key) for key in keys} for info in threadpool_info()]


def environment_report(extra_modules=()):
    """Return the machine, versions and BLAS of this run as a dict."""
    memory = _total_memory_bytes()
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "sklearn-hardmax": sklearn_hardmax.__version__,
        "threadpoolctl": _optional_version("threadpoolctl"),
        "matplotlib": _optional_version("matplotlib"),
    }
    for name in extra_modules:
        versions[name] = _optional_version(name)
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "memory_gib": None if memory is None else round(memory / 2**30, 1),
        "python_implementation": platform.python_implementation(),
        "versions": versions,
        "sklearn_hardmax_source": source_revision(),
        "sklearn_working_memory_mib": sklearn.get_config()["working_memory"],
        "blas_variables": {name: os.environ.get(name) for name in BLAS_VARIABLES},
        "blas": blas_report(),
        "load_average": _load_average(),
    }


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def print_environment(report):
    """Print the dict of ``environment_report`` as readable lines."""
    print("Machine")
    print(f"  platform: {report['platform']}")
    print(f"  CPU: {report['cpu_model']} ({report['machine']})")
    print(
        f"  CPU count: {report['cpu_count']} (usable by this process: "
        f"{report['usable_cpus']})"
    )
    print(f"  memory: {report['memory_gib']} GiB")
    print(f"  load average (1, 5, 15 min) at start: {report['load_average']}")

    print("Versions")
    for name, version in report["versions"].items():
        print(f"  {name}: {version}")
    folder, revision = report["sklearn_hardmax_source"]
    print(f"  sklearn-hardmax imported from {folder} (git revision: {revision})")
    print(f"  scikit-learn working_memory: {report['sklearn_working_memory_mib']} MiB")

    print("Threading libraries (threadpoolctl)")
    if not report["blas"]:
        print("  threadpoolctl is not installed; the BLAS kernel is unknown")
    for info in report["blas"]:
        details = [f"{info['internal_api']} {info['version'] or ''}".rstrip()]
        if info["architecture"]:
            details.append(f"kernel {info['architecture']}")
        details.append(f"{info['num_threads']} threads")
        if info["threading_layer"]:
            details.append(f"threading layer {info['threading_layer']}")
        # The folder shows whose copy it is, for example numpy.libs or scipy.libs.
        library = Path(info["filepath"])
        details.append(f"{library.parent.name}/{library.name}")
        print(f"  {info['user_api']}: {', '.join(details)}")
    for name, value in report["blas_variables"].items():
        print(f"  {name}={value if value is not None else '(not set)'}")
    print()


def format_table(headers, rows):
    """Return rows as a reStructuredText simple table, numbers right-aligned.

    Cells are strings. The first column must not be empty, because an empty
    first cell continues the previous row in reST.
    """
    columns = list(zip(headers, *rows))
    widths = [max(len(cell) for cell in column) for column in columns]
    numeric = [
        all(_looks_numeric(cell) for cell in column[1:]) for column in columns
    ]

    def line(cells):
        parts = []
        for cell, width, is_numeric in zip(cells, widths, numeric):
            parts.append(cell.rjust(width) if is_numeric else cell.ljust(width))
        return "  ".join(parts).rstrip()

    border = "  ".join("=" * width for width in widths)
    lines = [border, line(headers), border]
    lines += [line(row) for row in rows]
    lines.append(border)
    return "\n".join(lines)


def _looks_numeric(cell):
    text = cell.replace(",", "").replace("x", "").strip()
    if text in ("", "n/a", "-"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def print_table(title, headers, rows):
    """Print a title line and a table from ``format_table``."""
    print(title)
    print(format_table(headers, rows))
    print()


def format_seconds(seconds):
    """Format a duration in seconds with four significant digits."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.4g}"


def format_mib(n_bytes):
    """Format a size in bytes as MiB with one decimal."""
    if n_bytes is None:
        return "n/a"
    return f"{n_bytes / MIB:.1f}"


def add_output_argument(parser):
    """Add ``--output``, the folder that receives plots and raw results."""
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=(
            "folder for plots and the JSON of raw results "
            f"(default: {DEFAULT_OUTPUT})"
        ),
    )


def positive_int(text):
    """Parse a command-line integer that must be at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def save_results(output, name, results):
    """Write ``results`` as ``OUTPUT/NAME.json`` and return the path."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{name}.json"
    with open(path, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2, default=_json_default)
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__} to JSON")


def import_pyplot():
    """Return ``matplotlib.pyplot`` with the Agg backend, or None if missing."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed, so no plots are saved.")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save_figure(figure, output, name):
    """Save a matplotlib figure as ``OUTPUT/NAME.png`` and return the path."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{name}.png"
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def print_closing(output, written):
    """Print where the results went and the load average at the end."""
    print(f"Load average (1, 5, 15 min) at end: {_load_average()}")
    print(f"Results written to {output.resolve()}:")
    for path in written:
        print(f"  {Path(path).name}")
