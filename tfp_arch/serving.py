"""Serving functions: what an architecture's exported SavedModel answers, and the pieces they share.

An architecture lists its serving signatures in `Architecture.serving_functions()` as
`ServingFunction`s; `tfp_arch.export` writes them into a SavedModel. The functions are traced
without autograph and must use TensorFlow ops only (no Python on tensor values), so that the
SavedModel answers where neither tfp_arch nor TensorFlow Probability is installed.

Sampling is stateless: a signature that draws takes a scalar `seed` (int64) and, where the number
of Monte Carlo draws is the caller's, a scalar `num_samples` (int32). The seed becomes the
stateless pair `[seed, 0]`, as `tfp_arch.seeding.seed_pair(seed)` makes it in Python, so a
signature and the Python method it mirrors give the same draws for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

__all__ = [
    "ServingFunction",
    "categorical_summary",
    "num_samples_spec",
    "seed_spec",
    "seed_to_pair",
    "tensor_spec",
]


@dataclass(frozen=True)
class ServingFunction:
    """One serving signature.

    Attributes:
        fn: a function of tensors returning a dict of named tensors (the signature's outputs).
        input_signature: one `tf.TensorSpec` per argument of `fn`, named as the signature's inputs.
        doc: one line saying what the signature answers (recorded in the run folder's `exports.json`).
    """

    fn: Callable[..., dict[str, Any]]
    input_signature: tuple[tf.TensorSpec, ...]
    doc: str = ""


def tensor_spec(name: str, shape: tuple[int | None, ...], dtype: Any = tf.float32) -> tf.TensorSpec:
    """A named `tf.TensorSpec`: the input `name` of a signature."""
    return tf.TensorSpec(shape=shape, dtype=dtype, name=name)


def num_samples_spec() -> tf.TensorSpec:
    """The scalar int32 input `num_samples`: the number of Monte Carlo draws."""
    return tensor_spec("num_samples", (), tf.int32)


def seed_spec() -> tf.TensorSpec:
    """The scalar int64 input `seed` of the stateless draws."""
    return tensor_spec("seed", (), tf.int64)


def seed_to_pair(seed: tf.Tensor, dtype: Any = tf.int64) -> tf.Tensor:
    """The stateless seed `[seed, 0]` of a scalar seed input, as `tfp_arch.seeding.seed_pair` makes it."""
    seed = tf.cast(seed, dtype)
    return tf.stack([seed, tf.zeros_like(seed)])


def categorical_summary(logits: tf.Tensor) -> dict[str, tf.Tensor]:
    """The predictive summary of S sampled logits `(S, N, K)`.

    Returns:
        `probabilities` `(N, K)`, the mean over samples of the softmax; `entropy` `(N,)`, the
        entropy of those probabilities (nats); `mutual_information` `(N,)`, the entropy minus the
        mean entropy of each sample's probabilities (the epistemic part, the BALD score).
    """
    log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    samples = tf.cast(tf.shape(log_p)[0], tf.float32)
    log_mean = tf.reduce_logsumexp(log_p, axis=0) - tf.math.log(samples)
    probabilities = tf.exp(log_mean)
    entropy = -tf.reduce_sum(probabilities * log_mean, axis=-1)
    expected = -tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1), axis=0)
    return {
        "probabilities": probabilities,
        "entropy": entropy,
        "mutual_information": tf.maximum(entropy - expected, 0.0),
    }
