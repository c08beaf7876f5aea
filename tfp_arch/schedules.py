"""A learning rate that decays over the steps of each `fit`, whatever the data size."""

from __future__ import annotations

import math
from typing import Any

import keras

from tfp_arch.validation import float_in_range, positive_float

__all__ = ["BudgetCosineDecay", "budget_peak"]

BUDGET_CONSTANT = 0.4
PEAK_BOUNDS = (1e-3, 2e-2)


def budget_peak(steps: int) -> float:
    """The peak learning rate of a run of `steps` optimiser steps: `0.4 / sqrt(steps)` within [1e-3, 0.02].

    For a fixed budget of T steps of stochastic gradient descent, the step size that balances
    progress against gradient noise falls as 1 / sqrt(T) (Nemirovski et al. 2009). The distance a
    run can travel (about peak * T / 2 under the cosine decay) then grows as sqrt(T): a short run on
    a few hundred rows moves far enough to fit, and a long run on tens of thousands of rows takes
    small, quiet steps (a fixed 0.02 made the bnn's training on 41,000 rows diverge). The constant
    and the bounds were chosen on validation cuts of several data sets (`benchmarks/bnn_validation.py`).
    """
    return float(min(max(BUDGET_CONSTANT / math.sqrt(max(int(steps), 1)), PEAK_BOUNDS[0]), PEAK_BOUNDS[1]))


@keras.saving.register_keras_serializable(package="tfp_arch")
class BudgetCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from a peak to `peak * final_fraction` over the optimiser steps of one `fit`.

    Keras' `CosineDecay` needs the number of steps when the optimiser is made, before the data are
    known. This schedule learns it when training starts: `tfp_arch.Architecture.fit` calls
    `plan(start, steps)` with the optimiser's step counter and the steps that `fit` will run
    (epochs times the batches per epoch). So the decay always spans the whole run, whether it is 40
    epochs of 300 examples or 20 epochs of 40,000. With `peak=None` the peak also follows the run's
    length (`budget_peak`). A later `fit` plans a new cycle from the peak (a warm restart). Until a
    plan is made the rate is the peak (0.02 for an automatic peak); after the plan ends it is the
    final value.

    Args:
        peak: the learning rate at the start of each run, or None for `budget_peak(steps)`.
        final_fraction: the rate at the end of the run, as a fraction of the peak.

    Example:
        >>> schedule = BudgetCosineDecay()
        >>> optimizer = keras.optimizers.Adam(schedule)
        >>> schedule.plan(start=0, steps=1600)   # peak 0.01, decaying to 0 at step 1600
    """

    def __init__(self, peak: float | None = None, final_fraction: float = 0.0) -> None:
        self.peak = None if peak is None else positive_float("peak", peak)
        self.final_fraction = float_in_range("final_fraction", final_fraction, 0.0, 1.0)
        initial = PEAK_BOUNDS[1] if peak is None else self.peak
        self.peak_value = keras.Variable(initial, dtype="float32", trainable=False, name="decay_peak")
        self.start = keras.Variable(0.0, dtype="float32", trainable=False, name="decay_start")
        self.steps = keras.Variable(0.0, dtype="float32", trainable=False, name="decay_steps")
        self._pi_per_step = keras.Variable(0.0, dtype="float32", trainable=False, name="decay_pi_per_step")

    def plan(self, start: int, steps: int) -> None:
        """Decay over the `steps` optimiser steps that follow step `start` (0 steps: no decay)."""
        steps = max(int(steps), 0)
        self.start.assign(float(start))
        self.steps.assign(float(steps))
        self._pi_per_step.assign(math.pi / steps if steps else 0.0)
        if self.peak is None and steps:
            self.peak_value.assign(budget_peak(steps))

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        angle = ops.clip((ops.cast(step, "float32") - self.start) * self._pi_per_step, 0.0, math.pi)
        cosine = 0.5 + 0.5 * ops.cos(angle)
        if self.final_fraction == 0.0:
            return self.peak_value * cosine
        return self.peak_value * (self.final_fraction + (1.0 - self.final_fraction) * cosine)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "final_fraction": self.final_fraction}
