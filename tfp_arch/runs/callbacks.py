"""The callbacks that make a run resumable: checkpoint, and early stopping that survives a restart.

`RunCheckpoint` is Keras' `BackupAndRestore` (weights, optimizer state and epoch counter) with the
run's history, early-stopping state and the layers' random-number state saved beside them, each file
written into a new private folder that replaces the previous checkpoint's in one rename, every N epochs or
every few seconds. `ResumableEarlyStopping` is Keras' `EarlyStopping` with a state that survives a restart.
"""

from __future__ import annotations

import json
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

__all__ = ["ResumableEarlyStopping", "RunCheckpoint"]


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
