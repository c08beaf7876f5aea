"""Training an architecture into a run folder, and reusing a run folder."""

from __future__ import annotations

import csv
import inspect
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfp_arch.architecture import Architecture
from tfp_arch.data import DataError, Dataset, load_data
from tfp_arch.registry import get
from tfp_arch_registry import default_registry

__all__ = ["Run", "evaluate_run", "hyperparameter_names", "load_run", "prepare_data", "train"]

MODEL_FILE = "model.keras"
FILES = (MODEL_FILE, "config.json", "history.csv", "metrics.json")


@dataclass
class Run:
    """A finished training run.

    Attributes:
        path: the run folder.
        model: the trained architecture.
        metrics: what `metrics.json` holds.
        config: what `config.json` holds.
    """

    path: Path
    model: Architecture
    metrics: dict[str, float]
    config: dict[str, Any]


def hyperparameter_names(cls: type[Architecture]) -> list[str]:
    """The constructor arguments of an architecture (its hyperparameters), the base class's included."""
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names: list[str] = []
    for klass in (cls, Architecture):
        parameters = inspect.signature(klass.__init__).parameters.values()
        names += [p.name for p in parameters if p.name != "self" and p.kind in kinds and p.name not in names]
    return names


def prepare_data(cls: type[Architecture], spec: str | None) -> Dataset:
    """Load `spec` (default: the architecture's embedded data) in the form the architecture takes."""
    dataset = load_data(spec or cls.default_data)
    if cls.task == "unsupervised":
        return dataset.as_unsupervised()
    if not dataset.supervised:
        raise DataError(f"architecture {cls.name!r} needs targets, but data {dataset.name!r} has none")
    return dataset


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("tfp-arch", "tensorflow", "keras", "tensorflow-probability", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for epoch in range(len(history[keys[0]]) if keys else 0):
            writer.writerow([epoch + 1, *(f"{float(history[k][epoch]):.8g}" for k in keys)])


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in metrics.items()}


def train(
    name: str,
    data: str | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    output: str | Path | None = None,
    hyperparameters: dict[str, Any] | None = None,
    plot: bool = False,
    verbose: int | str = "auto",
) -> Run:
    """Train architecture `name` and write a complete run folder.

    The folder holds `model.keras`, `config.json` (architecture, hyperparameters, data spec, seed,
    package versions), `history.csv` and `metrics.json` (test metrics as `test_<quantity>`, and
    `train_seconds`), plus `plot.png` with `plot=True`. It is written under a temporary name and renamed
    at the end, so a failed or interrupted run never leaves a folder that looks complete.

    Args:
        name: architecture name (or `distribution:name`).
        data: data spec; None for the architecture's embedded default data.
        epochs: training epochs (default: the architecture's).
        batch_size: examples per batch (default: the architecture's).
        seed: seeds Python, NumPy and TensorFlow.
        output: the run folder to create; must not exist. Default `runs/<name>-<time>`.
        hyperparameters: constructor arguments, overriding those derived from the data.
        plot: also write `plot.png`.
        verbose: Keras' verbosity for `fit`.

    Returns:
        The finished run.
    """
    cls = get(name)
    hyperparameters = dict(hyperparameters or {})
    unknown = sorted(set(hyperparameters) - set(hyperparameter_names(cls)))
    if unknown:
        raise ValueError(
            f"unknown hyperparameter {unknown[0]!r} for {cls.name!r}; known: {', '.join(hyperparameter_names(cls))}"
        )
    if plot and cls.plot is Architecture.plot:
        raise NotImplementedError(f"architecture {cls.name!r} has no plot; run without --plot")
    target = Path(output) if output else Path("runs") / f"{cls.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if target.exists():
        raise FileExistsError(f"output folder {target} already exists; choose another --output")
    dataset = prepare_data(cls, data)
    keras.utils.set_random_seed(seed)
    suggested = dataset.suggested_hyperparameters.get(cls.name, {})
    arguments = {**cls.hyperparameters_for(dataset), **suggested, **hyperparameters}
    model = cls(**arguments)
    model.compile()
    epochs = epochs or cls.default_epochs
    batch_size = batch_size or cls.default_batch_size
    started = time.perf_counter()
    history = model.fit(dataset.x_train, dataset.y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds = time.perf_counter() - started
    metrics = {f"test_{k}": v for k, v in _finite(model.evaluate_metrics(dataset.x_test, dataset.y_test)).items()}
    metrics["train_seconds"] = seconds
    config = {
        "architecture": cls.name,
        "entry_point": default_registry().resolve(name).qualified,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "hyperparameters": arguments,
        "data": dataset.name,
        "data_shape": list(dataset.x_train.shape[1:]),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "versions": _versions(),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        model.save(staging / MODEL_FILE)
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        _write_history(staging / "history.csv", history.history)
        if plot:
            model.plot(str(staging / "plot.png"), dataset)
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Run(target, model, metrics, config)


def load_run(path: str | Path) -> tuple[Architecture, dict[str, Any]]:
    """The model and config of a run folder written by `train`."""
    folder = Path(path)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"not a complete tfp-arch run folder (missing {', '.join(missing)})", str(folder))
    config = json.loads((folder / "config.json").read_text())
    model = keras.saving.load_model(folder / MODEL_FILE)
    return model, config


def evaluate_run(path: str | Path, data: str | None = None) -> dict[str, float]:
    """Test metrics of a saved run, on its own data or on the data spec `data`."""
    model, config = load_run(path)
    dataset = prepare_data(type(model), data or config["data"])
    expected = tuple(config["data_shape"])
    if tuple(dataset.x_test.shape[1:]) != expected:
        raise DataError(
            f"the model takes inputs of shape {expected} ({int(np.prod(expected))} features); "
            f"data {dataset.name!r} has {tuple(dataset.x_test.shape[1:])}"
        )
    return {f"test_{k}": v for k, v in _finite(model.evaluate_metrics(dataset.x_test, dataset.y_test)).items()}
