"""Parsing `-p key=value` hyperparameters into plain values."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["parse_hyperparameters"]

_PYTHON_LITERALS = {"True": True, "False": False, "None": None}


def _value(text: str) -> Any:
    if text in _PYTHON_LITERALS:
        return _PYTHON_LITERALS[text]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_hyperparameters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`("hidden_units=[50, 50]", "prior=standard_normal")` to a dict of plain values.

    Values are read as JSON (numbers, true/false/null, lists) or Python's True/False/None, else kept
    as strings.
    """
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="'-p'")
        parsed[key.strip()] = _value(value.strip())
    return parsed
