"""Quantiles by bisection on a cumulative distribution function, for distributions TFP gives none.

TFP's `Normal` and `Logistic` have closed-form quantiles, but its `Bernoulli`, `Poisson` and
`MixtureSameFamily` do not. These helpers find them from the CDF alone, element-wise and with a fixed
number of steps, so they run in eager mode, in `tf.function` and under XLA alike.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

__all__ = ["BISECTION_STEPS", "bisect_quantile", "integer_upper_bracket"]

BISECTION_STEPS = 64

Cdf = Callable[[tf.Tensor], tf.Tensor]


def bisect_quantile(
    cdf: Cdf, q: tf.Tensor, low: tf.Tensor, high: tf.Tensor, integer: bool = False, steps: int = BISECTION_STEPS
) -> tf.Tensor:
    """Invert a non-decreasing CDF element-wise by bisection inside a given bracket.

    Continuous case: returns x with `cdf(x) = q` to within the bracket's width / 2**steps, given
    `cdf(low) <= q <= cdf(high)`. Integer case: returns the smallest integer x in `(low, high]` with
    `cdf(x) >= q` (the quantile of a distribution on the integers), given integer `low` and `high`
    with `cdf(low) < q <= cdf(high)`; it is exact once `high - low <= 2**steps`.

    Args:
        cdf: the CDF, applied to a tensor of the shape of `q`, `low` and `high` broadcast together.
        q: probabilities.
        low: lower ends of the brackets.
        high: upper ends of the brackets.
        integer: whether the support is the integers.
        steps: number of halvings.

    Returns:
        The quantiles, with the broadcast shape of `q`, `low` and `high`.
    """
    shape = tf.broadcast_dynamic_shape(tf.shape(q), tf.broadcast_dynamic_shape(tf.shape(low), tf.shape(high)))
    low = tf.broadcast_to(low, shape)
    high = tf.broadcast_to(high, shape)

    def step(i: tf.Tensor, lo: tf.Tensor, hi: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        mid = (lo + hi) / 2
        if integer:
            mid = tf.math.floor(mid)
        below = cdf(mid) < q
        return i + 1, tf.where(below, mid, lo), tf.where(below, hi, mid)

    _, low, high = tf.while_loop(lambda i, lo, hi: i < steps, step, (tf.constant(0), low, high))
    return high if integer else (low + high) / 2


def integer_upper_bracket(cdf: Cdf, q: tf.Tensor, start: tf.Tensor, steps: int = BISECTION_STEPS) -> tf.Tensor:
    """An integer x >= `start` with `cdf(x) >= q`, by doubling `x + 1` where the CDF is still below `q`.

    Args:
        cdf: the CDF of a distribution on the non-negative integers.
        q: probabilities; values of 1 may never be reached, and stop after `steps` doublings.
        start: a first guess (for example the mean plus a few standard deviations), rounded up.
        steps: the largest number of doublings.

    Returns:
        The upper ends of integer brackets, with the broadcast shape of `q` and `start`.
    """
    high = tf.math.ceil(tf.maximum(start, 0) + tf.zeros_like(q))

    def grow(i: tf.Tensor, hi: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return i + 1, tf.where(cdf(hi) < q, 2 * hi + 1, hi)

    def short(i: tf.Tensor, hi: tf.Tensor) -> tf.Tensor:
        return tf.logical_and(i < steps, tf.reduce_any(cdf(hi) < q))

    _, high = tf.while_loop(short, grow, (tf.constant(0), high))
    return high
