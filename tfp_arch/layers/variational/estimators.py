"""Gradient estimators of a dense layer with a mean-field Gaussian posterior over its weights.

Each estimator draws the layer's output for a batch given the posterior locations and scales:

- `"reparameterization"`: one kernel and bias sample shared by the whole batch, `x @ W + b`.
- `"local_reparameterization"` (Kingma et al. 2015): the pre-activations are Gaussian given `x`, so
  they are sampled directly, independently per example; lower variance, no weight sample.
- `"flipout"` (Wen et al. 2018): one perturbation shared by the batch, decorrelated across examples by
  random signs, `x @ mu + ((x * s) @ dW) * r` (the bias is perturbed the same way).

All three give each example the same marginal output distribution, so gradients of a per-example
loss agree in expectation.

The layer calls the packed forms (`PACKED_ESTIMATORS`): kernel and bias in one `(d_in + 1, d_out)`
matrix, the bias in the last row, applied to the inputs with a column of ones appended. One matmul
then replaces a matmul and a bias addition, and no slicing of the posterior is needed, which keeps
the training step short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.noise import random_signs, standard_normal
from tfp_arch.validation import one_of

__all__ = [
    "ESTIMATORS",
    "PACKED_ESTIMATORS",
    "append_ones",
    "flipout",
    "local_reparameterization_moments",
    "packed_flipout",
    "packed_local_reparameterization",
    "packed_reparameterization",
    "validate_estimator",
]

ESTIMATORS = ("reparameterization", "local_reparameterization", "flipout")


def validate_estimator(estimator: str) -> str:
    """Check an estimator name.

    Args:
        estimator: one of `ESTIMATORS`.

    Returns:
        The name.
    """
    return one_of("estimator", estimator, ESTIMATORS)


def append_ones(x: tf.Tensor) -> tf.Tensor:
    """`x` with a column of ones appended on the last axis (one `Pad` op)."""
    rank = x.shape.rank
    return tf.pad(x, [[0, 0]] * (rank - 1) + [[0, 1]], constant_values=1.0)


def flipout(
    apply: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    x: tf.Tensor,
    loc: Any,
    perturbation: Any,
    sign_in: tf.Tensor,
    sign_out: tf.Tensor,
) -> tf.Tensor:
    """Flipout's output `apply(x, loc) + apply(x * sign_in, perturbation) * sign_out` (Wen et al. 2018).

    Args:
        apply: the linear map of the layer, `apply(inputs, weights)` (a matmul, a convolution).
        x: the inputs.
        loc: the posterior means of the weights.
        perturbation: one draw of `weights - loc`, shared by the batch (symmetric about 0).
        sign_in, sign_out: random signs, per example, broadcast against the inputs and the outputs.

    Returns:
        The pre-activation output: each example sees its own pseudo-independent weight draw.
    """
    return apply(x, loc) + apply(x * sign_in, perturbation) * sign_out


def local_reparameterization_moments(
    apply: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], x: tf.Tensor, loc: Any, scale: Any
) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean `apply(x, loc)` and variance `apply(x^2, scale^2)` of a linear map's output under
    independent normal weights (Kingma et al. 2015), for `apply` as in `flipout`."""
    return apply(x, loc), apply(tf.square(x), tf.square(scale))


def _inputs(x: tf.Tensor, loc: tf.Tensor, use_bias: bool) -> tf.Tensor:
    x = tf.convert_to_tensor(x, loc.dtype)
    return append_ones(x) if use_bias else x


def packed_reparameterization(
    x: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor, use_bias: bool, seed: keras.random.SeedGenerator
) -> tuple[tf.Tensor, tf.Tensor]:
    """Output with one weight sample shared by the batch.

    Args:
        x: inputs `(..., d_in)`.
        loc, scale: posterior of the packed weights, `(d_in [+ 1], d_out)`, bias in the last row.
        use_bias: whether the last row of `loc` and `scale` is a bias.
        seed: the layer's seed generator.

    Returns:
        The pre-activation output and the packed weights that were sampled.
    """
    weights = loc + scale * standard_normal(tf.shape(loc), loc.dtype, seed)
    return tf.matmul(_inputs(x, loc, use_bias), weights), weights


def packed_local_reparameterization(
    x: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor, use_bias: bool, seed: keras.random.SeedGenerator
) -> tuple[tf.Tensor, None]:
    """Output sampled from its Gaussian distribution given `x`, independently per example.

    Args and Returns as `packed_reparameterization`, except that no weights are sampled (None).
    """
    mean, variance = local_reparameterization_moments(tf.matmul, _inputs(x, loc, use_bias), loc, scale)
    if not use_bias:
        variance = variance + 1e-30
    return mean + tf.sqrt(variance) * standard_normal(tf.shape(mean), mean.dtype, seed), None


def packed_flipout(
    x: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor, use_bias: bool, seed: keras.random.SeedGenerator
) -> tuple[tf.Tensor, tf.Tensor]:
    """Output with a shared weight perturbation decorrelated across examples by random signs.

    Args and Returns as `packed_reparameterization`; the returned weights are `loc + perturbation`,
    a draw from the posterior usable for a Monte Carlo KL estimate.
    """
    x = _inputs(x, loc, use_bias)
    perturbation = scale * standard_normal(tf.shape(loc), loc.dtype, seed)
    sign_in = random_signs(tf.shape(x), x.dtype, seed)
    sign_out = random_signs(tf.concat([tf.shape(x)[:-1], tf.shape(loc)[-1:]], 0), x.dtype, seed)
    return flipout(tf.matmul, x, loc, perturbation, sign_in, sign_out), loc + perturbation


PACKED_ESTIMATORS: dict[str, Callable[..., tuple[tf.Tensor, tf.Tensor | None]]] = {
    "reparameterization": packed_reparameterization,
    "local_reparameterization": packed_local_reparameterization,
    "flipout": packed_flipout,
}
