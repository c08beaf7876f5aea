"""Checks of arguments, with Keras-style errors that name the argument and the value received.

Every message reads "Invalid value for argument `name`: <problem>. Received: name=<value>". The
checks return the value converted (an int, a float, a list of ints), so a constructor validates and
stores in one line; `invalid_argument` builds the error for a check of its own.

Every check of tfp_arch's own (arguments, hyperparameters, data, output folders, non-finite losses and
metrics) raises a `ValidationError`; the CLI prints these, and only these, as one line. Any other
exception is a bug, in tfp_arch or below it, and keeps its traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any, Literal, overload

__all__ = [
    "MAX_SEED",
    "ValidationError",
    "activation_name",
    "boolean",
    "callable_or_none",
    "float_in_range",
    "int_at_least",
    "invalid_argument",
    "non_negative_float",
    "one_of",
    "positive_float",
    "positive_int",
    "positive_ints",
    "seed_value",
]

MAX_SEED = 2**32 - 1

_UNSET = object()


class ValidationError(ValueError):
    """A value refused by one of tfp_arch's own checks, with a message naming what and why."""


def invalid_argument(name: str, problem: str, value: Any = _UNSET, received: str | None = None) -> ValidationError:
    """The error "Invalid value for argument `name`: {problem}. Received: {received}".

    Args:
        name: the argument.
        problem: what was expected or what is wrong, e.g. "expected a positive integer".
        value: the value received, shown as `name=value!r`.
        received: the "Received" text instead, when it needs more than the value (other arguments).
    """
    if received is None:
        received = f"{name}={value!r}" if value is not _UNSET else f"{name}"
    return ValidationError(f"Invalid value for argument `{name}`: {problem}. Received: {received}")


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(name: str, value: Any) -> int:
    """`value` as an int if it is an integer >= 1 (not a bool), else a ValueError naming `name`."""
    return int_at_least(name, value, 1, "a positive integer")


def int_at_least(name: str, value: Any, low: int, expected: str | None = None) -> int:
    """`value` as an int if it is an integer >= `low` (not a bool)."""
    if not _is_int(value) or value < low:
        raise invalid_argument(name, f"expected {expected or f'an integer >= {low}'}", value)
    return int(value)


def seed_value(name: str, value: Any) -> int:
    """`value` as an int if it is an integer in `0 .. MAX_SEED` (2**32 - 1, NumPy's range of seeds)."""
    if not _is_int(value) or not 0 <= value <= MAX_SEED:
        raise invalid_argument(name, f"expected an integer from 0 to {MAX_SEED}", value)
    return int(value)


def positive_ints(name: str, values: Any, length: int | None = None, allow_int: bool = False) -> list[int]:
    """`values` as a list of ints if it is a sequence of integers >= 1.

    Args:
        name: the argument.
        values: the sequence (or one integer, when `allow_int`, repeated `length` times or once).
        length: the required length, or None for any.
        allow_int: accept one integer for the whole sequence.
    """
    expected = "a sequence of positive integers" if length is None else f"{length} positive integers"
    if allow_int:
        expected = f"a positive integer or {expected}"
    try:
        items = None if isinstance(values, (str, bytes)) else list(values)
    except TypeError:
        items = [values] * (length or 1) if allow_int and _is_int(values) else None
    if items is None or (length is not None and len(items) != length) or not all(_is_int(v) and v >= 1 for v in items):
        raise invalid_argument(name, f"expected {expected}", values)
    return [int(v) for v in items]


@overload
def positive_float(name: str, value: Any, allow_none: Literal[False] = False) -> float: ...
@overload
def positive_float(name: str, value: Any, allow_none: bool) -> float | None: ...
def positive_float(name: str, value: Any, allow_none: bool = False) -> float | None:
    """`value` as a float if it is a finite real number > 0 (or None when allowed), else a ValueError."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not value > 0:
        raise invalid_argument(name, "expected a positive float" + (" or None" if allow_none else ""), value)
    return float(value)


@overload
def non_negative_float(name: str, value: Any, allow_none: Literal[False] = False) -> float: ...
@overload
def non_negative_float(name: str, value: Any, allow_none: bool) -> float | None: ...
def non_negative_float(name: str, value: Any, allow_none: bool = False) -> float | None:
    """`value` as a float if it is a finite real number >= 0 (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not value >= 0:
        raise invalid_argument(name, "expected a non-negative float" + (" or None" if allow_none else ""), value)
    return float(value)


def float_in_range(name: str, value: Any, low: float, high: float, interval: str = "[]") -> float:
    """`value` as a float if it lies in the interval from `low` to `high`.

    Args:
        name: the argument.
        value: the value.
        low, high: the bounds.
        interval: `"[]"`, `"[)"`, `"(]"` or `"()"`: which bounds are included. A probability
            strictly between 0 and 1 is `float_in_range(name, p, 0, 1, "()")`.
    """
    inside = (
        _is_real(value)
        and (value >= low if interval[0] == "[" else value > low)
        and (value <= high if interval[1] == "]" else value < high)
    )
    if not inside:
        raise invalid_argument(name, f"expected a float in {interval[0]}{low:g}, {high:g}{interval[1]}", value)
    return float(value)


def one_of(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """`value` if it is one of `choices`, else a ValueError listing them."""
    if value not in choices:
        raise invalid_argument(name, f"expected one of {', '.join(map(str, choices))}", value)
    return value


def callable_or_none(name: str, value: Any) -> Callable | None:
    """`value` if it is callable or None."""
    if value is not None and not callable(value):
        raise invalid_argument(name, "expected a callable or None", value)
    return value


def boolean(name: str, value: Any) -> bool:
    """`value` if it is a bool (True or False), else a ValueError naming `name`."""
    if not isinstance(value, bool):
        raise invalid_argument(name, "expected True or False", value)
    return bool(value)


def activation_name(name: str, value: Any) -> str:
    """`value` if it is the name of a Keras activation (`"relu"`, `"tanh"`, ...), else a ValueError naming `name`."""
    import keras

    try:
        known = isinstance(value, str) and keras.activations.get(value) is not None
    except (ValueError, TypeError):
        known = False
    if not known:
        raise invalid_argument(name, "expected the name of a Keras activation", value)
    return str(value)
