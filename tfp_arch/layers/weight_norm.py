"""Weight normalisation (Salimans & Kingma, 2016) as a wrapper of a Keras 3 layer, with TFP's signature."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.validation import invalid_argument

__all__ = ["WeightNorm"]

_TESTED = ("Dense", "Conv2D", "Conv2DTranspose")


@keras.saving.register_keras_serializable(package="tfp_arch")
class WeightNorm(keras.layers.Wrapper):
    """A wrapper that writes the wrapped layer's kernel as `w = g * v / ||v||`, as `tfp.layers.WeightNorm`.

    `v` is the wrapped layer's own kernel variable and `g` holds one magnitude per output
    channel; both are trained. The norm is taken over every kernel axis but the output channel's
    (the last one, or the one before it for `Conv2DTranspose`). At the first call `g` is set:
    with `data_init=True` (data-dependent initialisation), the pre-activation outputs of that
    first batch get zero mean and unit variance per channel (`g <- g / std`, `bias <- -mean / std`,
    starting from `g = 1`); with `data_init=False`, `g = ||v||`, so that `w = v`. The flag that
    records it is a (non-trainable) variable, saved with the layer.

    Args:
        layer: the Keras layer to wrap; it must have a `kernel` (tested: `Dense`, `Conv2D`,
            `Conv2DTranspose`).
        data_init: whether to initialise `g` and the bias from the first batch.
        **kwargs: passed to `keras.layers.Wrapper`.

    Example:
        >>> layer = WeightNorm(keras.layers.Dense(3), data_init=True)
        >>> y = layer(np.random.default_rng(0).normal(size=(64, 5)).astype("float32"))
        >>> bool(np.allclose(y.numpy().mean(axis=0), 0.0, atol=1e-5))
        True
    """

    def __init__(self, layer: keras.layers.Layer, data_init: bool = True, **kwargs: Any) -> None:
        if not isinstance(layer, keras.layers.Layer):
            raise invalid_argument("layer", "expected a Keras layer", layer)
        layer_type = type(layer).__name__
        if layer_type not in _TESTED:
            warnings.warn(
                f"`WeightNorm` is tested only for {', '.join(_TESTED)} layers; it received a {layer_type}.",
                stacklevel=2,
            )
        super().__init__(layer, **kwargs)
        self.data_init = bool(data_init)
        self.filter_axis = -2 if layer_type == "Conv2DTranspose" else -1

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            raise invalid_argument("layer", "expected a layer with a `kernel`", type(self.layer).__name__)
        self.v = self.layer.kernel
        rank = len(self.v.shape)
        self.kernel_norm_axes = [axis for axis in range(rank) if axis != rank + self.filter_axis]
        self.g = self.add_weight(
            name="g", shape=(int(self.v.shape[self.filter_axis]),), initializer="ones", dtype=self.v.dtype
        )
        self.initialized = self.add_weight(
            name="initialized", shape=(), initializer="zeros", dtype="bool", trainable=False
        )

    def _kernel(self) -> tf.Tensor:
        g = tf.convert_to_tensor(self.g)
        direction = tf.nn.l2_normalize(tf.convert_to_tensor(self.v), axis=self.kernel_norm_axes)
        return direction * tf.expand_dims(g, -self.filter_axis - 3)

    def _with_kernel(self, inputs: Any, kernel: tf.Tensor, bias: tf.Tensor | None = None) -> Any:
        mapping = [(self.v, kernel)]
        if bias is not None:
            mapping.append((self.layer.bias, bias))
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs)

    def _initialize(self, inputs: Any) -> tf.Tensor:
        if not self.data_init:
            self.g.assign(tf.sqrt(tf.reduce_sum(tf.square(tf.convert_to_tensor(self.v)), axis=self.kernel_norm_axes)))
        else:
            activation = self.layer.activation
            self.layer.activation = keras.activations.linear
            bias = getattr(self.layer, "bias", None)
            zeros = None if bias is None else tf.zeros_like(tf.convert_to_tensor(bias))
            try:
                outputs = self._with_kernel(inputs, self._kernel(), zeros)
            finally:
                self.layer.activation = activation
            mean, variance = tf.nn.moments(outputs, axes=list(range(len(outputs.shape) - 1)))
            scale = 1.0 / tf.sqrt(variance + 1e-10)
            self.g.assign(tf.convert_to_tensor(self.g) * scale)
            if bias is not None:
                bias.assign(-mean * scale)
        self.initialized.assign(True)
        return tf.constant(True)

    def call(self, inputs: Any) -> Any:
        tf.cond(tf.convert_to_tensor(self.initialized), lambda: tf.constant(False), lambda: self._initialize(inputs))
        return self._with_kernel(inputs, self._kernel())

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_init": self.data_init}
