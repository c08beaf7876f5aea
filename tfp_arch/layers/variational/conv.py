"""Keras 3 convolutions (1-D, 2-D, 3-D) whose kernel and bias have a posterior learned by variational inference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.noise import random_signs, standard_normal
from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.estimators import flipout, local_reparameterization_moments
from tfp_arch.layers.variational.layout import channels_first_to_last, channels_last_to_first
from tfp_arch.validation import invalid_argument, one_of, positive_int, positive_ints

__all__ = ["Conv1DVariational", "Conv2DVariational", "Conv3DVariational", "ConvVariational"]


def _tuple(name: str, value: int | Sequence[int], rank: int) -> tuple[int, ...]:
    return tuple(positive_ints(name, value, length=rank, allow_int=True))


@keras.saving.register_keras_serializable(package="tfp_arch")
class ConvVariational(VariationalLayer):
    """A convolution with a variational posterior over its kernel and bias.

    The posterior, priors, KL term, automatic KL weight and configuration are those of
    `DenseVariational` (`tfp_arch.layers.VariationalLayer`); the kernel `(*kernel_size, in, filters)`
    is packed with the bias into a `(prod(kernel_size) * in + 1, filters)` matrix. Estimators of the
    mean-field posterior:

    - `"reparameterization"`: one kernel and bias drawn per call and shared by the batch.
    - `"local_reparameterization"` (Kingma et al. 2015): each output value is drawn from its normal
      distribution given the inputs, mean `conv(x, mu) + mu_b`, variance
      `conv(x^2, sigma^2) + sigma_b^2`. Each output value has its exact marginal, but outputs at
      different positions of one example are drawn independently, whereas a true weight draw
      correlates them; the expected loss therefore differs from the other two estimators' when
      it couples positions (as a network with more layers does). It is the common trade: cheaper
      noise, lower variance, a slightly different objective.
    - `"flipout"` (Wen et al. 2018): a perturbation shared by the batch, decorrelated across
      examples by random signs per example and channel, `conv(x, mu) + (conv(x * s_in, dW) + db) * s_out`:
      each example sees a true weight draw, so the objective is the reparameterisation one.

    The correlated posterior families and `make_posterior_fn` take `"reparameterization"` only.

    Subclasses `Conv1DVariational`, `Conv2DVariational` and `Conv3DVariational` fix `rank`.

    Args:
        filters: number of output channels.
        kernel_size: an integer or `rank` integers.
        strides: an integer or `rank` integers.
        padding: `"valid"` or `"same"`.
        dilation_rate: an integer or `rank` integers (strides and dilations above 1 do not mix).
        activation: activation name or None.
        data_format: `"channels_last"` (default) or `"channels_first"`; the latter runs as a
            transpose to channels last (the layout TensorFlow's CPU convolutions take) and back.
        **kwargs: the variational arguments of `DenseVariational` (`prior`, `estimator`,
            `posterior_family`, `kl_weight`, ...) and those of `keras.layers.Layer`.

    Example:
        >>> layer = Conv2DVariational(8, 3, activation="relu", estimator="flipout")
        >>> layer(tf.ones((2, 28, 28, 1))).shape
        TensorShape([2, 26, 26, 8])
    """

    convolution = True
    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        dilation_rate: int | Sequence[int] = 1,
        activation: str | None = None,
        data_format: str = "channels_last",
        **kwargs: Any,
    ) -> None:
        super().__init__(activation=activation, **kwargs)
        self.data_format = one_of("data_format", str(data_format).lower(), ("channels_last", "channels_first"))
        positive_int("filters", filters)
        self.filters = filters
        self.kernel_size = _tuple("kernel_size", kernel_size, self.rank)
        self.strides = _tuple("strides", strides, self.rank)
        self.dilation_rate = _tuple("dilation_rate", dilation_rate, self.rank)
        self.padding = one_of("padding", str(padding).lower(), ("valid", "same"))
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

    def build(self, input_shape: Sequence[int | None]) -> None:
        channels = int(input_shape[self.channel_axis])  # type: ignore[arg-type]
        self._build_variational((*self.kernel_size, channels, self.filters))
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2, axes={self.channel_axis: channels})

    def _to_channels_last(self, inputs: tf.Tensor) -> tf.Tensor:
        return channels_first_to_last(tf.convert_to_tensor(inputs)) if self.data_format == "channels_first" else inputs

    def _from_channels_last(self, outputs: tf.Tensor) -> tf.Tensor:
        return channels_last_to_first(outputs) if self.data_format == "channels_first" else outputs

    def _convolve(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.nn.convolution(
            inputs, kernel, strides=self.strides, padding=self.padding.upper(), dilations=self.dilation_rate
        )

    def apply_packed(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        kernel, bias = self._split(weights)
        outputs = self._convolve(tf.convert_to_tensor(inputs, weights.dtype), kernel)
        return outputs + bias if bias is not None else outputs

    def _signs(self, inputs: tf.Tensor, channels: Any) -> tf.Tensor:
        """Random signs `(batch, 1, ..., channels)`, one per example and channel."""
        shape = tf.concat([tf.shape(inputs)[:1], tf.ones([self.rank], tf.int32), channels], 0)
        return random_signs(shape, inputs.dtype, self.seed_generator)

    def mean_field_outputs(
        self, inputs: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor | None]:
        inputs = tf.convert_to_tensor(inputs, loc.dtype)
        if self.estimator == "reparameterization":
            weights = loc + scale * standard_normal(tf.shape(loc), loc.dtype, self.seed_generator)
            return self.apply_packed(inputs, weights), weights
        if self.estimator == "local_reparameterization":
            mean, variance = local_reparameterization_moments(self.apply_packed, inputs, loc, scale)
            if not self.use_bias:
                variance = variance + 1e-30
            return mean + tf.sqrt(variance) * standard_normal(tf.shape(mean), mean.dtype, self.seed_generator), None
        perturbation = scale * standard_normal(tf.shape(loc), loc.dtype, self.seed_generator)
        sign_in = self._signs(inputs, tf.shape(inputs)[-1:])
        sign_out = self._signs(inputs, [self.filters])
        return flipout(self.apply_packed, inputs, loc, perturbation, sign_in, sign_out), loc + perturbation

    def sample_weights(self, num_samples: int, seed: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
        """Draw `num_samples` kernels `(S, *kernel_shape)` and biases `(S, filters)` (or None), stateless given
        `seed`."""
        return self._split(self.family.sample([num_samples], seed))

    def call_with_weights(self, inputs: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
        """The output (after the activation) for one given kernel and bias, e.g. one of `sample_weights`."""
        outputs = self._convolve(self._to_channels_last(tf.convert_to_tensor(inputs, kernel.dtype)), kernel)
        outputs = self._from_channels_last(outputs + bias if bias is not None else outputs)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return self._channels_last_output_shape(shape)
        batch, *spatial, filters = self._channels_last_output_shape((shape[0], *shape[2:], shape[1]))
        return (batch, filters, *spatial)

    def _channels_last_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial: list[int | None] = []
        for size, kernel, stride, dilation in zip(
            input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate, strict=True
        ):
            if size is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(-(-int(size) // stride))
            else:
                spatial.append((int(size) - dilation * (kernel - 1) - 1) // stride + 1)
        return (input_shape[0], *spatial, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv1DVariational(ConvVariational):
    """`ConvVariational` over sequences `(batch, steps, channels)`."""

    rank = 1


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv2DVariational(ConvVariational):
    """`ConvVariational` over images `(batch, height, width, channels)`."""

    rank = 2


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv3DVariational(ConvVariational):
    """`ConvVariational` over volumes `(batch, depth, height, width, channels)`."""

    rank = 3
