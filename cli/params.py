"""Parsing `-p key=value` hyperparameters into plain values of their declared types."""

from __future__ import annotations

import click

from tfp_arch.registry.describe import Description
from tfp_arch.registry.hyperparameters import ANY, parse_value

__all__ = ["parse_hyperparameters"]


def parse_hyperparameters(pairs: tuple[str, ...], description: Description | None = None) -> dict:
    """`("hidden_units=[50, 50]", "prior=standard_normal")` to a dict of plain values.

    Values are read as JSON (numbers, true/false/null, lists) or Python's True/False/None, else kept
    as strings; a string-typed hyperparameter (from `description`) keeps its text as it is. Names and
    types are checked once, by `tfp_arch.registry.request.make_request`.
    """
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="'-p'")
        declared = description.hyperparameter(key.strip()) if description is not None else None
        parsed[key.strip()] = parse_value(value, declared.kind if declared is not None else ANY)
    return parsed
