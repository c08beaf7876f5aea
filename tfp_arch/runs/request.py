"""The request of a training run: every option of `tfp-arch train`, checked once, before anything is built.

`make_request` needs only the architecture's `Declaration`, so a run is checked completely
(hyperparameter names and types, counts, fractions, the strategy's name, `--plot`, the data spec)
before TensorFlow is imported; the request is written to the staging folder, and `--resume` reads
it back. This is the one place these options are checked, for the CLI and `tfp_arch.runs.train`
alike. Standard library (and NumPy, for the data spec's module) only.
"""

from __future__ import annotations

from typing import Any

from tfp_arch.declaration import Declaration
from tfp_arch.distribute import STRATEGIES
from tfp_arch.hyperparameters import HyperparameterError
from tfp_arch.registry.entries import Entry
from tfp_arch.registry.errors import MissingCapabilityError
from tfp_arch.validation import ValidationError, float_in_range, int_at_least, one_of, seed_value

__all__ = ["OptionError", "make_request"]


class OptionError(HyperparameterError):
    """An option of a run (`epochs`, `validation_split`, `strategy`, ...) out of its range: a usage error.

    Attributes:
        argument: the option's name as `tfp_arch.runs.train` spells it (the CLI's `--epochs` is `epochs`).
        problem: what is wrong, without the argument's name: "expected a positive integer. Received: epochs=0".
    """

    def __init__(self, argument: str, error: ValidationError) -> None:
        super().__init__(str(error))
        self.argument = argument
        self.problem = str(error).split(": ", 1)[-1]


def _checked(argument: str, check: Any, *args: Any) -> Any:
    try:
        return check(argument, *args)
    except ValidationError as error:
        raise OptionError(argument, error) from None


def _count(name: str, value: Any, minimum: int) -> int:
    expected = "a positive integer" if minimum == 1 else "a non-negative integer"
    return _checked(name, int_at_least, value, minimum, expected)


def check_data_spec(spec: str) -> str:
    """`spec` if it parses as a data spec (kind, path, option names), else the `DataError` naming what
    is wrong; whether the files exist is found when the data are read."""
    from tfp_arch.data import DataError, DataSpec  # NumPy, not TensorFlow: imported when a run is planned

    if not isinstance(spec, str) or not spec:
        raise DataError(f"Invalid value for argument `data`: expected a data spec string. Received: data={spec!r}")
    DataSpec.parse(spec)
    return spec


def make_request(
    entry: Entry,
    declaration: Declaration,
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
    """Check the options of a run of the architecture `entry` (declared by `declaration`) and return them
    as plain values.

    `epochs` stays None when not given: the run resolves it once the data are loaded
    (`tfp_arch.runs.training.resolve_epochs`) and records the number in `config.json`.

    Raises:
        HyperparameterError: an unknown hyperparameter or a value of the wrong type; `OptionError`
            (a subclass) for a bad count, fraction, seed or strategy name (a usage error).
        MissingCapabilityError: `plot=True` for an architecture without a plot.
        DataError: the data spec does not parse (unknown kind, unknown option).
    """
    name = declaration.architecture_name or entry.name
    checked = declaration.check(dict(hyperparameters or {}))
    if plot and not declaration.has_plot:
        raise MissingCapabilityError(f"architecture {name!r} has no plot; run without --plot")
    return {
        "architecture": name,
        "entry_point": entry.qualified,
        "data": check_data_spec(data or declaration.default_data),
        "epochs": None if epochs is None else _count("epochs", epochs, 1),
        "batch_size": _count("batch_size", declaration.default_batch_size if batch_size is None else batch_size, 1),
        "seed": _checked("seed", seed_value, seed),
        "hyperparameters": checked,
        "plot": bool(plot),
        "validation_split": float(_checked("validation_split", float_in_range, validation_split, 0.0, 1.0, "[)")),
        "patience": None if patience is None else _count("patience", patience, 0),
        "checkpoint_every": None if checkpoint_every is None else _count("checkpoint_every", checkpoint_every, 0),
        "strategy": _checked("strategy", one_of, strategy, STRATEGIES),
    }
