"""Decoder likelihoods p(x | z): Bernoulli and Gaussian (learned or fixed scale)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.validation import one_of, positive_float

__all__ = ["LIKELIHOODS", "DecoderLikelihood"]

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")


class DecoderLikelihood:
    """The distribution of the data given the decoder's output, summed over every data value.

    Args:
        likelihood: `"bernoulli"` (logits; binary data or probabilities in [0, 1]) or `"gaussian"`.
        decoder_scale: for `"gaussian"`, a fixed positive standard deviation, or None to learn one
            per value (the decoder then outputs locations followed by raw scales on the last axis).
        min_scale: floor of a learned scale.
    """

    def __init__(self, likelihood: str = "bernoulli", decoder_scale: float | None = None,
                 min_scale: float = 1e-3) -> None:
        one_of("likelihood", likelihood, LIKELIHOODS)
        positive_float("decoder_scale", decoder_scale, allow_none=True)
        self.likelihood = likelihood
        self.decoder_scale = decoder_scale
        self.min_scale = min_scale

    @property
    def params_per_value(self) -> int:
        """Decoder outputs per data value: 2 for a Gaussian with a learned scale, else 1."""
        return 2 if self.likelihood == "gaussian" and self.decoder_scale is None else 1

    def _split(self, params: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
        params = tf.convert_to_tensor(params)
        if self.params_per_value == 1:
            scale = None if self.likelihood == "bernoulli" else tf.constant(self.decoder_scale, params.dtype)
            return params, scale
        loc, raw = tf.split(params, 2, axis=-1)
        return loc, tf.nn.softplus(raw) + self.min_scale

    def distribution(self, params: Any) -> tfd.Distribution:
        """The TFP distribution of one example per row, event shape the data's shape."""
        first, scale = self._split(params)
        ndims = len(first.shape) - 1
        if self.likelihood == "bernoulli":
            base = tfd.Bernoulli(logits=first, dtype=first.dtype)
        else:
            base = tfd.Normal(first, scale * tf.ones_like(first))
        return tfd.Independent(base, reinterpreted_batch_ndims=ndims)

    def log_prob(self, x: Any, params: Any) -> tf.Tensor:
        """log p(x | z) per example, summed over all values; Bernoulli accepts x in [0, 1]."""
        first, scale = self._split(params)
        x = tf.cast(x, first.dtype)
        if self.likelihood == "bernoulli":
            values = -tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=first)
        else:
            values = tfd.Normal(first, scale).log_prob(x)
        return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=-1)

    def mean(self, params: Any) -> tf.Tensor:
        """E[x | z]: probabilities for Bernoulli, locations for Gaussian."""
        first, _ = self._split(params)
        return tf.sigmoid(first) if self.likelihood == "bernoulli" else first

    def sample(self, params: Any, seed: Any) -> tf.Tensor:
        """One draw of x per row, with a stateless `[2]` integer seed."""
        first, scale = self._split(params)
        if self.likelihood == "bernoulli":
            u = tf.random.stateless_uniform(tf.shape(first), seed=seed, dtype=first.dtype)
            return tf.cast(u < tf.sigmoid(first), first.dtype)
        return first + scale * tf.random.stateless_normal(tf.shape(first), seed=seed, dtype=first.dtype)
