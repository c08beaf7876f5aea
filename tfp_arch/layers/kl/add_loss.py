"""`KLDivergenceAddLoss`: pass a distribution through and add its KL from a prior to the losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.kl.divergence import make_kl_divergence_fn
from tfp_arch.layers.kl.tfp_arguments import KLArguments

__all__ = ["KLDivergenceAddLoss"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class KLDivergenceAddLoss(KLArguments, keras.layers.Layer):
    """Adds `weight * KL(input || distribution_b)` to the losses: `tfp.layers.KLDivergenceAddLoss`.

    Its input is the output of a distribution layer; it returns that distribution unchanged. The
    loss is the KL summed over all axes, exact (`use_exact_kl=True`) or estimated at the test
    points `test_points_fn(input)` (by default the tensor the input stands for, its sample) and
    averaged over `test_points_reduce_axis` (None, the default: over all axes), as in TFP.

    Args:
        distribution_b: the prior: a distribution (saved with its constant parameters) or a
            callable of no arguments that returns one (saved when registered with Keras).
        use_exact_kl: whether to use the closed-form KL registered with TFP.
        test_points_reduce_axis: axes the Monte Carlo estimate averages over (None: all).
        test_points_fn: the test points of the input distribution.
        weight: multiplier of the KL (None: 1), for example `1 / num_train_examples`.
        **kwargs: `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        distribution_b: Any,
        use_exact_kl: bool = False,
        test_points_reduce_axis: Any = None,
        test_points_fn: Callable[[Any], Any] = tf.convert_to_tensor,
        weight: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_kl_arguments(distribution_b, use_exact_kl, test_points_reduce_axis, test_points_fn, weight)
        self._penalty = make_kl_divergence_fn(
            self.distribution_b, self.use_exact_kl, self.test_points_reduce_axis, self.test_points_fn, self.weight
        )

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, distribution_a: Any) -> Any:
        self.add_loss(self._penalty(distribution_a))
        return distribution_a

    def compute_output_spec(self, distribution_a: Any) -> Any:
        return keras.KerasTensor(distribution_a.shape, distribution_a.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._kl_config(self)}
