"""Checks of constructor arguments, with errors that name the argument and the value received.

Every check of tfp_arch's own (arguments, hyperparameters, data, output folders, non-finite losses and
metrics) raises a `ValidationError`; the CLI prints these, and only these, as one line. Any other
exception is a bug, in tfp_arch or below it, and keeps its traceback.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Sequence

__all__ = ["ValidationError", "non_negative_float", "one_of", "positive_float", "positive_int"]


class ValidationError(ValueError):
    """A value refused by one of tfp_arch's own checks, with a message naming what and why."""


def _invalid(name: str, expected: str, value: Any) -> ValidationError:
    return ValidationError(f"Invalid value for argument `{name}`: expected {expected}. Received: {name}={value!r}")


def positive_int(name: str, value: Any) -> int:
    """`value` as an int if it is an integer >= 1 (not a bool), else a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise _invalid(name, "a positive integer", value)
    return int(value)


def positive_float(name: str, value: Any, allow_none: bool = False) -> float | None:
    """`value` as a float if it is a finite real number > 0 (or None when allowed), else a ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
        raise _invalid(name, "a positive float" + (" or None" if allow_none else ""), value)
    return float(value)


def non_negative_float(name: str, value: Any, allow_none: bool = False) -> float | None:
    """`value` as a float if it is a finite real number >= 0 (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value >= 0):
        raise _invalid(name, "a non-negative float" + (" or None" if allow_none else ""), value)
    return float(value)


def one_of(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """`value` if it is one of `choices`, else a ValueError listing them."""
    if value not in choices:
        raise _invalid(name, f"one of {', '.join(map(str, choices))}", value)
    return value
