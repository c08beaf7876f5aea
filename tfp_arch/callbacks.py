"""Callbacks of a trustworthy training run: stop at a non-finite loss, checkpoint, resume.

`StopOnNonFinite` raises `NonFiniteLossError` as soon as a logged loss is NaN or infinite.
`RunCheckpoint` is Keras' `BackupAndRestore` (weights, optimizer state and epoch counter) with the
run's history, early-stopping state and the layers' random-number state saved beside them, each file
written into a new private folder that replaces the previous checkpoint's in one rename, every N epochs or
every few seconds. `ResumableEarlyStopping` is Keras' `EarlyStopping` with a state that survives a restart.
`TensorBoardTerms` logs the loss's terms, the learning rate and the posterior scales per epoch.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfp_arch import _private_api
from tfp_arch.safe_files import publish_folder
from tfp_arch.tensorboard_logging import TensorBoardTerms
from tfp_arch.validation import ValidationError

__all__ = [
    "NonFiniteLossError",
    "ResumableEarlyStopping",
    "RunCheckpoint",
    "StopOnNonFinite",
    "TensorBoardTerms",
    "loss_terms",
]


class NonFiniteLossError(ValidationError, ArithmeticError):
    """The training loss became NaN or infinite.

    Attributes:
        epoch: the epoch (1-based).
        batches: the first and last batch (1-based) of the steps in which it happened; with several
            steps per execution, Keras reports the loss once per execution.
        term: `"NLL"`, `"KL"` or None when it is not known which term of the loss it was.
    """

    def __init__(self, message: str, epoch: int, batches: tuple[int, int] | None, term: str | None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batches = batches
        self.term = term


def loss_terms(model: keras.Model, x: Any, y: Any) -> dict[str, float | None]:
    """The training loss of one batch split into the KL part (the `add_loss` terms) and the rest (NLL).

    Args:
        model: a compiled model.
        x: a batch of inputs.
        y: its targets, or None.

    Returns:
        `{"KL": ..., "NLL": ...}` as floats; the KL part is 0 when the model adds no losses, and the
        NLL part is None when the KL part is not finite (it cannot be told apart from the total).
    """
    y_pred = model(x, training=True)
    total = float(keras.ops.convert_to_numpy(model.compute_loss(x, y, y_pred, training=True)))
    kl = float(sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)) if model.losses else 0.0
    return {"KL": kl, "NLL": total - kl if math.isfinite(kl) else None}


class StopOnNonFinite(keras.callbacks.Callback):
    """Raise `NonFiniteLossError` at the first non-finite loss, naming the epoch, batches and term.

    Keras' `TerminateOnNaN` stops quietly; this raises, so that a diverged run never looks like a
    finished one. To name the term, the weights at the start of each epoch are kept, and on failure
    the loss of `probe` is split (`loss_terms`) at those weights: a term that is already non-finite
    there is named; otherwise the message says that both were finite at the start of the epoch.

    Args:
        batches_per_epoch: number of training batches per epoch, to clip reported batch ranges.
        probe: a batch `(x, y)` of training data for the diagnosis, or None to skip it.
    """

    def __init__(self, batches_per_epoch: int | None = None, probe: tuple[Any, Any] | None = None) -> None:
        super().__init__()
        self.batches_per_epoch = batches_per_epoch
        self.probe = probe
        self._epoch = 0
        self._last = -1
        self._weights: list[np.ndarray] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._last = epoch, -1
        if self.probe is not None:
            self._weights = self.model.get_weights()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            last = batch + 1 if self.batches_per_epoch is None else min(batch + 1, self.batches_per_epoch)
            self._fail(float(loss), "training loss", (self._last + 2, last))
        self._last = batch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float, np.floating)) and not math.isfinite(float(value)):
                self._fail(float(value), f"logged value `{key}`", None)

    def _diagnose(self) -> str | None:
        """`"KL"` or `"NLL"`: the term non-finite at the epoch's starting weights; `""` if both are finite."""
        if self.probe is None or self._weights is None:
            return None
        self.model.set_weights(self._weights)
        terms = loss_terms(self.model, *self.probe)
        return next((name for name, value in terms.items() if value is not None and not math.isfinite(value)), "")

    def _fail(self, value: float, what: str, batches: tuple[int, int] | None) -> None:
        where = f"epoch {self._epoch + 1}"
        if batches is not None:
            total = f" of {self.batches_per_epoch}" if self.batches_per_epoch else ""
            span = f"batch {batches[1]}" if batches[0] == batches[1] else f"batches {batches[0]}-{batches[1]}"
            where += f", {span}{total}"
        term = self._diagnose()
        if term:
            cause = f"; the {term} term is already non-finite at the weights the epoch started from"
        elif term == "":
            cause = "; both terms (NLL and KL) were finite at the start of the epoch, so the optimisation diverged"
        else:
            cause = ""
        self.model.stop_training = True
        raise NonFiniteLossError(
            f"the {what} became {value} in {where}{cause}; try a smaller learning rate or other hyperparameters",
            self._epoch + 1,
            batches,
            term or None,
        )


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` whose progress (best value, best epoch, patience used, best weights) can
    be saved and restored, so that a resumed run stops where an uninterrupted one would."""

    def state(self) -> dict[str, Any]:
        """The progress as plain values (the best weights are kept apart)."""
        best = None if self.best is None else float(self.best)
        return {"wait": self.wait, "best": best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}

    def restore(self, state: dict[str, Any], best_weights: list[np.ndarray] | None) -> None:
        """Continue from a saved `state` and its best weights."""
        self.wait, self.best = int(state["wait"]), state["best"]
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        self.best_weights = best_weights


class RunCheckpoint(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that also keeps the run's per-epoch history and early-stopping state.

    The history is recorded every epoch. A checkpoint (weights with the optimizer state, the epoch
    counter, the history so far, the early-stopping state and the seed-generator states) is written
    every `every` epochs, or, with `every=None`, after an epoch when the last one is at least `seconds`
    old; `every=0` never writes one. The files are written into a new private folder that is then
    swapped in, so a failure while writing keeps the previous checkpoint. On `on_train_begin` an
    existing checkpoint is restored and the history continues from it.

    Args:
        backup_dir: the checkpoint folder.
        every: epochs between checkpoints, None for time-based, 0 for none.
        seconds: the interval of time-based checkpoints.
        early_stopping: the run's `ResumableEarlyStopping`, whose state is saved too; it must come
            before this callback in the callback list.
        restore_from: another checkpoint folder to restore from, when it holds a checkpoint (a
            multi-worker job's worker restores from the chief's checkpoint and writes its own
            into a temporary `backup_dir`, which TensorFlow's workers must do in step with the chief).
    """

    def __init__(
        self,
        backup_dir: str | Path,
        every: int | None = None,
        seconds: float = 10.0,
        early_stopping: ResumableEarlyStopping | None = None,
        restore_from: str | Path | None = None,
    ) -> None:
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.restore_from = None if restore_from is None else str(restore_from)
        self.every = every
        self.interval = seconds
        self.early_stopping = early_stopping
        self.history: list[dict[str, float]] = []
        self.restored_epoch = 0
        self.seconds_before = 0.0
        self._saved_at = self._started = time.monotonic()

    @property
    def seconds(self) -> float:
        """Training time so far, the sessions before a restart included."""
        return self.seconds_before + time.monotonic() - self._started

    @property
    def _best_path(self) -> str:
        return os.path.join(self.backup_dir, "best_weights.npz")

    @property
    def _random_path(self) -> str:
        return os.path.join(self.backup_dir, "random_state.npz")

    def _random_state(self) -> list:
        """Variables outside the weights: the layers' seed-generator states, which Keras' weight files skip."""
        weights = {id(v) for v in self.model.weights}
        return [v for v in self.model.variables if id(v) not in weights]

    def on_train_begin(self, logs: dict | None = None) -> None:
        source = self.restore_from
        _, metadata_path = _private_api.backup_paths(self)
        if source and os.path.isfile(os.path.join(source, os.path.basename(metadata_path))):
            shutil.copytree(source, self.backup_dir, dirs_exist_ok=True)
        super().on_train_begin(logs)
        self._saved_at = self._started = time.monotonic()
        if not os.path.isfile(metadata_path):
            return
        with open(metadata_path) as handle:
            metadata = json.load(handle)
        self.restored_epoch = int(metadata["epoch"])
        self.history = metadata.get("history", [])[: self.restored_epoch]
        self.seconds_before = float(metadata.get("seconds", 0.0))
        if os.path.isfile(self._random_path):
            with np.load(self._random_path) as arrays:
                for i, variable in enumerate(self._random_state()):
                    if f"v{i}" in arrays.files:
                        variable.assign(arrays[f"v{i}"])
        if self.early_stopping is not None and metadata.get("early_stopping"):
            best = None
            if os.path.isfile(self._best_path):
                with np.load(self._best_path) as arrays:
                    best = [arrays[f"w{i}"] for i in range(len(arrays.files))]
            self.early_stopping.restore(metadata["early_stopping"], best)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # `_current_epoch`, `_last_batch_seen` and `_save_model` are BackupAndRestore's (`tfp_arch._private_api`).
        self.history.append({key: float(value) for key, value in (logs or {}).items()})
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.every is None:
            due = time.monotonic() - self._saved_at >= self.interval
        else:
            due = self.every > 0 and (epoch + 1) % self.every == 0
        if due:
            self._save_model()

    def _save_model(self) -> None:
        """Write the checkpoint into a new private folder beside `backup_dir` and swap it in, so that a
        failure while writing (a full disk) leaves the previous checkpoint whole."""
        parent = os.path.dirname(os.path.abspath(self.backup_dir))
        os.makedirs(parent, exist_ok=True)
        fresh = tempfile.mkdtemp(prefix=f".{os.path.basename(self.backup_dir)}.new.", dir=parent)
        weights_path, metadata_path = _private_api.backup_paths(self)
        try:
            self.model.save_weights(os.path.join(fresh, os.path.basename(weights_path)), overwrite=True)
            metadata = {"epoch": self._current_epoch, "batch": 0, "history": self.history, "seconds": self.seconds}
            stopping = self.early_stopping
            if stopping is not None:
                metadata["early_stopping"] = stopping.state()
                if stopping.best_weights is not None:
                    np.savez(
                        os.path.join(fresh, os.path.basename(self._best_path)),
                        # numpy's stub types `allow_pickle: bool` beside `**kwds`, and mypy checks the arrays
                        # against it although no key is `allow_pickle` (the keys are w0, w1, ...).
                        **{f"w{i}": w for i, w in enumerate(stopping.best_weights)},  # type: ignore[arg-type]
                    )
            np.savez(
                os.path.join(fresh, os.path.basename(self._random_path)),
                **{f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self._random_state())},
            )
            with open(os.path.join(fresh, os.path.basename(metadata_path)), "w") as handle:
                json.dump(metadata, handle, allow_nan=False)
            publish_folder(fresh, self.backup_dir, overwrite=True)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        self._saved_at = time.monotonic()
