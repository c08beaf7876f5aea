"""The default training budget of a run: epochs that follow from the number of training rows.

An architecture declares `default_epochs` (the fewest epochs of a default run) and, optionally,
`min_training_steps` (the fewest optimiser steps) and `max_default_epochs`. With `B` examples per
batch and `n` training rows, an epoch is `ceil(n / B)` steps, and a default run trains

    epochs = max(default_epochs, min(max_default_epochs, ceil(min_training_steps / ceil(n / B))))

epochs: a small data set gets many epochs (enough steps to converge), a large one keeps
`default_epochs`, so the work grows linearly in the rows beyond `min_training_steps * B /
default_epochs` rows. The cap bounds the wall time on tiny sets, where each epoch's fixed cost
(tens of milliseconds in Keras) outweighs its few steps. The rule reads the training data's size
only, never its name.

An architecture that declares `epochs_search` chooses its epochs on the data instead, within that
rule: `search_plan` cuts the training rows into a fitting part (80%) and a validation part (20%),
the model trains on the fitting part for at most the rule's epochs for that part, and stops once the
validation log-likelihood (scored every `every` epochs) has not improved for a fifth of those
epochs; the run then trains a new model on every row for `max(default_epochs, best_epoch)` epochs
(`searched_rule`; `tfp_arch.budget_search` runs the search). Standard library only:
`tfp_arch.runs.training.resolve_epochs` resolves the epochs once the data are loaded, and records
them in the run's request and `config.json`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "SEARCH_PATIENCE_FRACTION",
    "SEARCH_VALIDATION_FRACTION",
    "epochs_for",
    "epochs_rule",
    "search_plan",
    "searched_rule",
]

SEARCH_VALIDATION_FRACTION = 0.2
SEARCH_PATIENCE_FRACTION = 0.2


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


def search_plan(
    train_rows: int,
    batch_size: int,
    min_epochs: int,
    min_steps: int | None = None,
    max_epochs: int | None = None,
    validation_fraction: float = SEARCH_VALIDATION_FRACTION,
    patience_fraction: float = SEARCH_PATIENCE_FRACTION,
    evaluations: int = 100,
) -> dict[str, Any] | None:
    """The validation cut and early-stopping settings of an epoch search on `train_rows` rows, or None.

    The rows are cut into `round(validation_fraction * train_rows)` validation rows and the rest
    (`cut_rows`), on which the model trains for at most `epochs_for(cut_rows, ...)` epochs (the cap).
    The validation score is computed every `every = max(1, cap // evaluations)` epochs, and the search
    stops after `patience = max(every, ceil(patience_fraction * cap))` epochs without a better score.
    None when the cut would leave fewer than 10 validation rows (or no rows to train on), or when the
    cap is `min_epochs` (a search could only answer `min_epochs`): the plain rule (`epochs_for` on every
    row) then applies.

    Example:
        >>> plan = search_plan(364, 32, 40, 20000, 1000)
        >>> plan["cut_rows"], plan["validation_rows"], plan["epochs"], plan["every"], plan["patience"]
        (291, 73, 1000, 10, 200)
        >>> search_plan(40, 32, 40, 20000, 1000) is None, search_plan(25000, 32, 40, 20000, 1000) is None
        (True, True)
    """
    for name, fraction in (("validation_fraction", validation_fraction), ("patience_fraction", patience_fraction)):
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ValueError(f"Invalid value for argument `{name}`: expected a float in (0, 1). Received: {fraction!r}")
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise ValueError(
            f"Invalid value for argument `evaluations`: expected a positive integer. Received: {evaluations!r}"
        )
    validation_rows = round(validation_fraction * train_rows)
    cut_rows = train_rows - validation_rows
    if validation_rows < 10 or cut_rows < 1:
        return None
    epochs = epochs_for(cut_rows, batch_size, min_epochs, min_steps, max_epochs)
    if epochs <= min_epochs:
        return None
    every = max(1, epochs // evaluations)
    return {
        "train_rows": train_rows,
        "cut_rows": cut_rows,
        "validation_rows": validation_rows,
        "validation_fraction": validation_fraction,
        "epochs": epochs,
        "every": every,
        "patience": max(every, math.ceil(patience_fraction * epochs)),
    }


def searched_rule(rule: dict[str, Any], search: dict[str, Any]) -> dict[str, Any]:
    """`rule` (an `epochs_rule` record) with the epochs a search found: `max(min_epochs, best_epoch)`.

    Example:
        >>> rule = epochs_rule(364, 32, 40, 20000, 1000)
        >>> searched_rule(rule, {"best_epoch": 20})["epochs"], searched_rule(rule, {"best_epoch": 300})["epochs"]
        (40, 300)
    """
    best = search["best_epoch"]
    if isinstance(best, bool) or not isinstance(best, int) or best < 1:
        raise ValueError(f"Invalid value for `best_epoch`: expected a positive integer. Received: {best!r}")
    return {
        **rule,
        "epochs": max(rule["min_epochs"], best),
        "rule": "max(min_epochs, best_epoch of the search on a validation cut, within the steps rule's epochs)",
        "steps_rule_epochs": rule["epochs"],
        "search": search,
    }
