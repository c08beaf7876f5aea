"""Parsing `-p key=value` hyperparameters into plain values of their declared types."""

from __future__ import annotations

import click

from tfp_arch.declaration import Declaration
from tfp_arch.hyperparameters import ANY, parse_value

__all__ = ["parse_hyperparameters"]


def parse_hyperparameters(pairs: tuple[str, ...], declaration: Declaration | None = None) -> dict:
    """`("hidden_units=[50, 50]", "prior=standard_normal")` to a dict of plain values.

    Values are read as JSON (numbers, true/false/null, lists) or Python's True/False/None, else kept
    as strings; a string-typed hyperparameter (from `declaration`) keeps its text as it is. Names and
    types are checked once, when the run is planned (`tfp_arch.runs.plan`).
    """
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="'-p'")
        declared = declaration.hyperparameter(key.strip()) if declaration is not None else None
        parsed[key.strip()] = parse_value(value, declared.kind if declared is not None else ANY)
    return parsed
