"""The default training budget of a run: epochs that follow from the number of training rows.

An architecture declares `default_epochs` (the fewest epochs of a default run) and, optionally,
`min_training_steps` (the fewest optimiser steps) and `max_default_epochs`. With `B` examples per
batch and `n` training rows, an epoch is `ceil(n / B)` steps, and a default run trains

    epochs = max(default_epochs, min(max_default_epochs, ceil(min_training_steps / ceil(n / B))))

epochs: a small data set gets many epochs (enough steps to converge), a large one keeps
`default_epochs`, so the work grows linearly in the rows beyond `min_training_steps * B /
default_epochs` rows. The cap bounds the wall time on tiny sets, where each epoch's fixed cost
(tens of milliseconds in Keras) outweighs its few steps. The rule reads the training data's size
only, never its name. Standard library only: `tfp_arch.runs.training.resolve_epochs` resolves it once the data
are loaded, and records it in the run's request and `config.json`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["epochs_for", "epochs_rule"]


def epochs_for(
    train_rows: int, batch_size: int, min_epochs: int, min_steps: int | None = None, max_epochs: int | None = None
) -> int:
    """`max(min_epochs, min(max_epochs, ceil(min_steps / ceil(train_rows / batch_size))))`.

    Args:
        train_rows: rows the model trains on (after any validation split).
        batch_size: examples per optimiser step.
        min_epochs: the fewest epochs.
        min_steps: the fewest optimiser steps, or None (`min_epochs` epochs).
        max_epochs: the most epochs `min_steps` may ask for, or None (no cap).

    Raises:
        ValueError: a count below 1 (`min_steps` may be 0).

    Example:
        >>> epochs_for(691, 32, 40, 20000, 1000)
        910
        >>> epochs_for(40000, 32, 40, 20000, 1000)
        40
        >>> epochs_for(100, 32, 40, 20000, 1000)
        1000
    """
    counts = [("train_rows", train_rows), ("batch_size", batch_size), ("min_epochs", min_epochs)]
    if max_epochs is not None:
        counts.append(("max_epochs", max_epochs))
    for name, value in counts:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid value for argument `{name}`: expected a positive integer. Received: {value!r}")
    if min_steps is None:
        return min_epochs
    if isinstance(min_steps, bool) or not isinstance(min_steps, int) or min_steps < 0:
        raise ValueError(
            f"Invalid value for argument `min_steps`: expected a non-negative integer or None. Received: {min_steps!r}"
        )
    wanted = math.ceil(min_steps / math.ceil(train_rows / batch_size))
    return max(min_epochs, wanted if max_epochs is None else min(max_epochs, wanted))


def epochs_rule(
    train_rows: int, batch_size: int, min_epochs: int, min_steps: int | None = None, max_epochs: int | None = None
) -> dict[str, Any]:
    """The inputs of `epochs_for` and the epochs it gives, as recorded in a run's `config.json`."""
    return {
        "epochs": epochs_for(train_rows, batch_size, min_epochs, min_steps, max_epochs),
        "rule": "max(min_epochs, min(max_epochs, ceil(min_steps / ceil(train_rows / batch_size))))",
        "train_rows": train_rows,
        "batch_size": batch_size,
        "min_epochs": min_epochs,
        "min_steps": min_steps,
        "max_epochs": max_epochs,
    }
