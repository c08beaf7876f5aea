"""Keras 3 transposed convolutions (1-D, 2-D, 3-D) with a variational posterior over kernel and bias."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from tfp_arch.layers.variational.conv import ConvVariational

__all__ = [
    "Conv1DTransposeVariational",
    "Conv2DTransposeVariational",
    "Conv3DTransposeVariational",
    "ConvTransposeVariational",
]


def _keras_layout(kernel: tf.Tensor) -> tf.Tensor:
    """`(*kernel_size, in, filters)` to Keras' transposed-convolution layout `(*kernel_size, filters, in)`."""
    rank = kernel.shape.rank
    return tf.transpose(kernel, [*range(rank - 2), rank - 1, rank - 2])


def _dilate(kernel: tf.Tensor, dilation_rate: Sequence[int]) -> tf.Tensor:
    """The kernel with `rate - 1` zeros between neighbouring taps along each spatial axis.

    A transposed convolution with this kernel and dilation 1 is the dilated one; TensorFlow's CPU
    kernel of transposed convolutions refuses dilation rates above 1, so the layer always runs this.
    """
    for axis, rate in enumerate(dilation_rate):
        if rate == 1:
            continue
        size = kernel.shape[axis]
        moved = tf.experimental.numpy.moveaxis(kernel, axis, 0)
        spaced = tf.concat([moved[:, None], tf.zeros([size, rate - 1, *moved.shape[1:]], moved.dtype)], axis=1)
        spaced = tf.reshape(spaced, [size * rate, *moved.shape[1:]])[: (size - 1) * rate + 1]
        kernel = tf.experimental.numpy.moveaxis(spaced, 0, axis)
    return kernel


@keras.saving.register_keras_serializable(package="tfp_arch")
class ConvTransposeVariational(ConvVariational):
    """A transposed convolution with a variational posterior over its kernel and bias.

    The counterpart of `keras.layers.Conv{1,2,3}DTranspose`, with the estimators, posteriors,
    priors, KL term, automatic KL weight and configuration of `ConvVariational`. The output is
    linear in the weights and each output value uses each weight at most once, so local
    reparameterisation draws each output from its exact normal marginal, mean
    `conv_transpose(x, mu) + mu_b` and variance `conv_transpose(x^2, sigma^2) + sigma_b^2`.

    The kernel is held as `(*kernel_size, in, filters)` (the layout of `kernel_loc`,
    `sample_weights` and `assign_posterior`), with the filters last as in every variational layer;
    Keras' transposed convolutions store `(*kernel_size, filters, in)`, the last two axes swapped.

    Args:
        filters: number of output channels.
        kernel_size: an integer or `rank` integers.
        strides: an integer or `rank` integers.
        padding: `"valid"` or `"same"`, as Keras' transposed convolutions read them.
        dilation_rate: an integer or `rank` integers (strides and dilations above 1 do not mix).
        activation: activation name or None.
        data_format: `"channels_last"` (default) or `"channels_first"`, as `ConvVariational`.
        **kwargs: the variational arguments of `DenseVariational` and those of `keras.layers.Layer`.

    Example:
        >>> layer = Conv2DTransposeVariational(8, 3, strides=2, padding="same", estimator="flipout")
        >>> layer(tf.ones((2, 14, 14, 4))).shape
        TensorShape([2, 28, 28, 8])
    """

    def _convolve(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return keras.ops.conv_transpose(
            inputs,
            _keras_layout(_dilate(kernel, self.dilation_rate)),
            strides=self.strides,
            padding=self.padding,
            data_format="channels_last",
        )

    def _channels_last_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial: list[int | None] = []
        for size, kernel, stride, dilation in zip(
            input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate, strict=True
        ):
            extent = dilation * (kernel - 1) + 1
            if size is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(int(size) * stride)
            else:
                spatial.append(int(size) * stride + max(extent - stride, 0))
        return (input_shape[0], *spatial, self.filters)


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv1DTransposeVariational(ConvTransposeVariational):
    """`ConvTransposeVariational` over sequences `(batch, steps, channels)`."""

    rank = 1


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv2DTransposeVariational(ConvTransposeVariational):
    """`ConvTransposeVariational` over images `(batch, height, width, channels)`."""

    rank = 2


@keras.saving.register_keras_serializable(package="tfp_arch")
class Conv3DTransposeVariational(ConvTransposeVariational):
    """`ConvTransposeVariational` over volumes `(batch, depth, height, width, channels)`."""

    rank = 3
