"""Losses of models whose output is the parameter tensor of a distribution head."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.distribution_head import DistributionHead, as_distribution_head

__all__ = ["NegativeLogLikelihood"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class NegativeLogLikelihood(keras.losses.Loss):
    """`-log p(y | params)` under a distribution head, for `compile(loss=...)`.

    The Keras 3 form of TFP's `loss=lambda y, rv_y: -rv_y.log_prob(y)`: the model outputs the head's
    parameter tensor, and the loss builds the distribution with `distribution_layer.log_prob`, which
    reshapes each target to the head's event shape first. The loss saves with the model: its config
    holds the head's config (heads have no weights, so the copy made on loading is equivalent).

    Args:
        distribution_layer: the model's output head (for example `IndependentNormal(1)`).
        reduction: Keras' reduction of the per-example losses.
        name: name of the loss.
        dtype: dtype of the computation; None for Keras' float type.

    Example:
        >>> head = tfp_arch.layers.IndependentNormal(1)
        >>> model = keras.Sequential([keras.layers.Dense(2), head])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
    """

    def __init__(
        self,
        distribution_layer: DistributionHead | dict[str, Any],
        reduction: str = "sum_over_batch_size",
        name: str = "negative_log_likelihood",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.distribution_layer = as_distribution_head("distribution_layer", distribution_layer)

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        return -self.distribution_layer.log_prob(y_pred, y_true)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "distribution_layer": keras.saving.serialize_keras_object(self.distribution_layer),
        }
