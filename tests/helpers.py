"""Helpers shared by the tests: strict JSON and folder snapshots (CLI tests), Monte Carlo gradient checks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["max_gradient_z_score", "snapshot", "strict_json"]


def _reject_constant(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def strict_json(text: str) -> Any:
    """`json.loads` that rejects NaN, Infinity and -Infinity, as strict JSON parsers do."""
    return json.loads(text, parse_constant=_reject_constant)


def snapshot(root: Path) -> set[str]:
    """Every path under `root` (files and folders, hidden ones included), relative to it."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def max_gradient_z_score(layer: Any, x: Any, variables: list, analytic: Any, count: int) -> float:
    """The largest z-score of Monte Carlo gradients against their expectation `analytic`.

    Draws `count` gradients of `sum(layer(x) ** 2)` with respect to `variables` (flattened and
    concatenated) in one compiled loop, and returns `max |mean - analytic| / standard error` over
    the coordinates: an unbiased estimator stays below about 4.5 for a few hundred coordinates.
    """
    import numpy as np
    import tensorflow as tf

    @tf.function
    def draws(n: tf.Tensor) -> tf.Tensor:
        array = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(tf.square(layer(x)))
            array = array.write(i, tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(value, variables)], 0))
        return array.stack()

    samples = draws(tf.constant(count)).numpy().astype(np.float64)
    standard_error = samples.std(axis=0) / math.sqrt(len(samples)) + 1e-12
    return float(np.max(np.abs(samples.mean(axis=0) - np.ravel(analytic)) / standard_error))


def layer_draws(layer: Any, x: Any, count: int) -> Any:
    """`count` stochastic outputs of `layer` for the first example of `x`, stacked, as float64."""
    import numpy as np
    import tensorflow as tf

    @tf.function
    def draw() -> Any:
        array = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            array = array.write(i, layer(x)[0])
        return array.stack()

    return draw().numpy().astype(np.float64)
