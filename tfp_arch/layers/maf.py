"""The transforms a masked autoregressive flow stacks: the MADE bijector and batch normalisation."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from tfp_arch.layers.made import MADE

__all__ = ["FlowBatchNormalization", "autoregressive_inverse", "maf_bijector"]

tfb = tfp.bijectors


def maf_bijector(made: MADE, context: Any = None, name: str | None = None) -> tfb.MaskedAutoregressiveFlow:
    """A `tfp.bijectors.MaskedAutoregressiveFlow` whose shift and log-scale come from `made`.

    The forward direction (latent to data) is the slow one: `D` sequential passes of the MADE,
    run by TFP in a `tf.while_loop`. The inverse (data to latent) is one pass.

    Args:
        made: a built `MADE` layer.
        context: the conditioning input bound into the bijector, or None.
        name: the bijector's name.

    Returns:
        The bijector, with `forward(z) = shift(x) + exp(log_scale(x)) * z` solved autoregressively.

    Example:
        >>> made = MADE(hidden_units=[16]); made.build((None, 2))
        >>> bijector = maf_bijector(made)
        >>> z = bijector.inverse(np.ones((3, 2), "float32"))
    """
    def shift_and_log_scale_fn(y: Any) -> tuple[Any, Any]:
        return made.shift_and_log_scale(y, context)

    return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale_fn, name=name or made.name)


def autoregressive_inverse(made: MADE, x: Any, context: Any = None) -> tuple[Any, Any]:
    """The inverse of `maf_bijector(made, context)` and its log-determinant in one MADE pass.

    Args:
        made: a built `MADE` layer.
        x: data-side values, shape `(..., D)`.
        context: the conditioning input, or None.

    Returns:
        `(z, inverse_log_det)` with `z = (x - shift(x)) * exp(-log_scale(x))` of shape `(..., D)`
        and `inverse_log_det = -sum(log_scale(x))` of shape `(...)`.
    """
    shift, log_scale = made.shift_and_log_scale(x, context)
    return (x - shift) * ops.exp(-log_scale), -ops.sum(log_scale, axis=-1)


@keras.saving.register_keras_serializable(package="tfp_arch")
class FlowBatchNormalization(keras.layers.Layer):
    """Batch normalisation as an invertible transform of a flow (Dinh et al., 2017; MAF paper).

    In the data-to-latent direction `z = (x - m) / sqrt(v + eps) * exp(log_gamma) + beta`, where
    `(m, v)` are the batch mean and variance when training (the running averages are then updated)
    and the running averages otherwise. The running statistics are non-trainable weights, so they
    are saved with the model and mirrored under `tf.distribute`. TFP's `tfb.BatchNormalization`
    wraps a `tf_keras` layer and cannot live in a Keras 3 model, hence this layer.

    Args:
        momentum: weight of the old running average in each update.
        epsilon: added to the variance.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> norm = FlowBatchNormalization()
        >>> z, log_det = norm.inverse_and_log_det(np.random.randn(64, 3).astype("float32"), training=True)
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(
                f"Invalid value for argument `momentum`: expected a float in [0, 1). Received: momentum={momentum}"
            )
        if not float(epsilon) > 0.0:
            raise ValueError(
                f"Invalid value for argument `epsilon`: expected a positive float. Received: epsilon={epsilon}"
            )
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        size = (int(input_shape[-1]),)
        self.log_gamma = self.add_weight(shape=size, initializer="zeros", name="log_gamma")
        self.beta = self.add_weight(shape=size, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=size, initializer="zeros", trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(
            shape=size, initializer="ones", trainable=False, name="moving_variance"
        )

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
            self.moving_variance.assign(
                self.momentum * self.moving_variance + (1.0 - self.momentum) * variance
            )
        else:
            mean, variance = self.moving_mean, self.moving_variance
        log_scale = self.log_gamma - 0.5 * ops.log(variance + self.epsilon)
        z = (x - mean) * ops.exp(log_scale) + self.beta
        log_det = ops.sum(log_scale) * ops.ones_like(x[..., 0])
        return z, log_det

    def call(self, x: Any, training: bool | None = None) -> Any:
        """The normalised values (data-to-latent direction)."""
        return self.inverse_and_log_det(x, training=training)[0]

    def bijector(self) -> tfb.Bijector:
        """The transform with the running statistics, as a TFP bijector (latent to data forward)."""
        log_scale = 0.5 * tf.math.log(tf.convert_to_tensor(self.moving_variance) + self.epsilon)
        return tfb.Chain(
            [
                tfb.Shift(tf.convert_to_tensor(self.moving_mean)),
                tfb.Scale(log_scale=log_scale - tf.convert_to_tensor(self.log_gamma)),
                tfb.Shift(-tf.convert_to_tensor(self.beta)),
            ],
            name=self.name,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
