"""The KL divergence of TFP's KL layers: exact, or a Monte Carlo estimate at test points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["kl_divergence_fn", "make_kl_divergence_fn"]

tfd = tfp.distributions


def kl_divergence_fn(
    use_exact_kl: bool = False,
    test_points_reduce_axis: Any = (),
    test_points_fn: Callable[[Any], Any] = tf.convert_to_tensor,
) -> Callable[[Any, Any], tf.Tensor]:
    """`KL(a || b)` as TFP's layers compute it: `tfd.kl_divergence`, or `mean(log a(z) - log b(z))`.

    Args:
        use_exact_kl: whether to use the closed form registered with TFP.
        test_points_reduce_axis: axes of the Monte Carlo estimate averaged over (`()`: none;
            None: all).
        test_points_fn: the test points `z` of a distribution `a`; by default `tf.convert_to_tensor(a)`,
            the sample a distribution layer's output stands for (so the KL uses the same draw as the
            rest of the model).
    """
    if use_exact_kl:
        return tfd.kl_divergence

    def monte_carlo(distribution_a: Any, distribution_b: Any) -> tf.Tensor:
        z = test_points_fn(distribution_a)
        return tf.reduce_mean(distribution_a.log_prob(z) - distribution_b.log_prob(z), axis=test_points_reduce_axis)

    return monte_carlo


def make_kl_divergence_fn(
    distribution_b: Any,
    use_exact_kl: bool = False,
    test_points_reduce_axis: Any = (),
    test_points_fn: Callable[[Any], Any] = tf.convert_to_tensor,
    weight: Any = None,
) -> Callable[[Any], tf.Tensor]:
    """The scalar loss of TFP's `KLDivergenceRegularizer` and `KLDivergenceAddLoss` for an output `a`.

    `sum(weight * KL(a || distribution_b))` over all its axes (TFP's sum over the batch; Keras then
    divides an activity regulariser's value by the batch size, as tf_keras did).

    Args:
        distribution_b: the prior, a distribution or a callable of no arguments that returns one.
        use_exact_kl: see `kl_divergence_fn`.
        test_points_reduce_axis: see `kl_divergence_fn`.
        test_points_fn: see `kl_divergence_fn`.
        weight: a multiplier of the KL, or None for 1.
    """
    divergence = kl_divergence_fn(use_exact_kl, test_points_reduce_axis, test_points_fn)

    def penalty(distribution_a: Any) -> tf.Tensor:
        with tf.name_scope("kldivergence_loss"):
            prior = distribution_b() if callable(distribution_b) and not isinstance(distribution_b, tfd.Distribution) else distribution_b
            kl = divergence(distribution_a, prior)
            if weight is not None:
                kl = tf.cast(weight, kl.dtype) * kl
            return tf.reduce_sum(kl, name="batch_total_kl_divergence")

    return penalty
