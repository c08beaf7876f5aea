"""The negative log-likelihood loss of models whose output is a distribution (or a head's parameters)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import _private_api
from tfp_arch.layers.distributions.head import DistributionHead, as_distribution_head
from tfp_arch.validation import non_negative_float

__all__ = ["NegativeLogLikelihood"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class NegativeLogLikelihood(keras.losses.Loss):
    """`-log p(y | x)` of a model whose output is a distribution, for `compile(loss=...)`.

    TFP's `loss=lambda y, rv_y: -rv_y.log_prob(y)` as a saved Keras loss. The model's output is
    either a distribution (the output of a distribution layer: `NegativeLogLikelihood()`), whose
    `log_prob` of the targets is taken with each target reshaped to the distribution's
    `batch_shape + event_shape` first, so `(batch,)` targets of a `(batch, 1)` output do not
    broadcast; or the parameter tensor of the head `distribution_layer` (the architectures of this
    package), turned into the distribution by `distribution_layer.log_prob_and_distribution`. The
    loss saves with the model: its config holds the head's config, if any (heads have no weights,
    so the copy made on loading is equivalent). A lambda loss also trains a distribution output
    in float32; in float64, or where a saved loss is wanted, this is the replacement.

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
        distribution_layer: None for a model whose output is a distribution; the head whose
            parameter tensor the model outputs otherwise (for example `IndependentNormal(1)`).
        reduction: Keras' reduction of the per-example losses.
        name: name of the loss.
        dtype: dtype of the computation; None for Keras' float type.
        variance_weighting: the exponent beta of the variance weight (0: no weighting).

    Example:
        >>> model = keras.Sequential([keras.layers.Dense(2), tfp_arch.layers.IndependentNormal(1)])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood())
    """

    def __init__(
        self,
        distribution_layer: DistributionHead | dict[str, Any] | None = None,
        reduction: str = "sum_over_batch_size",
        name: str = "negative_log_likelihood",
        dtype: Any = None,
        variance_weighting: float = 0.0,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.distribution_layer = (
            None if distribution_layer is None else as_distribution_head("distribution_layer", distribution_layer)
        )
        self.variance_weighting = non_negative_float("variance_weighting", variance_weighting)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tf.Tensor:
        if not isinstance(y_pred, tfp.distributions.Distribution):
            return super().__call__(y_true, y_pred, sample_weight)
        with tf.name_scope(self.name):
            losses = self.call(y_true, y_pred)
            return _private_api.reduce_weighted_values(
                losses, sample_weight=sample_weight, reduction=self.reduction, dtype=self.dtype
            )

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        if isinstance(y_pred, tfp.distributions.Distribution):
            distribution = y_pred
            shape = tf.concat([distribution.batch_shape_tensor(), distribution.event_shape_tensor()], axis=0)
            log_prob = distribution.log_prob(tf.reshape(tf.cast(y_true, distribution.dtype), shape))
        elif self.distribution_layer is None:
            raise ValueError(
                "`NegativeLogLikelihood()` needs a model whose output is a distribution (a distribution layer of "
                "tfp_arch.layers); for a parameter tensor give its head: NegativeLogLikelihood(head)."
            )
        else:
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
            "distribution_layer": None
            if self.distribution_layer is None
            else keras.saving.serialize_keras_object(self.distribution_layer),
            "variance_weighting": self.variance_weighting,
        }
