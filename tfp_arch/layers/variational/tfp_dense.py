"""`tfp.layers`' dense variational layers on Keras 3: `DenseReparameterization`, `DenseLocalReparameterization`,
`DenseFlipout`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.variational.tfp_base import TFPVariationalLayer, as_int
from tfp_arch.layers.variational.tfp_functions import (
    DEFAULT_BIAS_POSTERIOR_FN,
    DEFAULT_KERNEL_POSTERIOR_FN,
    default_multivariate_normal_fn,
    draw_sample,
    exact_kl_divergence,
)

__all__ = ["DenseFlipout", "DenseLocalReparameterization", "DenseReparameterization"]


class _TFPDense(TFPVariationalLayer):
    """A dense layer with TFP's variational hooks; see `TFPVariationalLayer` and `DenseReparameterization`."""

    def __init__(
        self,
        units: Any,
        activation: Any = None,
        activity_regularizer: Any = None,
        trainable: bool = True,
        kernel_posterior_fn: Callable | None = DEFAULT_KERNEL_POSTERIOR_FN,
        kernel_posterior_tensor_fn: Callable = draw_sample,
        kernel_prior_fn: Callable | None = default_multivariate_normal_fn,
        kernel_divergence_fn: Callable | None = exact_kl_divergence,
        bias_posterior_fn: Callable | None = DEFAULT_BIAS_POSTERIOR_FN,
        bias_posterior_tensor_fn: Callable = draw_sample,
        bias_prior_fn: Callable | None = None,
        bias_divergence_fn: Callable | None = exact_kl_divergence,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            activation=activation,
            activity_regularizer=activity_regularizer,
            trainable=trainable,
            kernel_posterior_fn=kernel_posterior_fn,
            kernel_posterior_tensor_fn=kernel_posterior_tensor_fn,
            kernel_prior_fn=kernel_prior_fn,
            kernel_divergence_fn=kernel_divergence_fn,
            bias_posterior_fn=bias_posterior_fn,
            bias_posterior_tensor_fn=bias_posterior_tensor_fn,
            bias_prior_fn=bias_prior_fn,
            bias_divergence_fn=bias_divergence_fn,
            **kwargs,
        )
        self.units = as_int("units", units)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)

    def kernel_shape(self, input_shape: Sequence[int | None]) -> list[int]:
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}': the last dimension of the inputs must be defined. Received: {input_shape}"
            )
        in_size = int(input_shape[-1])
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: in_size})
        return [in_size, self.units]

    def output_channels(self) -> int:
        return self.units

    def apply_kernel(self, inputs: tf.Tensor, kernel: Any) -> tf.Tensor:
        return tf.matmul(inputs, kernel)

    def flipout_signs(self, inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        shape = tf.shape(inputs)
        sign_in = self.signs(shape, inputs.dtype)
        sign_out = self.signs(tf.concat([shape[:-1], [self.units]], 0), inputs.dtype)
        return sign_in, sign_out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseReparameterization(_TFPDense):
    """`tfp.layers.DenseReparameterization` on Keras 3: one kernel drawn per call, shared by the batch.

    `outputs = activation(inputs @ kernel_posterior_tensor_fn(kernel_posterior) + bias)`, and the
    divergences of the kernel (and bias) added to `losses`. Same arguments, defaults and numbers as
    TFP's layer (see `TFPVariationalLayer` for the hooks): the kernel posterior is a trainable
    mean-field normal (`default_mean_field_normal_fn()`), the prior a standard normal
    (`default_multivariate_normal_fn`), the divergence `tfd.kl_divergence(q, p)`, the bias a point
    estimate without a prior. The KL is added in full at every call: scale it to one epoch with
    `kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / n` (or, to save the model,
    `ScaledKLDivergence(1 / n)`).

    Args:
        units: number of outputs (an int or an integer tensor).
        activation: activation function or name, or None.
        activity_regularizer: regularizer of the outputs.
        trainable: whether the posterior's (and trainable priors') weights train.
        kernel_posterior_fn: `(dtype, shape, name, trainable, add_variable_fn)` -> the kernel's posterior.
        kernel_posterior_tensor_fn: distribution -> the tensor used for the kernel (default `d.sample()`).
        kernel_prior_fn: as `kernel_posterior_fn`, the kernel's prior (None: no prior, no divergence).
        kernel_divergence_fn: `(posterior, prior, sample)` -> the divergence added to the losses.
        bias_posterior_fn, bias_posterior_tensor_fn, bias_prior_fn, bias_divergence_fn: the same for
            the bias (`bias_posterior_fn=None`: no bias).
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Example:
        >>> layer = DenseReparameterization(4, activation="relu")
        >>> layer(tf.ones((2, 3))).shape, len(layer.losses)
        (TensorShape([2, 4]), 1)
    """

    estimator = "reparameterization"


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseLocalReparameterization(_TFPDense):
    """`tfp.layers.DenseLocalReparameterization` on Keras 3: each output drawn from its normal given the inputs.

    The kernel posterior must be `tfd.Independent(tfd.Normal)`; the pre-activation output is
    `kernel_posterior_tensor_fn(Normal(x @ loc, sqrt(x^2 @ scale^2)))`, independently per example
    (Kingma et al. 2015). Arguments as `DenseReparameterization`.

    Example:
        >>> DenseLocalReparameterization(4)(tf.ones((2, 3))).shape
        TensorShape([2, 4])
    """

    estimator = "local_reparameterization"


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseFlipout(_TFPDense):
    """`tfp.layers.DenseFlipout` on Keras 3: one kernel perturbation per call, decorrelated across examples.

    The kernel posterior must be `tfd.Independent(tfd.Normal)`; with `dW = kernel_posterior_tensor_fn(
    Normal(0, scale))` shared by the batch and random signs `s` (inputs) and `r` (outputs) per example,
    the pre-activation output is `x @ loc + ((x * s) @ dW) * r` (Wen et al. 2018): each example sees
    a weight draw from the posterior, at lower variance than one draw shared by the batch.
    Arguments as `DenseReparameterization`, plus `seed` (an int, or None) for the signs.

    Example:
        >>> tfd = tfp.distributions
        >>> n = 1000
        >>> layer = DenseFlipout(4, kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / n)
        >>> layer(tf.ones((2, 3))).shape, len(layer.losses)
        (TensorShape([2, 4]), 1)
    """

    estimator = "flipout"

    def __init__(
        self,
        units: Any,
        activation: Any = None,
        activity_regularizer: Any = None,
        trainable: bool = True,
        kernel_posterior_fn: Callable | None = DEFAULT_KERNEL_POSTERIOR_FN,
        kernel_posterior_tensor_fn: Callable = draw_sample,
        kernel_prior_fn: Callable | None = default_multivariate_normal_fn,
        kernel_divergence_fn: Callable | None = exact_kl_divergence,
        bias_posterior_fn: Callable | None = DEFAULT_BIAS_POSTERIOR_FN,
        bias_posterior_tensor_fn: Callable = draw_sample,
        bias_prior_fn: Callable | None = None,
        bias_divergence_fn: Callable | None = exact_kl_divergence,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            units,
            activation=activation,
            activity_regularizer=activity_regularizer,
            trainable=trainable,
            kernel_posterior_fn=kernel_posterior_fn,
            kernel_posterior_tensor_fn=kernel_posterior_tensor_fn,
            kernel_prior_fn=kernel_prior_fn,
            kernel_divergence_fn=kernel_divergence_fn,
            bias_posterior_fn=bias_posterior_fn,
            bias_posterior_tensor_fn=bias_posterior_tensor_fn,
            bias_prior_fn=bias_prior_fn,
            bias_divergence_fn=bias_divergence_fn,
            seed=seed,
            **kwargs,
        )
