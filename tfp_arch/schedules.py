"""A learning rate that decays over the steps of each `fit`, whatever the data size."""

from __future__ import annotations

import math
from typing import Any

import keras

from tfp_arch.validation import non_negative_float, positive_float

__all__ = ["BudgetCosineDecay"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class BudgetCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from `peak` to `peak * final_fraction` over the optimiser steps of one `fit`.

    Keras' `CosineDecay` needs the number of steps when the optimiser is made, before the data are
    known. This schedule learns it when training starts: `tfp_arch.Architecture.fit` calls
    `plan(start, steps)` with the optimiser's step counter and the steps that `fit` will run
    (epochs times the batches per epoch). So the decay always spans the whole run, whether it is 40
    epochs of 300 examples or 20 epochs of 40,000. A later `fit` plans a new cycle from the peak (a
    warm restart). Until a plan is made, and after it ends, the rate is `peak` and the final value.

    Args:
        peak: the learning rate at the start of each run.
        final_fraction: the rate at the end of the run, as a fraction of `peak`.

    Example:
        >>> schedule = BudgetCosineDecay(1e-2)
        >>> optimizer = keras.optimizers.Adam(schedule)
        >>> schedule.plan(start=0, steps=1000)
    """

    def __init__(self, peak: float, final_fraction: float = 0.0) -> None:
        self.peak = positive_float("peak", peak)
        self.final_fraction = non_negative_float("final_fraction", final_fraction)
        if self.final_fraction > 1.0:
            raise ValueError(
                f"Invalid value for argument `final_fraction`: expected a float in [0, 1]. Received: final_fraction={final_fraction!r}"
            )
        self.start = keras.Variable(0.0, dtype="float32", trainable=False, name="decay_start")
        self.steps = keras.Variable(0.0, dtype="float32", trainable=False, name="decay_steps")

    def plan(self, start: int, steps: int) -> None:
        """Decay over the `steps` optimiser steps that follow step `start` (0 steps: no decay)."""
        self.start.assign(float(start))
        self.steps.assign(float(max(int(steps), 0)))

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        done = ops.cast(step, "float32") - self.start
        progress = ops.where(self.steps > 0, ops.clip(done / ops.maximum(self.steps, 1.0), 0.0, 1.0), 0.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        return self.peak * (self.final_fraction + (1.0 - self.final_fraction) * cosine)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "final_fraction": self.final_fraction}
