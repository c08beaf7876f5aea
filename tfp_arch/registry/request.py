"""The request of a training run: every option of `tfp-arch train`, checked before anything is built.

`make_request` needs only a `Description` of the architecture, so the CLI checks a run completely
(hyperparameter types, counts, `--plot`) before importing TensorFlow; the request is written to the
staging folder, and `--resume` reads it back. Standard library only.
"""

from __future__ import annotations

from typing import Any

from tfp_arch.distribute import STRATEGIES
from tfp_arch.registry.describe import Description
from tfp_arch.registry.entries import Entry
from tfp_arch.registry.errors import MissingCapabilityError
from tfp_arch.registry.hyperparameters import HyperparameterError
from tfp_arch.validation import ValidationError, float_in_range, int_at_least, one_of, seed_value

__all__ = ["make_request"]


def _count(name: str, value: Any, minimum: int) -> int:
    """`value` as an int >= `minimum`, or a usage error (`HyperparameterError`) naming `name`."""
    expected = "a positive integer" if minimum == 1 else "a non-negative integer"
    try:
        return int_at_least(name, value, minimum, expected)
    except ValidationError as error:
        raise HyperparameterError(str(error)) from None


def _seed(value: Any) -> int:
    try:
        return seed_value("seed", value)
    except ValidationError as error:
        raise HyperparameterError(str(error)) from None


def make_request(
    entry: Entry,
    description: Description,
    data: str | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    hyperparameters: dict[str, Any] | None = None,
    plot: bool = False,
    validation_split: float = 0.0,
    patience: int | None = None,
    checkpoint_every: int | None = None,
    strategy: str = "auto",
) -> dict[str, Any]:
    """Check the options of a run of the architecture `entry`/`description` and return them as plain values.

    Raises:
        HyperparameterError: an unknown hyperparameter, a value of the wrong type, a bad count or
            fraction, or an unknown strategy name (a usage error).
        MissingCapabilityError: `plot=True` for an architecture without a plot.
    """
    attributes = description.attributes
    checked = description.check(dict(hyperparameters or {}))
    if plot and not description.has_plot:
        raise MissingCapabilityError(
            f"architecture {attributes['architecture_name'] or entry.name!r} has no plot; run without --plot"
        )
    try:
        float_in_range("validation_split", validation_split, 0.0, 1.0, "[)")
        one_of("strategy", strategy, STRATEGIES)
    except ValidationError as error:
        raise HyperparameterError(str(error)) from None
    return {
        "architecture": attributes["architecture_name"] or entry.name,
        "entry_point": entry.qualified,
        "data": data or attributes["default_data"],
        # None: the architecture's default, resolved from the training rows once the data are loaded
        # (`tfp_arch.budget.resolve_epochs`).
        "epochs": None if epochs is None else _count("epochs", epochs, 1),
        "batch_size": _count("batch_size", batch_size or attributes["default_batch_size"], 1),
        "seed": _seed(seed),
        "hyperparameters": checked,
        "plot": bool(plot),
        "validation_split": float(validation_split),
        "patience": None if patience is None else _count("patience", patience, 0),
        "checkpoint_every": None if checkpoint_every is None else _count("checkpoint_every", checkpoint_every, 0),
        "strategy": strategy,
    }
