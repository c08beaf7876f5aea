"""`tfp.layers`' variational convolutions on Keras 3: `Convolution{1,2,3}D{Reparameterization,Flipout}`.

TFP exports them as `Convolution1DFlipout`, ...; its module also names them `Conv1DFlipout`, ...;
both names are given here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.variational.layout import channels_first_to_last, channels_last_to_first, conv_output_length
from tfp_arch.layers.variational.tfp_base import TFPVariationalLayer, as_int, as_ints
from tfp_arch.layers.variational.tfp_functions import (
    DEFAULT_BIAS_POSTERIOR_FN,
    DEFAULT_KERNEL_POSTERIOR_FN,
    default_multivariate_normal_fn,
    draw_sample,
    exact_kl_divergence,
)
from tfp_arch.validation import invalid_argument, one_of

__all__ = [
    "Conv1DFlipout",
    "Conv1DReparameterization",
    "Conv2DFlipout",
    "Conv2DReparameterization",
    "Conv3DFlipout",
    "Conv3DReparameterization",
    "Convolution1DFlipout",
    "Convolution1DReparameterization",
    "Convolution2DFlipout",
    "Convolution2DReparameterization",
    "Convolution3DFlipout",
    "Convolution3DReparameterization",
]


class _TFPConv(TFPVariationalLayer):
    """A convolution with TFP's variational hooks; see `TFPVariationalLayer` and `Convolution2DReparameterization`."""

    rank = 2

    def __init__(
        self,
        filters: Any,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str = "channels_last",
        dilation_rate: Any = 1,
        activation: Any = None,
        activity_regularizer: Any = None,
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
        self.filters = as_int("filters", filters)
        self.kernel_size = as_ints("kernel_size", kernel_size, self.rank)
        self.strides = as_ints("strides", strides, self.rank)
        self.dilation_rate = as_ints("dilation_rate", dilation_rate, self.rank)
        self.padding = one_of("padding", str(padding).lower(), ("valid", "same"))
        self.data_format = one_of("data_format", str(data_format).lower(), ("channels_last", "channels_first"))
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise invalid_argument(
                "dilation_rate",
                "expected 1 when a stride is above 1",
                received=f"dilation_rate={dilation_rate!r}, strides={strides!r}",
            )
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    @property
    def channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def kernel_shape(self, input_shape: Sequence[int | None]) -> tuple[int, ...]:
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}': the channel dimension of the inputs must be defined. Received: {input_shape}"
            )
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2, axes={self.channel_axis: int(channels)})
        return (*self.kernel_size, int(channels), self.filters)

    def bias_shape(self) -> tuple[int, ...]:
        return (self.filters,)

    def output_channels(self) -> int:
        return self.filters

    def to_channels_last(self, inputs: tf.Tensor) -> tf.Tensor:
        return channels_first_to_last(inputs) if self.data_format == "channels_first" else inputs

    def from_channels_last(self, outputs: tf.Tensor) -> tf.Tensor:
        return channels_last_to_first(outputs) if self.data_format == "channels_first" else outputs

    def apply_kernel(self, inputs: tf.Tensor, kernel: Any) -> tf.Tensor:
        return tf.nn.convolution(
            inputs, kernel, strides=self.strides, padding=self.padding.upper(), dilations=self.dilation_rate
        )

    def flipout_signs(self, inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch, ones = tf.shape(inputs)[:1], tf.ones([self.rank], tf.int32)
        sign_in = self.signs(tf.concat([batch, ones, tf.shape(inputs)[-1:]], 0), inputs.dtype)
        sign_out = self.signs(tf.concat([batch, ones, [self.filters]], 0), inputs.dtype)
        return sign_in, sign_out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        spatial = shape[2:] if self.data_format == "channels_first" else shape[1:-1]
        axes = zip(spatial, self.kernel_size, self.strides, self.dilation_rate, strict=True)
        lengths = tuple(conv_output_length(size, kernel, self.padding, step, rate) for size, kernel, step, rate in axes)
        if self.data_format == "channels_first":
            return (shape[0], self.filters, *lengths)
        return (shape[0], *lengths, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
        }


class _TFPConvReparameterization(_TFPConv):
    estimator = "reparameterization"


class _TFPConvFlipout(_TFPConv):
    estimator = "flipout"

    def __init__(
        self,
        filters: Any,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str = "channels_last",
        dilation_rate: Any = 1,
        activation: Any = None,
        activity_regularizer: Any = None,
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
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            activity_regularizer=activity_regularizer,
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


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv1DReparameterization(_TFPConvReparameterization):
    """`tfp.layers.Convolution1DReparameterization` on Keras 3: one kernel drawn per call, shared by the batch.

    The convolution counterpart of `DenseReparameterization` (same hooks, defaults and losses) with
    the arguments of a Keras convolution: `filters`, `kernel_size`, `strides`, `padding` (`"valid"`
    or `"same"`), `data_format` (`"channels_last"` or `"channels_first"`; the latter runs as a
    transpose to channels last, the layout TensorFlow's CPU convolutions support, and back) and
    `dilation_rate`. Shape arguments are ints, sequences of ints or integer tensors.
    """

    rank = 1


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv2DReparameterization(_TFPConvReparameterization):
    """`tfp.layers.Convolution2DReparameterization` on Keras 3; see `Conv1DReparameterization`.

    Example:
        >>> layer = Convolution2DReparameterization(8, 3, activation="relu")
        >>> layer(tf.ones((2, 28, 28, 1))).shape, len(layer.losses)
        (TensorShape([2, 26, 26, 8]), 1)
    """

    rank = 2


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv3DReparameterization(_TFPConvReparameterization):
    """`tfp.layers.Convolution3DReparameterization` on Keras 3; see `Conv1DReparameterization`."""

    rank = 3


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv1DFlipout(_TFPConvFlipout):
    """`tfp.layers.Convolution1DFlipout` on Keras 3: one kernel perturbation per call, decorrelated across examples.

    The kernel posterior must be `tfd.Independent(tfd.Normal)`; with `dW = kernel_posterior_tensor_fn(
    Normal(0, scale))` and random signs per example and channel, `s` on the inputs and `r` on the
    outputs, the pre-activation output is `conv(x, loc) + conv(x * s, dW) * r` (Wen et al. 2018).
    Arguments as `Conv1DReparameterization`, plus `seed` (an int, or None) for the signs.
    """

    rank = 1


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv2DFlipout(_TFPConvFlipout):
    """`tfp.layers.Convolution2DFlipout` on Keras 3; see `Conv1DFlipout`.

    Example:
        >>> layer = Convolution2DFlipout(8, 3, data_format="channels_first", seed=0)
        >>> layer(tf.ones((2, 1, 28, 28))).shape
        TensorShape([2, 8, 26, 26])
    """

    rank = 2


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv3DFlipout(_TFPConvFlipout):
    """`tfp.layers.Convolution3DFlipout` on Keras 3; see `Conv1DFlipout`."""

    rank = 3


Convolution1DReparameterization = Conv1DReparameterization
Convolution2DReparameterization = Conv2DReparameterization
Convolution3DReparameterization = Conv3DReparameterization
Convolution1DFlipout = Conv1DFlipout
Convolution2DFlipout = Conv2DFlipout
Convolution3DFlipout = Conv3DFlipout
