"""Keras callbacks for any `fit`: stop at a non-finite loss, log the loss's terms.

`StopOnNonFinite` raises `NonFiniteLossError` as soon as a logged loss is NaN or infinite.
`TensorBoardTerms` logs the loss's terms, the learning rate and the posterior scales per epoch.
The callbacks that checkpoint and resume a run are the run's own (`tfp_arch.runs.callbacks`).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from tfp_arch.tensorboard_logging import TensorBoardTerms
from tfp_arch.validation import ValidationError

__all__ = [
    "NonFiniteLossError",
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
