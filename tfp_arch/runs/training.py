"""Training an architecture into a run folder, and resuming an interrupted run.

`train` and `resume` plan the run (`tfp_arch.runs.plan`, no TensorFlow), then `run_in` loads the
data, resolves the number of epochs (`resolve_epochs`), builds the model in the strategy's scope,
fits it, and writes the run folder.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from tfp_arch import _private_api
from tfp_arch.architecture import Architecture
from tfp_arch.budget_search import choose_epochs
from tfp_arch.callbacks import StopOnNonFinite
from tfp_arch.data import DataError, Dataset, load_data
from tfp_arch.declaration import describe_class
from tfp_arch.distribute import (
    MULTI_WORKER,
    ClusterError,
    ClusterRole,
    is_peer_failure,
    make_strategy,
    strategy_name,
    strategy_record,
)
from tfp_arch.fast_fit import training_rows
from tfp_arch.hyperparameters import HyperparameterError
from tfp_arch.registry import get
from tfp_arch.runs.callbacks import ResumableEarlyStopping, RunCheckpoint
from tfp_arch.runs.folder import REQUEST_FILE, RunFolder
from tfp_arch.runs.plan import plan_resume, plan_run, run_role
from tfp_arch.safe_files import temporary_file
from tfp_arch.schedules import BudgetCosineDecay
from tfp_arch.validation import ValidationError

if TYPE_CHECKING:
    from tfp_arch.data.streaming import StreamedDataset

__all__ = [
    "FILES",
    "MODEL_FILE",
    "NonFiniteMetricError",
    "Run",
    "RunWriteError",
    "check_labels",
    "check_validation_split",
    "prepare_data",
    "resolve_epochs",
    "resume",
    "run_in",
    "save_model",
    "strict_metrics",
    "train",
]

MODEL_FILE = "model.keras"
FILES = (MODEL_FILE, "config.json", "history.csv", "metrics.json")
PLOT_FILE = "plot.png"


class NonFiniteMetricError(ValidationError, ArithmeticError):
    """A metric is NaN or infinite; it cannot be written as JSON or trusted."""


@dataclass
class Run:
    """A finished training run.

    Attributes:
        path: the run folder.
        model: the trained architecture.
        metrics: what `metrics.json` holds.
        config: what `config.json` holds.
        chief: False on a worker of a multi-worker run other than the chief, which wrote nothing
            there: `path` is then the chief's run folder.
    """

    path: Path
    model: Architecture
    metrics: dict[str, float]
    config: dict[str, Any]
    chief: bool = True


def prepare_data(cls: type[Architecture], spec: str | None) -> Dataset | StreamedDataset:
    """Load `spec` (default: the architecture's embedded data) in the form the architecture takes.

    Raises:
        DataError: the data cannot be read, lack targets the architecture needs, or hold values that
            are not finite in Keras' float type (`keras.config.floatx()`).
    """
    dataset = load_data(spec or cls.default_data)
    if cls.task == "unsupervised":
        dataset = dataset.as_unsupervised()
    elif not dataset.supervised:
        raise DataError(f"architecture {cls.architecture_name!r} needs targets, but data {dataset.name!r} has none")
    dataset.check_finite(keras.config.floatx())
    return dataset


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("tfp-arch", "tensorflow", "keras", "tensorflow-probability", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _history_csv(rows: list[dict[str, float]]) -> str:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for epoch, row in enumerate(rows, start=1):
        writer.writerow([epoch, *(f"{row[k]:.8g}" if k in row else "" for k in keys)])
    return out.getvalue()


def strict_metrics(metrics: dict[str, Any], what: str) -> dict[str, float]:
    """`metrics` as floats, or a `NonFiniteMetricError` naming the ones that are NaN or infinite."""
    values = {key: float(value) for key, value in metrics.items()}
    bad = [f"{key}={value}" for key, value in values.items() if not math.isfinite(value)]
    if bad:
        raise NonFiniteMetricError(
            f"{what} not finite: {', '.join(bad)}; the model or the data are not usable as they are"
        )
    return values


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
    validation_split: float = 0.0,
    patience: int | None = None,
    checkpoint_every: int | None = None,
    strategy: str | Any = "auto",
    overwrite: bool = False,
) -> Run:
    """Train architecture `name` and write a complete run folder.

    The folder holds `model.keras`, `config.json` (architecture, every hyperparameter the model was
    built with, data spec, seed, epochs, package versions), `history.csv` (one row per epoch) and
    `metrics.json` (test metrics as `test_<quantity>`, and `train_seconds`), plus `plot.png` with
    `plot=True`. Everything that can be checked is checked before training. The run works in
    `<output>.partial`, created first, and renames it at the end: a failed run leaves nothing, an
    interrupted one (KeyboardInterrupt) leaves the staging folder if it holds a checkpoint, for
    `resume`. A non-finite training loss stops the run with `NonFiniteLossError`.

    Args:
        name: architecture name (or `distribution:name`).
        data: data spec; None for the architecture's embedded default data.
        epochs: training epochs (default: the architecture's for the training rows, `default_epochs_for`,
            or the best epoch of a search on a validation cut for one that declares `epochs_search`).
        batch_size: examples per batch (default: the architecture's).
        seed: seeds Python, NumPy and TensorFlow; the data order of every epoch follows from it.
        output: the run folder to create; must not exist. Default `runs/<name>-<time>`.
        hyperparameters: constructor arguments, overriding those derived from the data.
        plot: also write `plot.png`.
        verbose: Keras' verbosity for `fit`.
        validation_split: fraction of the training data (the last rows) held out to validate each
            epoch; `val_*` columns appear in the history.
        patience: stop after this many epochs without improvement of the validation loss (of the
            training loss without a validation split) and keep the weights of the best epoch.
        checkpoint_every: epochs between checkpoints; None checkpoints after an epoch when the last
            checkpoint is 10 s old or more (every epoch in a multi-worker run); 0 never.
        strategy: a `tf.distribute.Strategy`, or the name of one (`tfp_arch.distribute.make_strategy`):
            `auto`, `one_device`, `mirrored`, `multi_worker_mirrored`. In a multi-worker run only
            the chief writes `output`; the other workers train in a temporary folder, removed at
            the end, and return a `Run` whose `chief` is False.
        overwrite: replace an existing `output` folder when the run finishes.

    Returns:
        The finished run.
    """
    plan = plan_run(
        name,
        data,
        output=output,
        overwrite=overwrite,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        hyperparameters=hyperparameters,
        plot=plot,
        validation_split=validation_split,
        patience=patience,
        checkpoint_every=checkpoint_every,
        strategy=strategy if isinstance(strategy, str) else strategy_name(strategy),
    )
    return run_in(
        plan.folder,
        plan.request,
        verbose,
        strategy=None if isinstance(strategy, str) else strategy,
        chief=plan.chief,
        role=plan.role,
    )


def resume(path: str | Path, verbose: int | str = "auto", allow_changed_data: bool = False) -> Run:
    """Continue the interrupted run whose staging folder is `path` to its planned epoch count.

    Weights, optimizer state, epoch counter, history and early-stopping state come from the last
    checkpoint; the model is rebuilt with the same seed, and each epoch's data order depends only on
    the seed and the epoch, so the run continues as the uninterrupted run would have. The folder is
    locked while the run trains and kept whatever stops it.

    Raises:
        RunBusyError: another process trains in the folder.
        DataChangedError: the data files changed since the run started (unless `allow_changed_data`).
    """
    plan = plan_resume(path, allow_changed_data)
    return run_in(plan.folder, plan.request, verbose, chief=plan.chief, role=plan.role)


def resolve_epochs(
    cls: type[Architecture],
    request: dict[str, Any],
    dataset: Dataset | StreamedDataset,
    folder: RunFolder | None = None,
    announce: bool = False,
    make_model: Callable[[], Architecture] | None = None,
) -> dict[str, Any]:
    """`request` with the number of epochs the run trains resolved, after the data are loaded.

    Unchanged when the epochs were given (or resolved before, as on a resume); else the
    architecture's default for the rows the model trains on (`cls.epochs_rule_for`, see
    `tfp_arch.budget`: the training part less the validation split), under `epochs`, with the rule's
    inputs under `epochs_rule`. An architecture that declares `epochs_search` trains for the best
    epoch of a search on a validation cut of those rows instead (`tfp_arch.budget_search`, models
    from `make_model`; without it, or with streamed data, the rule applies), recorded under
    `epochs_rule["search"]`. The resolved request is written back into the run's staging
    `folder`, so that a resume keeps the same epochs; with `announce` the epochs are printed once to
    stderr. `config.json` records both.
    """
    if request.get("epochs") is not None:
        return request
    train_rows = max(training_rows(dataset.n_train, request.get("validation_split")), 1)
    if isinstance(dataset, Dataset):
        y = None if dataset.y_train is None else dataset.y_train[:train_rows]
        rule = choose_epochs(
            cls, dataset.x_train[:train_rows], y, make_model, request["batch_size"], seed=request["seed"]
        )
    else:
        rule = cls.epochs_rule_for(train_rows, request["batch_size"])
    resolved = {**request, "epochs": rule["epochs"], "epochs_rule": rule}
    if folder is not None:
        folder.write(REQUEST_FILE, json.dumps(resolved, indent=2, allow_nan=False) + "\n")
    if announce:
        print(f"epochs: {rule['epochs']} ({_rule_text(rule, train_rows)})", file=sys.stderr)
    return resolved


def _rule_text(rule: dict[str, Any], train_rows: int) -> str:
    if "search" in rule:
        search = rule["search"]
        return (
            f"the best of {search['epochs_searched']} epochs trained on {search['cut_rows']} "
            f"of the {train_rows} training rows and scored on the other {search['validation_rows']}; "
            f"at least {rule['min_epochs']}"
        )
    steps = "" if rule["min_steps"] is None else f" and {rule['min_steps']} steps"
    return (
        f"the default for {train_rows} training rows in batches of {rule['batch_size']}: "
        f"at least {rule['min_epochs']} epochs{steps}"
    )


def _build(cls: type[Architecture], arguments: dict[str, Any]) -> Architecture:
    """`cls(**arguments)`; a value its constructor's checks refuse is a `HyperparameterError`."""
    try:
        return cls(**arguments)
    except ValidationError as error:
        raise HyperparameterError(str(error)) from error


def _callbacks(
    request: dict[str, Any],
    folder: RunFolder,
    dataset: Dataset | StreamedDataset,
    chief: RunFolder | None,
    multi_worker: bool,
) -> tuple[list, RunCheckpoint, ResumableEarlyStopping | None]:
    batch = request["batch_size"]
    n_train = training_rows(dataset.n_train, request["validation_split"])
    probe = dataset.head(batch)
    stopping = None
    if request["patience"] is not None:
        monitor = "val_loss" if request["validation_split"] else "loss"
        stopping = ResumableEarlyStopping(monitor=monitor, patience=request["patience"], restore_best_weights=True)
    every = request["checkpoint_every"]
    # Every worker saves when the chief does (saving reads synchronised variables collectively), so
    # the time-based default, which each process would decide alone, becomes every epoch.
    every = 1 if every is None and multi_worker else every
    checkpoint = RunCheckpoint(
        folder.checkpoint,
        every=every,
        early_stopping=stopping,
        restore_from=None if chief is None else chief.checkpoint,
    )
    guard = StopOnNonFinite(batches_per_epoch=math.ceil(n_train / batch), probe=probe)
    return [guard, *([stopping] if stopping else []), checkpoint], checkpoint, stopping


def _schedule_record(model: Architecture) -> dict[str, Any] | None:
    """The learning rate a `BudgetCosineDecay` resolved for the run (peak, steps, scales' ratio), or None."""
    schedule = _private_api.learning_rate_schedule(model.optimizer)
    if not isinstance(schedule, BudgetCosineDecay):
        return None
    record = {
        "decay": "cosine",
        "peak": float(keras.ops.convert_to_numpy(schedule.peak_value)),
        "steps": int(keras.ops.convert_to_numpy(schedule.steps)),
    }
    ratios = {
        float(keras.ops.convert_to_numpy(v)) for v in model.non_trainable_variables if v.path.endswith("scale_ratio")
    }
    if len(ratios) == 1:
        record["scale_learning_rate_ratio"] = ratios.pop()
    return record


def run_in(
    folder: RunFolder,
    request: dict[str, Any],
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    architecture: type[Architecture] | None = None,
    *,
    strategy: Any = None,
    chief: RunFolder | None = None,
    role: ClusterRole | None = None,
) -> Run:
    """Train as `request` says inside the staging folder `folder`, then finish the run folder.

    `train`, `resume` and the CLI call this with the folder and request of their plan
    (`tfp_arch.runs.plan`), made before TensorFlow was imported. `callbacks` are added to the run's own.
    `architecture` is the class the request was made for, when the caller has loaded it already;
    otherwise it is loaded from `request["entry_point"]`. The model is built in the scope of
    `strategy` (default: the one `request["strategy"]` names). On a worker that is not the chief
    of a multi-worker run, `folder` is a temporary folder, removed at the end, and `chief` is the
    chief's run folder, whose checkpoint a restarted job restores. `role` is this process's task
    in the cluster as the plan read it (default: read from `TF_CONFIG` now).

    Raises:
        ClusterError: a multi-worker run lost a worker; the chief keeps its staging folder if it
            holds a checkpoint, for `resume` on every worker.
    """
    multi_worker = False
    try:
        # First: a multi-worker strategy configures TensorFlow's collective operations, which must
        # happen before TensorFlow runs any operation.
        requested = request.get("strategy", "auto")
        role = run_role(request) if role is None else role
        strategy = make_strategy(requested if strategy is None else strategy, role=role)
        cls = architecture if architecture is not None else get(request["entry_point"])
        dataset = prepare_data(cls, request["data"])
        check_validation_split(dataset, request["validation_split"])
        multi_worker = strategy_name(strategy) == MULTI_WORKER
        suggested = dataset.suggested_hyperparameters.get(cls.architecture_name, {})
        arguments = {**cls.hyperparameters_for(dataset.summary()), **suggested, **request["hyperparameters"]}
        if dataset.kind == "classification":
            # Before any training, the epochs' search included: a label beyond the classes is a data error.
            check_labels(_build(cls, arguments), dataset)
        # Each worker of a multi-worker run would search alone: the steps rule applies there.
        request = resolve_epochs(
            cls,
            request,
            dataset,
            folder,
            announce=verbose != 0,
            make_model=None if multi_worker else lambda: _build(cls, arguments),
        )
        epochs = int(request["epochs"])
        keras.utils.set_random_seed(request["seed"])
        with strategy.scope():
            model = _build(cls, arguments)
            # BackupAndRestore restores into a built model only.
            if not model.built:
                model(dataset.head(1)[0])
        own, checkpoint, stopping = _callbacks(request, folder, dataset, chief, multi_worker)
        x, y, feeding = dataset.fit_inputs(request["batch_size"], request["seed"], request["validation_split"])
        model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=request["batch_size"],
            verbose=verbose,
            validation_split=request["validation_split"],
            callbacks=[*feeding, *own, *(callbacks or [])],
        )
        seconds = checkpoint.seconds
        scores = strict_metrics(model.evaluate_metrics(dataset.x_test, dataset.y_test), "test metrics")
        metrics = {**{f"test_{k}": v for k, v in scores.items()}, "train_seconds": seconds}
        names = describe_class(cls).names
        config = {
            "architecture": cls.architecture_name,
            "entry_point": request["entry_point"],
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "hyperparameters": {k: v for k, v in model.get_config().items() if k in names},
            "hyperparameters_given": request["hyperparameters"],
            "learning_rate_schedule": _schedule_record(model),
            "data": dataset.name,
            "data_shape": list(dataset.data_shape),
            "seed": request["seed"],
            "epochs": epochs,
            "epochs_rule": request.get("epochs_rule"),
            "epochs_run": len(checkpoint.history),
            "resumed_from_epoch": checkpoint.restored_epoch or None,
            "batch_size": request["batch_size"],
            "validation_split": request["validation_split"],
            "strategy": strategy_record(requested, strategy, role if multi_worker else ClusterRole()),
            "early_stopping": None
            if stopping is None
            else {
                "monitor": stopping.monitor,
                "patience": stopping.patience,
                "best_epoch": stopping.best_epoch + 1,
                "weights": "best epoch",
            },
            "versions": _versions(),
        }
        save_model(model, folder.path / MODEL_FILE)
        folder.write("config.json", json.dumps(config, indent=2, allow_nan=False) + "\n")
        folder.write("history.csv", _history_csv(checkpoint.history))
        if request["plot"]:
            model.plot(str(folder.path / PLOT_FILE), dataset.summary())
        folder.write("metrics.json", json.dumps(metrics, indent=2, allow_nan=False) + "\n")
        if chief is None:
            path = folder.finish(keep=(*FILES, PLOT_FILE))
        else:
            folder.discard()
            path = chief.target
    except KeyboardInterrupt:
        if chief is not None:
            folder.discard()
        else:
            folder.give_up()
        raise
    except BaseException as error:
        # A resumed run's folder is always kept; a new run's when it holds a checkpoint and the
        # failure is one a resume can get past (a lost worker, a full disk, a plugin or data problem
        # fixed since), not one it would meet again (a diverged loss).
        if chief is not None:
            folder.discard()
            kept = False
        else:
            resumable = isinstance(error, (OSError, DataError)) or (multi_worker and is_peer_failure(error))
            kept = folder.give_up(keep=resumable)
        if isinstance(error, OSError) and not isinstance(error, ConnectionError) and chief is None:
            raise RunWriteError(error, folder if kept else None) from error
        if multi_worker and is_peer_failure(error):
            staging = (chief or folder).path
            resume_all = f"restart every worker with `tfp-arch train --resume {staging}`"
            if chief is not None:
                then = f"{resume_all} if the chief kept that folder, else start the job again"
            else:
                then = (
                    f"the checkpoint is kept: {resume_all}"
                    if kept
                    else "no checkpoint was written yet: start the job again"
                )
            raise ClusterError(
                f"a worker of the multi-worker job stopped ({type(error).__name__} in a collective operation); {then}"
            ) from error
        raise
    return Run(path, model, metrics, config, chief=chief is None)


