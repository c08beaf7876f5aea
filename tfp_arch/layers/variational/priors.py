"""Weight priors of variational layers, chosen by plain config values: each described once, as a TFP distribution."""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.validation import float_in_range, invalid_argument, one_of, positive_float

__all__ = ["PRIORS", "build_prior", "validate_prior"]

PRIORS = ("standard_normal", "normal", "scale_mixture", "empirical_bayes", "trainable_normal")
DEFAULT_MIXTURE_SCALES = (1.0, math.exp(-6.0))


def validate_prior(
    prior: str, prior_scale: float, mixture_scales: Sequence[float] | None, mixture_weight: float
) -> tuple[float, float]:
    """Check the prior arguments and return the two mixture scales.

    Args:
        prior: one of `PRIORS`.
        prior_scale: standard deviation of the `"normal"` prior, initial one of `"empirical_bayes"`
            and `"trainable_normal"`.
        mixture_scales: the two standard deviations of `"scale_mixture"` (None: `(1, e^-6)`).
        mixture_weight: weight of the first (wide) component of `"scale_mixture"`.

    Returns:
        The two mixture scales as floats.
    """
    one_of("prior", prior, PRIORS)
    positive_float("prior_scale", prior_scale)
    scales = tuple(DEFAULT_MIXTURE_SCALES if mixture_scales is None else mixture_scales)
    if len(scales) != 2:
        raise invalid_argument("prior_mixture_scales", "expected two positive floats", mixture_scales)
    first, second = (positive_float("prior_mixture_scales", s) for s in scales)
    float_in_range("prior_mixture_weight", mixture_weight, 0.0, 1.0, "()")
    return first, second


def build_prior(
    prior: str,
    dtype: tf.DType,
    prior_scale: float = 1.0,
    mixture_scales: Sequence[float] = DEFAULT_MIXTURE_SCALES,
    mixture_weight: float = 0.5,
    trainable_scale: tf.Tensor | None = None,
    trainable_loc: tf.Tensor | None = None,
) -> tfd.Distribution:
    """The prior of one weight (scalar batch shape), or of each weight for the trainable priors.

    Args:
        prior: one of `PRIORS`.
        dtype: dtype of the weights.
        prior_scale: standard deviation for `"normal"`.
        mixture_scales: the two standard deviations for `"scale_mixture"`.
        mixture_weight: weight of the first component for `"scale_mixture"`.
        trainable_scale: the (positive) learned standard deviation for `"empirical_bayes"` and
            `"trainable_normal"` (one per weight for the latter).
        trainable_loc: the learned means of `"trainable_normal"`, one per weight.

    Returns:
        A `tfd.Distribution` with scalar event shape, broadcast over a weight tensor by `log_prob`.

    Example:
        >>> float(build_prior("normal", tf.float32, prior_scale=0.5).stddev())
        0.5
    """
    zero = tf.zeros((), dtype)
    if prior == "standard_normal":
        return tfd.Normal(zero, tf.ones((), dtype))
    if prior == "normal":
        return tfd.Normal(zero, tf.constant(prior_scale, dtype))
    if prior == "empirical_bayes":
        return tfd.Normal(zero, tf.cast(trainable_scale, dtype))
    if prior == "trainable_normal":
        return tfd.Normal(tf.cast(trainable_loc, dtype), tf.cast(trainable_scale, dtype))
    if prior == "scale_mixture":
        weights = tf.constant([mixture_weight, 1.0 - mixture_weight], dtype)
        return tfd.MixtureSameFamily(
            tfd.Categorical(probs=weights),
            tfd.Normal(tf.zeros((2,), dtype), tf.constant(list(mixture_scales), dtype)),
        )
    one_of("prior", prior, PRIORS)
    raise AssertionError(f"prior {prior!r} is in PRIORS but has no distribution")
