"""The benchmarks' one harness: data, seeds and splits, timers, summaries, the machine record, results.

Every benchmark script takes its data, timers, summaries and result files from here and defines only
its models and its table:

- data: `load_uci`, `uci_protocol` and `load_mnist` read `../shared/data` through
  `tfp_arch.load_data`; `standardise`, `subsample`, `cut` and `pipeline` are the seeded
  preparations the scripts share;
- timers: `epoch_timer` (a Keras 3 or tf_keras callback), `Stopwatch` (wall and process CPU
  seconds of a block), `median_seconds`, and `steady_median` / `steady_rate` over the epochs after
  the first (the first one traces);
- `summarize` (mean, standard deviation, standard error) and `print_table` (a Markdown table);
- `machine` (one record with the same keys in every result) and `write_result`, which writes
  strict JSON (`allow_nan=False`; a non-finite number is written as the string "nan", "inf" or
  "-inf") into `benchmarks/results/`.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "MNIST",
    "RESULTS",
    "UCI",
    "Stopwatch",
    "cut",
    "epoch_timer",
    "format_table",
    "load_mnist",
    "load_uci",
    "machine",
    "median_seconds",
    "pipeline",
    "print_table",
    "read_result",
    "require",
    "result_path",
    "standardise",
    "steady_median",
    "steady_rate",
    "strict_json",
    "subsample",
    "summarize",
    "uci_protocol",
    "write_result",
]

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
UCI = SHARED_DATA / "uci"
MNIST = SHARED_DATA / "mnist"
PACKAGES = ("tfp-arch", "numpy", "tensorflow", "keras", "tensorflow-probability", "tf-keras", "torch", "zuko")


# Data, seeds and splits.


def load_example(name: str) -> Any:
    """The module `examples/NAME.py`, loaded from its file (the examples are scripts, not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tfp_frameworks() -> dict[str, tuple[Any, Any]]:
    """The two (Keras, probabilistic layers) pairs a parity benchmark trains: ours and TFP's on tf_keras."""
    import keras
    import tensorflow_probability as tfp
    import tf_keras

    import tfp_arch.layers

    return {"ours": (keras, tfp_arch.layers), "tf_keras": (tf_keras, tfp.layers)}


def require(path: Path) -> Path:
    """`path` if it exists; otherwise exit with a message naming it."""
    if not Path(path).exists():
        raise SystemExit(f"data not found at {path}; the benchmarks read ../shared/data beside the checkout")
    return Path(path)


def load_uci(name: str, split: int = 0):
    """Split `split` of the UCI set `name` (a `tfp_arch.data.Dataset`, float32, original units)."""
    from tfp_arch.data import load_data

    return load_data(f"uci:{require(UCI / name)}#split={split}")


def uci_protocol(name: str) -> dict[str, int]:
    """The UCI set's `n_splits`, `n_hidden` and `n_epochs`."""
    from tfp_arch.data import uci_protocol as read

    return read(UCI / name)


def load_mnist(folder: str | Path = MNIST, options: str = "train=8000&binarize=none"):
    """The MNIST images of `folder` (images 0..7,999 train, the rest test; grey levels by default)."""
    from tfp_arch.data import load_data

    return load_data(f"idx:{require(Path(folder))}#{options}")


def standardise(train: np.ndarray, *others: np.ndarray, floor: float = 1e-8) -> tuple:
    """Scale `train` and `others` by `train`'s mean and standard deviation per column.

    A column whose deviation is at most `floor` is only centred. Returns the scaled arrays (float32)
    followed by the mean and the deviation used.
    """
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > floor, std, 1.0)
    scaled = tuple(((array - mean) / std).astype("float32") for array in (train, *others))
    return (*scaled, mean, std)


def subsample(n: int, size: int | None, seed: int) -> np.ndarray:
    """Indices of `size` of `n` rows drawn without replacement (seeded); all rows in order when `size`
    is None or not below `n`."""
    if size is None or size >= n:
        return np.arange(n)
    return np.random.default_rng(seed).choice(n, size, replace=False)