class RunWriteError(OSError):
    """Writing the run failed (a full disk, a read-only folder); says whether the staging folder was kept."""

    def __init__(self, error: OSError, kept: RunFolder | None) -> None:
        where = f" {error.filename}" if error.filename else ""
        if kept is None:
            then = "; nothing was kept"
        elif kept.resumable:
            then = f"; the checkpoint is kept: free space and continue with `tfp-arch train --resume {kept.path}`"
        else:
            then = f"; {kept.path} is kept"
        super().__init__(error.errno, f"cannot write{where}: {error.strerror or error}{then}")


def check_validation_split(dataset: Dataset | StreamedDataset, validation_split: float) -> None:
    """Refuse a `validation_split` that leaves no training rows or no validation rows, before training.

    Raises:
        HyperparameterError: naming `validation_split` and the number of training rows.
    """
    if not validation_split or not isinstance(dataset, Dataset):
        return
    n = dataset.n_train
    keep = training_rows(n, validation_split)
    if keep < 1 or keep >= n:
        part = "no training rows" if keep < 1 else "no validation rows"
        raise HyperparameterError(
            f"Invalid value for argument `validation_split`: it leaves {part} of the {n} training rows of "
            f"{dataset.name!r}. Received: validation_split={validation_split}"
        )


def check_labels(model: Architecture, dataset: Dataset | StreamedDataset) -> None:
    """Refuse class labels outside `0 .. num_classes - 1` of `model`, in the training and the test part,
    before any training or metric.

    Raises:
        DataError: naming the part, the row, the label and the number of classes.
    """
    classes = getattr(model, "num_classes", None)
    if not isinstance(classes, int) or isinstance(classes, bool) or dataset.kind != "classification":
        return
    for part in ("y_train", "y_test"):
        labels = getattr(dataset, part, None)
        if not isinstance(labels, np.ndarray) or labels.size == 0:
            continue
        flat = labels.reshape(len(labels), -1)
        bad = np.flatnonzero(((flat < 0) | (flat >= classes)).any(axis=1))
        if bad.size:
            row = int(bad[0])
            value = flat[row][(flat[row] < 0) | (flat[row] >= classes)][0]
            seen = " (a label the training part never shows)" if part == "y_test" else ""
            raise DataError(
                f"{part}, row {row + 1}: label {value} is outside the model's {classes} classes "
                f"(0..{classes - 1}){seen}; set -p num_classes or fix the labels",
                dataset.name,
            )


def save_model(model: keras.Model, path: Path) -> None:
    """`model.save` into a private temporary file beside `path`, renamed to `path` when complete."""
    with temporary_file(path, overwrite=True, suffix=".keras") as (_, partial):
        model.save(partial)
