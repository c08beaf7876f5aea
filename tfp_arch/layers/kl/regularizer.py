"""`KLDivergenceRegularizer`: TFP's activity regulariser of a distribution output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.kl.divergence import make_kl_divergence_fn
from tfp_arch.layers.kl.tfp_arguments import KLArguments

__all__ = ["KLDivergenceRegularizer"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class KLDivergenceRegularizer(KLArguments, keras.regularizers.Regularizer):
    """`weight * KL(output || distribution_b)` as an activity regulariser: `tfp.layers.KLDivergenceRegularizer`.

    Give it as `activity_regularizer=` of a distribution layer (TFP's VAE encoder:
    `MultivariateNormalTriL(n, activity_regularizer=KLDivergenceRegularizer(prior, weight=1.0))`).
    The value is the KL summed over the batch, exact or a Monte Carlo estimate at the test points
    (see `tfp_arch.layers.kl.divergence`); Keras divides it by the batch size, as tf_keras did.

    Args:
        distribution_b: the prior: a distribution (saved with its constant parameters) or a
            callable of no arguments that returns one (saved when registered with Keras).
        use_exact_kl: whether to use the closed-form KL registered with TFP.
        test_points_reduce_axis: axes the Monte Carlo estimate averages over (`()`: none).
        test_points_fn: the test points of the output distribution (default: its sample).
        weight: multiplier of the KL (None: 1).
    """

    def __init__(
        self,
        distribution_b: Any,
        use_exact_kl: bool = False,
        test_points_reduce_axis: Any = (),
        test_points_fn: Callable[[Any], Any] = tf.convert_to_tensor,
        weight: float | None = None,
    ) -> None:
        self._set_kl_arguments(distribution_b, use_exact_kl, test_points_reduce_axis, test_points_fn, weight)
        self._penalty = make_kl_divergence_fn(
            self.distribution_b, self.use_exact_kl, self.test_points_reduce_axis, self.test_points_fn, self.weight
        )

    def __call__(self, distribution_a: Any) -> tf.Tensor:
        return self._penalty(distribution_a)

    def get_config(self) -> dict[str, Any]:
        return self._kl_config(self)