def cut(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded permutation of `n` rows cut into its first `int(fraction * n)` rows and the rest."""
    order = np.random.default_rng(seed).permutation(n)
    k = int(fraction * n)
    return order[:k], order[k:]


def limit_threads(count: int) -> None:
    """Run TensorFlow's operations on `count` threads, within and between operations (call before any op)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(count)
    tf.config.threading.set_inter_op_parallelism_threads(count)


def pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None = 0):
    """A shuffled (reshuffled every epoch), batched and prefetched `tf.data` pipeline of `(x, y)`."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# Timers.


def epoch_timer(base: type | None = None):
    """A callback that appends the wall seconds of every epoch to its `times`.

    Args:
        base: the callback class to derive from: `keras.callbacks.Callback` (the default) or
            `tf_keras.callbacks.Callback`.
    """
    if base is None:
        import keras

        base = keras.callbacks.Callback

    class EpochTimer(base):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return EpochTimer()


class Stopwatch:
    """Wall (`seconds`) and process CPU (`cpu_seconds`) time of a `with` block."""

    seconds: float = float("nan")
    cpu_seconds: float = float("nan")

    def __enter__(self) -> "Stopwatch":
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


def median_seconds(function: Callable[[], Any], repeats: int = 3, warmup: bool = False) -> float:
    """Median wall seconds of `repeats` calls of `function` (after one untimed call if `warmup`)."""
    if warmup:
        function()
    times = []
    for _ in range(repeats):
        with Stopwatch() as watch:
            function()
        times.append(watch.seconds)
    return float(np.median(times))


def _steady(times: Sequence[float]) -> Sequence[float]:
    return times[1:] if len(times) > 1 else times


def steady_median(times: Sequence[float]) -> float:
    """Median of the epoch times after the first (which includes tracing)."""
    return float(np.median(_steady(times)))


def steady_rate(times: Sequence[float], count: int) -> float:
    """Items per second over the epochs after the first, `count` items per epoch."""
    later = _steady(times)
    return count * len(later) / sum(later)


# Summaries and tables.


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation, standard error of the mean and count of `values`.

    With one value the deviation and the error are NaN; with non-finite values (a diverged run) both
    are NaN and `non_finite_runs` counts them.
    """
    array = np.asarray(values, dtype="float64")
    finite = np.isfinite(array)
    if not finite.all():
        return {"mean": float(array.mean()), "std": math.nan, "stderr": math.nan, "n": len(array),
                "non_finite_runs": int((~finite).sum())}
    std = statistics.stdev(array.tolist()) if len(array) > 1 else math.nan
    return {"mean": statistics.fmean(array.tolist()), "std": std, "stderr": std / math.sqrt(len(array)),
            "n": len(array)}


def _number(value: float, digits: int) -> str:
    return f"{value:,.0f}" if 10**digits <= abs(value) < math.inf else f"{value:.{digits}g}"


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, Mapping) and "mean" in value:
        error = value.get("stderr", math.nan)
        return _cell(value["mean"], digits) + ("" if not np.isfinite(error) else f" ± {_number(error, 2)}")
    if isinstance(value, (float, np.floating)):
        return _number(value, digits)
    return "" if value is None else str(value)


def format_table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str], title: str = "row",
                 digits: int = 4) -> str:
    """A Markdown table: one row per key of `rows`, one column per name in `columns`.

    A cell that is a summary (a mapping with `mean`) shows `mean ± stderr` (the error to 2 significant
    digits); a missing one is empty.
    """
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(row.get(column), digits) for column in columns) + " |")
    return "\n".join(lines)


def print_table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str], title: str = "row",
                digits: int = 4) -> None:
    """Print `format_table(rows, columns, title, digits)` and a blank line."""
    print(format_table(rows, columns, title, digits) + "\n", flush=True)


# The machine record and the result files.


def machine() -> dict[str, Any]:
    """The machine and the package versions a result was measured with (the same keys every time)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "packages": versions}


def result_path(target: str | Path) -> Path:
    """Where a result goes: a bare name is `benchmarks/results/NAME.json`; a path is that file (with
    `.json` added when it has no such suffix)."""
    path = Path(target)
    if path.suffix != ".json":
        path = path.with_name(path.name + ".json")
    return RESULTS / path if len(path.parts) == 1 else path


def read_result(target: str | Path) -> dict[str, Any]:
    """The result file `target` names (see `result_path`) as a dict, or `{}` if there is none."""
    path = result_path(target)
    return json.loads(path.read_text()) if path.exists() else {}


def strict_json(value: Any) -> Any:
    """A copy of `value` that `json.dumps(allow_nan=False)` accepts: non-finite floats become the strings
    "nan", "inf", "-inf"; NumPy scalars and arrays become Python numbers and lists; paths become strings."""
    if isinstance(value, Mapping):
        return {str(key): strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [strict_json(item) for item in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, Path):
        return str(value)
    return value


def write_result(benchmark: str, document: Mapping[str, Any], target: str | Path | None = None) -> Path:
    """Write `document` as strict JSON, after `benchmark`, the UTC `date` and the `machine` record.

    Args:
        benchmark: the benchmark's name.
        document: what the benchmark measured (its own `benchmark`, `date` and `machine` keys, e.g.
            of a result read back to be extended, are replaced).
        target: a name in `benchmarks/results/` or a path (see `result_path`); `benchmark` by default.

    Returns:
        The path written.
    """
    path = result_path(benchmark if target is None else target)
    header = {"benchmark": benchmark,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine()}
    body = {key: value for key, value in document.items() if key not in header}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(strict_json({**header, **body}), indent=2, allow_nan=False) + "\n")
    return path
