"""Decoder likelihoods p(x | z): Bernoulli and Gaussian (learned or fixed scale), as distribution heads."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfp_arch.layers.distributions.head import DistributionHead
from tfp_arch.layers.distributions.independent import IndependentBernoulli, IndependentNormal
from tfp_arch.validation import one_of, positive_float

__all__ = ["LIKELIHOODS", "MIN_SCALE", "decoder_head", "head_params", "params_per_value"]

LIKELIHOODS = ("bernoulli", "gaussian")
MIN_SCALE = 1e-3


def params_per_value(likelihood: str, decoder_scale: float | None) -> int:
    """Decoder outputs per data value: 2 for a Gaussian with a learned scale, else 1."""
    return 2 if likelihood == "gaussian" and decoder_scale is None else 1


def decoder_head(likelihood: str, data_shape: Sequence[int], decoder_scale: float | None = None) -> DistributionHead:
    """The head of p(x | z) over one example of shape `data_shape`.

    Args:
        likelihood: `"bernoulli"` (logits; binary data or probabilities in [0, 1]) or `"gaussian"`.
        data_shape: shape of one example, the head's event shape.
        decoder_scale: for `"gaussian"`, a fixed positive standard deviation, or None to learn one
            per value (`softplus(raw) + MIN_SCALE`).

    Returns:
        `IndependentBernoulli(data_shape)` or `IndependentNormal(data_shape, ...)`; its parameters are
        `head_params` of the decoder's output.
    """
    one_of("likelihood", likelihood, LIKELIHOODS)
    positive_float("decoder_scale", decoder_scale, allow_none=True)
    if likelihood == "bernoulli":
        return IndependentBernoulli(data_shape, name="decoder_head")
    if decoder_scale is None:
        return IndependentNormal(data_shape, min_scale=MIN_SCALE, name="decoder_head")
    return IndependentNormal(data_shape, scale_transform="identity", name="decoder_head")


def head_params(outputs: tf.Tensor, likelihood: str, decoder_scale: float | None = None) -> tf.Tensor:
    """The decoder's output `(N, *data_shape[:-1], channels * k)` as the head's parameters `(N, size)`.

    The decoder puts the `k` parameters of a value in blocks on the last axis (locations, then raw
    scales); the head takes all locations, then all raw scales, each flattened in the data's order.
    A fixed Gaussian scale is appended as the head's (identity) scales.
    """
    outputs = tf.convert_to_tensor(outputs)
    batch = tf.shape(outputs)[:1]
    blocks = tf.split(outputs, params_per_value(likelihood, decoder_scale), axis=-1)
    flat = [tf.reshape(block, tf.concat([batch, [-1]], axis=0)) for block in blocks]
    if likelihood == "gaussian" and decoder_scale is not None:
        flat.append(tf.fill(tf.shape(flat[0]), tf.constant(decoder_scale, outputs.dtype)))
    return flat[0] if len(flat) == 1 else tf.concat(flat, axis=-1)
