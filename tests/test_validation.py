"""The argument checks: accepted values come back converted, rejected ones name argument and value."""

from __future__ import annotations

import pytest

from tfp_arch.validation import (
    callable_or_none,
    float_in_range,
    int_at_least,
    invalid_argument,
    one_of,
    positive_ints,
)


def test_invalid_argument_reads_like_keras():
    error = invalid_argument("x", "expected a positive float", -1.0)
    assert str(error) == "Invalid value for argument `x`: expected a positive float. Received: x=-1.0"
    assert str(invalid_argument("a", "needs b", received="a=1, b=2")).endswith("Received: a=1, b=2")


@pytest.mark.parametrize("interval, value, ok", [
    ("[]", 0.0, True), ("[]", 1.0, True), ("[)", 1.0, False), ("()", 0.0, False), ("(]", 1.0, True),
    ("[]", float("nan"), False), ("[]", True, False), ("[]", "0.5", False),
])
def test_float_in_range_includes_the_bounds_it_says(interval, value, ok):
    if ok:
        assert float_in_range("p", value, 0.0, 1.0, interval) == value
    else:
        with pytest.raises(ValueError, match=rf"`p`: expected a float in \{interval[0]}0, 1\{interval[1]}"):
            float_in_range("p", value, 0.0, 1.0, interval)


@pytest.mark.slow
def test_positive_ints_of_sequences_and_single_integers():
    assert positive_ints("units", (3, 4)) == [3, 4]
    assert positive_ints("units", []) == []
    assert positive_ints("strides", 2, length=3, allow_int=True) == [2, 2, 2]
    for bad in ([3, 0], [2.5], "12", 5, [True]):
        with pytest.raises(ValueError, match="`units`: expected a sequence of positive integers"):
            positive_ints("units", bad)
    with pytest.raises(ValueError, match="expected a positive integer or 2 positive integers. Received: strides=0"):
        positive_ints("strides", 0, length=2, allow_int=True)


@pytest.mark.slow
def test_int_at_least_one_of_and_callable_or_none():
    assert int_at_least("k", 2, 2) == 2
    with pytest.raises(ValueError, match="expected an integer >= 2. Received: k=1"):
        int_at_least("k", 1, 2)
    with pytest.raises(ValueError, match="expected one of a, b. Received: c='z'"):
        one_of("c", "z", ("a", "b"))
    assert callable_or_none("f", None) is None and callable_or_none("f", len) is len
    with pytest.raises(ValueError, match="expected a callable or None"):
        callable_or_none("f", 3)
