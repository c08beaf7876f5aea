"""The transforms a masked autoregressive flow stacks: the MADE bijector and batch normalisation."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from tfp_arch.layers.made import MADE, soft_clip
from tfp_arch.validation import positive_float

__all__ = ["FlowBatchNormalization", "autoregressive_forward", "autoregressive_inverse", "maf_bijector"]

tfb = tfp.bijectors


def maf_bijector(made: MADE, context: Any = None, name: str | None = None) -> tfb.MaskedAutoregressiveFlow:
    """A `tfp.bijectors.MaskedAutoregressiveFlow` whose shift and log-scale come from `made`.

    The MADE's shift is in latent units: data to latent is `z = x * exp(-log_scale(x)) + shift(x)`
    (scale, then shift, as zuko's MAF does). With the shift applied before the scale,
    `z = (x - shift) * exp(-log_scale)`, the shift's gradient is multiplied by `exp(-log_scale)`
    (up to `1e3` per transform), and maximum-likelihood training on data with near-discrete
    columns can diverge. For TFP the pair is passed as `(-shift * exp(log_scale), log_scale)`.

    The forward direction (latent to data) is the slow one: `D` sequential passes of the MADE,
    run by TFP in a `tf.while_loop`. The inverse (data to latent) is one pass.

    Args:
        made: a built `MADE` layer.
        context: the conditioning input bound into the bijector, or None.
        name: the bijector's name.

    Returns:
        The bijector, with `forward(z) = (z - shift(x)) * exp(log_scale(x))` solved autoregressively.

    Example:
        >>> made = MADE(hidden_units=[16]); made.build((None, 2))
        >>> bijector = maf_bijector(made)
        >>> z = bijector.inverse(np.ones((3, 2), "float32"))
    """
    def shift_and_log_scale_fn(y: Any) -> tuple[Any, Any]:
        shift, log_scale = made.shift_and_log_scale(y, context)
        return -shift * tf.exp(log_scale), log_scale

    return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale_fn, name=name or made.name)


def autoregressive_inverse(made: MADE, x: Any, context: Any = None) -> tuple[Any, Any]:
    """The inverse of `maf_bijector(made, context)` and its log-determinant in one MADE pass.

    Args:
        made: a built `MADE` layer.
        x: data-side values, shape `(..., D)`.
        context: the conditioning input, or None.

    Returns:
        `(z, inverse_log_det)` with `z = x * exp(-log_scale(x)) + shift(x)` of shape `(..., D)`
        and `inverse_log_det = -sum(log_scale(x))` of shape `(...)`.
    """
    shift, log_scale = made.shift_and_log_scale(x, context)
    return x * ops.exp(-log_scale) + shift, -ops.sum(log_scale, axis=-1)


def autoregressive_forward(made: MADE, z: Any, context: Any = None) -> Any:
    """The forward direction of `maf_bijector(made, context)` (latent to data) in `D` steps.

    Step `k` computes only the variable of rank `k` in the MADE's order: its shift and log-scale
    depend on the hidden units of degree below `k` alone, so the step multiplies by the slices of
    the (degree-sorted) masked kernels that reach those units and by the two output columns of that
    variable. This is exact, and about three times fewer operations than `D` full MADE passes (what
    TFP's `tf.while_loop` runs). The steps are unrolled in the graph (`D` is static).

    Args:
        made: a built `MADE` layer.
        z: latent-side values, shape `(..., D)` with a static `D`.
        context: the conditioning input, or None.

    Returns:
        `x` with `x = (z - shift(x)) * exp(log_scale(x))`, the same shape as `z`.
    """
    size = int(z.shape[-1])
    ranks = np.asarray(made.degrees[0])
    sorts = [np.argsort(degrees, kind="stable") for degrees in made.degrees[1:]]
    sorted_degrees = [np.asarray(degrees)[sort] for degrees, sort in zip(made.degrees[1:], sorts)]
    kernels, biases, context_kernels = [], [], []
    previous = None
    for index, (kernel, bias, mask) in enumerate(zip(made.kernels, made.biases, made._masks)):
        masked = kernel * ops.convert_to_tensor(mask, dtype=kernel.dtype)
        context_kernel = made.context_kernels[index] if context is not None else None
        if previous is not None:
            masked = ops.take(masked, previous, axis=0)
        if index < len(sorts):
            masked = ops.take(masked, sorts[index], axis=1)
            bias = ops.take(bias, sorts[index], axis=0)
            if context_kernel is not None:
                context_kernel = ops.take(context_kernel, sorts[index], axis=1)
            previous = sorts[index]
        kernels.append(masked)
        biases.append(bias)
        context_kernels.append(context_kernel)
    columns = ops.arange(size)
    x = ops.zeros_like(z)
    for rank in range(1, size + 1):
        variable = int(np.flatnonzero(ranks == rank)[0])
        outputs = [variable, size + variable]
        params = ops.take(biases[-1], outputs, axis=0) + ops.zeros_like(z[..., :2])
        hidden, inputs = x, size
        for index, degrees in enumerate(sorted_degrees):
            units = int(np.sum(degrees < rank))
            if units == 0:
                hidden = None
                break
            hidden = ops.matmul(hidden, kernels[index][:inputs, :units]) + biases[index][:units]
            if context is not None:
                hidden = hidden + ops.matmul(context, context_kernels[index][:, :units])
            hidden, inputs = made.activation(hidden), units
        if hidden is not None:
            params = params + ops.matmul(hidden, ops.take(kernels[-1][:inputs], outputs, axis=1))
        if context is not None:
            params = params + ops.matmul(context, ops.take(context_kernels[-1], outputs, axis=1))
        shift, log_scale = params[..., 0], params[..., 1]
        if made.log_scale_bound is not None:
            log_scale = soft_clip(log_scale, made.log_scale_bound)
        value = (z[..., variable] - shift) * ops.exp(log_scale)
        x = ops.where(columns == variable, value[..., None], x)
    return x


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
        >>> z, log_det = norm.inverse_and_log_det(np.random.randn(64, 3).astype("float32"), training=True)
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(
                f"Invalid value for argument `momentum`: expected a float in [0, 1). Received: momentum={momentum}"
            )
        positive_float("epsilon", epsilon)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        size = (int(input_shape[-1]),)
        self.log_gamma = self.add_weight(shape=size, initializer="zeros", name="log_gamma")
        self.beta = self.add_weight(shape=size, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=size, initializer="zeros", trainable=False, aggregation="mean", name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=size, initializer="ones", trainable=False, aggregation="mean", name="moving_variance"
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

    def forward(self, z: Any) -> Any:
        """Latent to data with the running statistics: the inverse of `inverse_and_log_det`."""
        log_scale = self.log_gamma - 0.5 * ops.log(self.moving_variance + self.epsilon)
        return (z - self.beta) * ops.exp(-log_scale) + self.moving_mean

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
