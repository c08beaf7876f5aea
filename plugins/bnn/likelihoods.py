"""Likelihoods of the Bayesian MLP: output heads and training losses."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfp_arch.validation import int_at_least, one_of

__all__ = ["LIKELIHOODS", "gaussian_nll", "output_units", "validate_likelihood"]

LIKELIHOODS = ("gaussian", "heteroscedastic", "categorical")
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def validate_likelihood(likelihood: str, num_classes: int | None) -> None:
    """Check the likelihood name and, for `"categorical"`, the number of classes."""
    one_of("likelihood", likelihood, LIKELIHOODS)
    if likelihood == "categorical":
        int_at_least("num_classes", num_classes, 2, "an integer >= 2 with likelihood='categorical'")


def output_units(likelihood: str, num_classes: int | None) -> int:
    """Width of the last layer: a mean, a mean and a scale, or the class logits."""
    return {"gaussian": 1, "heteroscedastic": 2}.get(likelihood, num_classes or 0)


@keras.saving.register_keras_serializable(package="tfp_arch")
def gaussian_nll(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Per-example negative log-likelihood of `y_true` under `N(y_pred[..., 0], y_pred[..., 1]^2)`.

    Args:
        y_true: targets, shape `(N,)` or `(N, 1)`.
        y_pred: `(N, 2)`: predictive mean and standard deviation, in the targets' units.

    Returns:
        `(N,)` negative log-likelihoods in nats.
    """
    y_true = tf.reshape(tf.cast(y_true, y_pred.dtype), [-1])
    loc, scale = y_pred[..., 0], y_pred[..., 1]
    z = (y_true - loc) / scale
    return 0.5 * tf.square(z) + tf.math.log(scale) + _HALF_LOG_TWO_PI

