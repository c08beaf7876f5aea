"""Batch normalisation as an invertible flow transform."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tfp_arch.validation import float_in_range, positive_float

__all__ = ["FlowBatchNormalization"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class FlowBatchNormalization(keras.layers.Layer):
    """Batch normalisation as an invertible transform of a flow (Dinh et al., 2017; MAF paper).

    In the data-to-latent direction `z = (x - m) / sqrt(v + eps) * exp(log_gamma) + beta`, where
    `(m, v)` are the batch mean and variance when training (the running averages are then updated)
    and the running averages otherwise. The running statistics are non-trainable weights, so they
    are saved with the model and mirrored under `tf.distribute` (the replicas' updates are
    averaged, so every copy stays equal). TFP's `tfb.BatchNormalization` wraps a `tf_keras` layer
    and cannot live in a Keras 3 model, hence this layer.

    Args:
        momentum: weight of the old running average in each update.
        epsilon: added to the variance.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> norm = FlowBatchNormalization()
        >>> norm.build((None, 3))
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> z, log_det = norm.inverse_and_log_det(x, training=True)
        >>> tuple(z.shape), tuple(log_det.shape)
        ((64, 3), (64,))
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        float_in_range("momentum", momentum, 0.0, 1.0, "[)")
        positive_float("epsilon", epsilon)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple[Any, ...]) -> None:
        size = (int(input_shape[-1]),)
        self.log_gamma = self.add_weight(shape=size, initializer="zeros", name="log_gamma")
        self.beta = self.add_weight(shape=size, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=size, initializer="zeros", trainable=False, aggregation="mean", name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=size, initializer="ones", trainable=False, aggregation="mean", name="moving_variance"
        )

    def _log_scale(self, variance: Any) -> Any:
        return self.log_gamma - 0.5 * ops.log(variance + self.epsilon)

    def inverse_and_log_det(self, x: Any, training: bool | None = None) -> tuple[Any, Any]:
        """Normalise `x` (shape `(batch, D)`) and return the log-determinant per example.

        Args:
            x: data-side values.
            training: use and update batch statistics when True.

        Returns:
            `(z, inverse_log_det)`; `inverse_log_det` has shape `(batch,)`.
        """
        if training:
            mean = ops.mean(x, axis=0)
            variance = ops.mean(ops.square(x - mean), axis=0)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1.0 - self.momentum) * mean)
            self.moving_variance.assign(self.momentum * self.moving_variance + (1.0 - self.momentum) * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        log_scale = self._log_scale(variance)
        z = (x - mean) * ops.exp(log_scale) + self.beta
        log_det = ops.sum(log_scale) * ops.ones_like(x[..., 0])
        return z, log_det

    def forward(self, z: Any) -> Any:
        """Latent to data with the running statistics: the inverse of `inverse_and_log_det`."""
        return (z - self.beta) * ops.exp(-self._log_scale(self.moving_variance)) + self.moving_mean

    def call(self, x: Any, training: bool | None = None) -> Any:
        """The normalised values (data-to-latent direction)."""
        return self.inverse_and_log_det(x, training=training)[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
