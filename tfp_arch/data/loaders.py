"""Loaders from a path and options to a `Dataset` with a training and a test part."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfp_arch.data.arrays import check_finite, read_idx, read_numpy, rows
from tfp_arch.data.dataset import Dataset, holdout
from tfp_arch.data.errors import DataError, auto_yes_no
from tfp_arch.data.synthetic import SYNTHETIC, make_synthetic
from tfp_arch.data.tables import is_pattern, read_table

if TYPE_CHECKING:
    from tfp_arch.data.streaming import StreamedDataset

__all__ = ["LOADERS", "OPTIONS", "STREAM_BYTES", "UCI_PROTOCOL", "streams", "uci_protocol"]

STREAM_BYTES = 1 << 30

Options = dict[str, str]

OPTIONS: dict[str, tuple[str, ...]] = {
    "synthetic": ("n", "seed", "test"),
    "csv": ("target", "header", "delimiter", "task", "test", "seed", "stream", "cache"),
    "txt": ("target", "header", "task", "test", "seed", "stream", "cache"),
    "npy": ("task", "test", "seed", "stream", "cache"),
    "uci": ("split",),
    "idx": ("labels", "train", "binarize", "seed", "task"),
}


def _float(options: Options, key: str, default: float) -> float:
    try:
        return float(options.get(key, default))
    except ValueError:
        raise DataError(f"Invalid value for option `{key}`: expected a number. Received: {options[key]!r}") from None


_RANGES = {"seed": (0, 2**32 - 1), "n": (2, 10**7), "split": (0, None), "train": (1, None)}


def _int(options: Options, key: str, default: int) -> int:
    low, high = _RANGES.get(key, (None, None))
    expected = "an integer"
    if low is not None:
        expected = f"an integer from {low}" + (f" to {high}" if high is not None else " up")
    try:
        value = int(options.get(key, default))
    except ValueError:
        raise DataError(f"Invalid value for option `{key}`: expected {expected}. Received: {options[key]!r}") from None
    if key in options and ((low is not None and value < low) or (high is not None and value > high)):
        raise DataError(f"Invalid value for option `{key}`: expected {expected}. Received: {options[key]!r}")
    return value


def _targets(y: np.ndarray, task: str, path: str) -> tuple[np.ndarray, str]:
    if task not in ("regression", "classification"):
        raise DataError(f"Invalid value for option `task`: expected regression or classification. Received: {task!r}")
    if task == "classification":
        if not np.all(np.equal(np.mod(y, 1), 0)) or np.min(y) < 0:
            raise DataError("classification targets must be non-negative integers", path)
        return y.astype("int32"), task
    return y.astype("float32"), task


def _split(name: str, x: np.ndarray, y: np.ndarray | None, options: Options, **info) -> Dataset:
    train, test = holdout(len(x), _float(options, "test", 0.1), _int(options, "seed", 0))
    return Dataset(name, x[train], x[test], None if y is None else y[train], None if y is None else y[test], **info)


def load_synthetic(path: str, options: Options, name: str) -> Dataset:
    """A data set generated in code: `synthetic:NAME#n=...&seed=...&test=...`."""
    if path not in SYNTHETIC:
        raise DataError(f"unknown synthetic data set {path!r}; known: {', '.join(sorted(SYNTHETIC))}")
    extra = {"n": _int(options, "n", 0)} if "n" in options else {}
    dataset = make_synthetic(path, seed=_int(options, "seed", 0), test=_float(options, "test", 0.1), **extra)
    return Dataset(name, **{k: v for k, v in vars(dataset).items() if k != "name"})


def streams(path: str, options: Options) -> bool:
    """Whether a table is read in chunks (`stream=yes`), or at once (`stream=no`).

    With `stream=auto` (the default) a glob pattern (shards of one table) or files of more than
    `STREAM_BYTES` (1 GiB) in all stream, anything else is read into memory.
    """
    choice = auto_yes_no("stream", options.get("stream", "auto"))
    sharded = is_pattern(path)
    if choice == "no" and sharded:
        raise DataError("a glob pattern names shards that are read in chunks; drop stream=no", path)
    if choice != "auto":
        return choice == "yes"
    return sharded or (Path(path).is_file() and Path(path).stat().st_size > STREAM_BYTES)


def load_table(path: str, options: Options, name: str, delimiter: str | None) -> Dataset | StreamedDataset:
    """A CSV or whitespace table; the target is `target=` (a column name or index, default last)."""
    delimiter, header = options.get("delimiter", delimiter), options.get("header", "auto")
    if streams(path, options):
        from tfp_arch.data.streaming import TableSource, open_stream

        return open_stream(
            name,
            TableSource.open(path, delimiter, header),
            options.get("target", "-1"),
            options.get("task", "regression"),
            _float(options, "test", 0.1),
            _int(options, "seed", 0),
            options.get("cache", "auto"),
        )
    table = read_table(path, delimiter=delimiter, header=header)
    if table.values.shape[1] < 2:
        raise DataError("need at least two columns (inputs and a target)", path)
    target = table.column(options.get("target", "-1"))
    inputs = [j for j in range(table.values.shape[1]) if j != target]
    y, task = _targets(table.values[:, target], options.get("task", "regression"), path)
    return _split(
        name,
        table.values[:, inputs].astype("float32"),
        y,
        options,
        kind=task,
        feature_names=[table.columns[j] for j in inputs],
        target_name=table.columns[target],
    )


def load_csv(path: str, options: Options, name: str) -> Dataset | StreamedDataset:
    """Comma-separated values with an optional header row."""
    return load_table(path, options, name, ",")


def load_txt(path: str, options: Options, name: str) -> Dataset | StreamedDataset:
    """Whitespace-separated numbers."""
    return load_table(path, options, name, None)


def load_npy(path: str, options: Options, name: str) -> Dataset | StreamedDataset:
    """`.npy` (x only) or `.npz` with `x` and optional `y`, or `x_train`, `x_test` (and `y_*`).

    A 2-D `.npy` array streams from a memory map with `stream=yes` (or `auto` above 1 GiB); its
    rows are all inputs, held out by the same seeded hash as a streamed table (of the rows' bytes).
    """
    if streams(path, options) and (path.endswith(".npy") or options.get("stream") == "yes"):
        from tfp_arch.data.array_stream import ArraySource
        from tfp_arch.data.streaming import open_stream

        return open_stream(
            name,
            ArraySource.open(path),
            None,
            "density",
            _float(options, "test", 0.1),
            _int(options, "seed", 0),
            options.get("cache", "auto"),
        )
    arrays = read_numpy(path)
    for key, array in arrays.items():
        if key in ("x", "y", "x_train", "x_test", "y_train", "y_test"):
            rows(array, path, f"{key}: ", 2 if key.startswith("x") else 1)
    if "x_train" in arrays and "x_test" in arrays:
        x_train, x_test = (
            check_finite(arrays["x_train"], path, "x_train: "),
            check_finite(arrays["x_test"], path, "x_test: "),
        )
        if x_train.shape[1:] != x_test.shape[1:]:
            raise DataError(f"x_train has rows of shape {x_train.shape[1:]} but x_test {x_test.shape[1:]}", path)
        ys = [arrays.get(k) for k in ("y_train", "y_test")]
        task = options.get("task", "regression")
        for y, x, k in zip(ys, (x_train, x_test), ("y_train", "y_test"), strict=True):
            if y is not None and len(y) != len(x):
                raise DataError(f"x_{k[2:]} has {len(x)} rows but {k} has {len(y)}", path)
        ys = [
            None if y is None else _targets(check_finite(y, path, f"{k}: "), task, path)[0]
            for y, k in zip(ys, ("y_train", "y_test"), strict=True)
        ]
        return Dataset(name, x_train, x_test, ys[0], ys[1], kind=task if ys[0] is not None else "density")
    if "x" not in arrays:
        raise DataError(f"expected arrays named x (and y) or x_train/x_test; found {', '.join(arrays) or 'none'}", path)
    x = check_finite(arrays["x"], path, "x: ")
    y = arrays.get("y")
    if y is not None:
        if len(y) != len(x):
            raise DataError(f"x has {len(x)} rows but y has {len(y)}", path)
        y, task = _targets(check_finite(y, path, "y: "), options.get("task", "regression"), path)
        return _split(name, x, y, options, kind=task)
    return _split(name, x, None, options, kind="images" if x.ndim > 2 else "density")


def _indices(folder: Path, file: str, limit: int) -> np.ndarray:
    table = read_table(folder / file, delimiter=None, header="no").values
    index = table.reshape(-1)
    if np.any(index != np.round(index)) or index.min() < 0 or index.max() >= limit:
        raise DataError(f"indices must be integers in [0, {limit})", str(folder / file))
    return index.astype(int)


def load_uci(path: str, options: Options, name: str) -> Dataset:
    """A UCI split folder: data.txt, index_features.txt, index_target.txt, index_{train,test}_K.txt."""
    folder = Path(path)
    split = _int(options, "split", 0)
    if not (folder / "data.txt").is_file():
        raise DataError("not a UCI split folder (no data.txt)", path)
    data = read_table(folder / "data.txt", delimiter=None, header="no").values
    features = _indices(folder, "index_features.txt", data.shape[1])
    target = _indices(folder, "index_target.txt", data.shape[1])[0]
    if not (folder / f"index_train_{split}.txt").is_file():
        count = len(list(folder.glob("index_train_*.txt")))
        raise DataError(f"no split {split}; this folder has splits 0..{count - 1}", path)
    train = _indices(folder, f"index_train_{split}.txt", len(data))
    test = _indices(folder, f"index_test_{split}.txt", len(data))
    x, y = data[:, features].astype("float32"), data[:, target].astype("float32")
    return Dataset(
        name,
        x[train],
        x[test],
        y[train],
        y[test],
        kind="regression",
        feature_names=[f"feature_{j}" for j in features],
        target_name=f"feature_{target}",
    )


UCI_PROTOCOL = ("n_splits", "n_hidden", "n_epochs")


def uci_protocol(path: str | Path) -> dict[str, int]:
    """The settings a UCI split folder prescribes: `n_splits`, `n_hidden` and `n_epochs`.

    The folders of the UCI regression benchmark (Hernandez-Lobato and Adams 2015) hold them in
    `n_splits.txt`, `n_hidden.txt` and `n_epochs.txt`, one integer each.

    Args:
        path: the UCI split folder (the path of a `uci:` data spec).

    Returns:
        The three settings by name.

    Raises:
        DataError: a file is missing, or does not hold one positive integer.
    """
    folder = Path(path)
    settings = {}
    for key in UCI_PROTOCOL:
        file = folder / f"{key}.txt"
        if not file.is_file():
            raise DataError(
                f"no {file.name}; a UCI split folder states its protocol in {', '.join(UCI_PROTOCOL)}", str(path)
            )
        values = read_table(file, delimiter=None, header="no").values.reshape(-1)
        if values.size != 1 or values[0] != np.round(values[0]) or values[0] < 1:
            raise DataError(f"{file.name} must hold one positive integer", str(file))
        settings[key] = int(values[0])
    return settings


def _idx_files(path: Path, labels: str | None) -> tuple[Path, Path | None]:
    if path.is_dir():
        images = sorted(path.glob("*images-idx3-ubyte*"))
        if not images:
            raise DataError("no *images-idx3-ubyte* file in the folder", str(path))
        path = images[0]
    if labels is not None:
        return path, Path(labels)
    guess = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    return path, guess if guess != path and guess.is_file() else None


def load_idx(path: str, options: Options, name: str) -> Dataset:
    """IDX images (MNIST format); the first `train` images train (default 80%), the rest test.

    Pixels are scaled to [0, 1] and, by default, binarised by a Bernoulli draw with a fixed seed
    (`binarize=seeded`, as in the VAE literature); `binarize=none` keeps grey levels and
    `binarize=0.5` thresholds. Labels from the matching labels file are kept for plots, or with
    `task=classification` become the targets of a supervised classification data set.
    """
    images_path, labels_path = _idx_files(Path(path), options.get("labels"))
    images = read_idx(images_path)
    if images.ndim != 3:
        raise DataError(f"expected an image array (n, rows, cols), found shape {images.shape}", str(images_path))
    x = (images.astype("float32") / 255.0)[..., None]
    mode = options.get("binarize", "seeded")
    if mode == "seeded":
        x = (np.random.default_rng(_int(options, "seed", 0)).uniform(size=x.shape) < x).astype("float32")
    elif mode != "none":
        x = (x > _float(options, "binarize", 0.5)).astype("float32")
    labels = read_idx(labels_path).astype("int32") if labels_path is not None else None
    if labels is not None and len(labels) != len(x):
        raise DataError(f"{len(labels)} labels for {len(x)} images", str(labels_path))
    cut = _int(options, "train", int(round(0.8 * len(x))))
    if not 0 < cut < len(x):
        raise DataError(f"Invalid value for option `train`: expected 1..{len(x) - 1}. Received: {cut}")
    task = options.get("task", "images")
    if task not in ("images", "classification"):
        raise DataError(f"Invalid value for option `task`: expected images or classification. Received: {task!r}")
    if task == "classification":
        if labels is None:
            raise DataError("task=classification needs the matching labels file", str(images_path))
        return Dataset(name, x[:cut], x[cut:], labels[:cut], labels[cut:], kind="classification")
    return Dataset(
        name,
        x[:cut],
        x[cut:],
        kind="images",
        labels_train=None if labels is None else labels[:cut],
        labels_test=None if labels is None else labels[cut:],
    )


LOADERS: dict[str, Callable[[str, Options, str], Dataset | StreamedDataset]] = {
    "synthetic": load_synthetic,
    "csv": load_csv,
    "txt": load_txt,
    "npy": load_npy,
    "uci": load_uci,
    "idx": load_idx,
}
