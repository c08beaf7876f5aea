"""Gradient estimators of a dense layer with a mean-field Gaussian posterior over its weights.

Each estimator draws the layer's output for a batch given the posterior locations and scales:

- `"reparameterization"`: one kernel and bias sample shared by the whole batch, `x @ W + b`.
- `"local_reparameterization"` (Kingma et al. 2015): the pre-activations are Gaussian given `x`, so
  they are sampled directly, independently per example; lower variance, no weight sample.
- `"flipout"` (Wen et al. 2018): one perturbation shared by the batch, decorrelated across examples by
  random signs, `x @ mu + ((x * s) @ dW) * r + b`.

All three give each example the same marginal output distribution, so gradients of a per-example
loss agree in expectation.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

__all__ = ["ESTIMATORS", "ESTIMATOR_FUNCTIONS", "flipout", "local_reparameterization", "reparameterization", "validate_estimator"]

ESTIMATORS = ("reparameterization", "local_reparameterization", "flipout")


def validate_estimator(estimator: str) -> str:
    """Check an estimator name.

    Args:
        estimator: one of `ESTIMATORS`.

    Returns:
        The name.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Invalid value for argument `estimator`: expected one of {ESTIMATORS}. Received: estimator={estimator!r}"
        )
    return estimator


def _normal(shape: Any, dtype: tf.DType, seed: keras.random.SeedGenerator) -> tf.Tensor:
    return keras.random.normal(shape, dtype=dtype, seed=seed)


def _signs(shape: Any, dtype: tf.DType, seed: keras.random.SeedGenerator) -> tf.Tensor:
    uniform = keras.random.uniform(shape, dtype=dtype, seed=seed)
    return tf.where(uniform < 0.5, -tf.ones_like(uniform), tf.ones_like(uniform))


def _sample_bias(loc: tf.Tensor | None, scale: tf.Tensor | None, seed: keras.random.SeedGenerator):
    if loc is None:
        return None
    return loc + scale * _normal(tf.shape(loc), loc.dtype, seed)


def reparameterization(
    x: tf.Tensor, kernel_loc: tf.Tensor, kernel_scale: tf.Tensor, bias_loc: tf.Tensor | None,
    bias_scale: tf.Tensor | None, seed: keras.random.SeedGenerator,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """Output with one weight sample shared by the batch.

    Args:
        x: inputs `(..., d_in)`.
        kernel_loc, kernel_scale: posterior of the kernel, `(d_in, d_out)`.
        bias_loc, bias_scale: posterior of the bias `(d_out,)`, or None without a bias.
        seed: the layer's seed generator.

    Returns:
        The pre-activation output, and the kernel and bias that were sampled.
    """
    kernel = kernel_loc + kernel_scale * _normal(tf.shape(kernel_loc), kernel_loc.dtype, seed)
    bias = _sample_bias(bias_loc, bias_scale, seed)
    outputs = keras.ops.matmul(x, kernel)
    return (outputs if bias is None else outputs + bias), kernel, bias


def local_reparameterization(
    x: tf.Tensor, kernel_loc: tf.Tensor, kernel_scale: tf.Tensor, bias_loc: tf.Tensor | None,
    bias_scale: tf.Tensor | None, seed: keras.random.SeedGenerator,
) -> tuple[tf.Tensor, None, None]:
    """Output sampled from its Gaussian distribution given `x`, independently per example.

    Args and Returns as `reparameterization`, except that no weights are sampled (None, None).
    """
    mean = keras.ops.matmul(x, kernel_loc)
    variance = keras.ops.matmul(tf.square(x), tf.square(kernel_scale))
    if bias_loc is not None:
        mean = mean + bias_loc
        variance = variance + tf.square(bias_scale)
    noise = _normal(tf.shape(mean), mean.dtype, seed)
    return mean + tf.sqrt(variance + 1e-30) * noise, None, None


def flipout(
    x: tf.Tensor, kernel_loc: tf.Tensor, kernel_scale: tf.Tensor, bias_loc: tf.Tensor | None,
    bias_scale: tf.Tensor | None, seed: keras.random.SeedGenerator,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """Output with a shared kernel perturbation decorrelated across examples by random signs.

    Args and Returns as `reparameterization`; the returned kernel is `loc + perturbation`, a draw
    from the posterior usable for a Monte Carlo KL estimate.
    """
    perturbation = kernel_scale * _normal(tf.shape(kernel_loc), kernel_loc.dtype, seed)
    sign_in = _signs(tf.shape(x), x.dtype, seed)
    outputs = keras.ops.matmul(x, kernel_loc)
    sign_out = _signs(tf.shape(outputs), outputs.dtype, seed)
    outputs = outputs + keras.ops.matmul(x * sign_in, perturbation) * sign_out
    bias = _sample_bias(bias_loc, bias_scale, seed)
    return (outputs if bias is None else outputs + bias), kernel_loc + perturbation, bias


ESTIMATOR_FUNCTIONS = {
    "reparameterization": reparameterization,
    "local_reparameterization": local_reparameterization,
    "flipout": flipout,
}
