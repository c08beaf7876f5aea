"""Losses of models whose output is the parameter tensor of a distribution head."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.distributions.head import DistributionHead, as_distribution_head
from tfp_arch.validation import non_negative_float

__all__ = ["NegativeLogLikelihood"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class NegativeLogLikelihood(keras.losses.Loss):
    """`-log p(y | params)` under a distribution head, for `compile(loss=...)`.

    The Keras 3 form of TFP's `loss=lambda y, rv_y: -rv_y.log_prob(y)`: the model outputs the head's
    parameter tensor, and the loss builds the distribution once per call with
    `distribution_layer.log_prob_and_distribution`, which reshapes each target to the head's event
    shape first. The loss saves with the model: its config holds the head's config (heads have no
    weights, so the copy made on loading is equivalent).

    With `variance_weighting=beta > 0` it is the beta-NLL of Seitzer et al. (2022, "On the Pitfalls
    of Heteroscedastic Uncertainty Estimation with Probabilistic Neural Networks"): each example's
    negative log-likelihood is multiplied by `stop_gradient(variance) ** beta`, the predicted
    variance of its target (the mean over the event's elements for a vector event). A learned
    variance divides the gradient of the mean by that variance, so examples the model finds noisy
    stop teaching the mean early and the fit stalls; the weight gives the mean's gradient the
    factor `variance ** (beta - 1)` instead (`beta = 1`: the squared error's gradient). The
    weights are divided by their mean over the batch, so the loss keeps the scale of the
    likelihood (its balance with a KL term) whatever the targets' units. The minimiser is no
    longer the likelihood's, so `beta = 0`, the default, is the plain negative log-likelihood.

    Args:
        distribution_layer: the model's output head (for example `IndependentNormal(1)`).
        reduction: Keras' reduction of the per-example losses.
        name: name of the loss.
        dtype: dtype of the computation; None for Keras' float type.
        variance_weighting: the exponent beta of the variance weight (0: no weighting).

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
        variance_weighting: float = 0.0,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.distribution_layer = as_distribution_head("distribution_layer", distribution_layer)
        self.variance_weighting = non_negative_float("variance_weighting", variance_weighting)

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        log_prob, distribution = self.distribution_layer.log_prob_and_distribution(y_pred, y_true)
        nll = -log_prob
        if not self.variance_weighting:
            return nll
        variance = tf.stop_gradient(distribution.variance())
        weight = variance**self.variance_weighting
        event_axes = list(range(nll.shape.rank, weight.shape.rank))
        if event_axes:
            weight = tf.reduce_mean(weight, axis=event_axes)
        return nll * weight / tf.reduce_mean(weight)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "distribution_layer": keras.saving.serialize_keras_object(self.distribution_layer),
            "variance_weighting": self.variance_weighting,
        }
