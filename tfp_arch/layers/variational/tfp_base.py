"""The base of the TFP-named variational layers: TFP's posterior, prior, tensor and divergence hooks on Keras 3."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.noise import random_signs
from tfp_arch.layers.variational.estimators import flipout, local_reparameterization_moments
from tfp_arch.layers.variational.saved_functions import deserialize_function, serialize_function
from tfp_arch.layers.variational.tfp_functions import (
    DEFAULT_BIAS_POSTERIOR_FN,
    DEFAULT_KERNEL_POSTERIOR_FN,
    default_multivariate_normal_fn,
    draw_sample,
    exact_kl_divergence,
    keras_add_variable_fn,
)
from tfp_arch.validation import invalid_argument

__all__ = ["FUNCTION_ARGUMENTS", "TFPVariationalLayer", "as_int", "as_ints"]

FUNCTION_ARGUMENTS = (
    "kernel_posterior_fn",
    "kernel_posterior_tensor_fn",
    "kernel_prior_fn",
    "kernel_divergence_fn",
    "bias_posterior_fn",
    "bias_posterior_tensor_fn",
    "bias_prior_fn",
    "bias_divergence_fn",
)


def as_int(name: str, value: Any) -> int:
    """A positive int from an int, a NumPy integer or a scalar integer tensor (TFP accepts all three)."""
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.ndim != 0 or not np.issubdtype(array.dtype, np.integer) or int(array) < 1:
        raise invalid_argument(name, "expected a positive integer (an int or an integer tensor)", value)
    return int(array)


def as_ints(name: str, value: Any, rank: int) -> tuple[int, ...]:
    """`rank` positive ints from an int, a sequence of ints or an integer tensor (one value or `rank`)."""
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.ndim == 0:
        array = np.repeat(array, rank)
    valid = array.ndim == 1 and len(array) == rank and np.issubdtype(array.dtype, np.integer)
    if not valid or not bool(np.all(array >= 1)):
        raise invalid_argument(name, f"expected a positive integer or {rank} positive integers", value)
    return tuple(int(v) for v in array)


class TFPVariationalLayer(keras.layers.Layer):
    """Base of `DenseFlipout`, `Convolution2DReparameterization`, ...: `tfp.layers`' contract on Keras 3.

    In `build` the layer calls, as TFP does, `kernel_posterior_fn(dtype, kernel_shape,
    "kernel_posterior", trainable, add_variable_fn)`, and likewise `kernel_prior_fn` ("kernel_prior"),
    `bias_posterior_fn` and `bias_prior_fn` with shape `(units,)` (a None function gives no such
    distribution, and no bias for `bias_posterior_fn=None`); `add_variable_fn` adds Keras 3 weights
    (`tfp_functions.keras_add_variable_fn`). The distributions are kept as `kernel_posterior`,
    `kernel_prior`, `bias_posterior` and `bias_prior`.

    Each call computes the pre-activation output with the class's `estimator`:
        `"reparameterization"`: `kernel_posterior_tensor = kernel_posterior_tensor_fn(kernel_posterior)`,
            shared by the batch.
        `"local_reparameterization"` (posterior `Independent(Normal)` only): the output is
            `kernel_posterior_tensor_fn(Normal(apply(x, loc), sqrt(apply(x^2, scale^2))))`.
        `"flipout"` (posterior `Independent(Normal)` only): a perturbation
            `kernel_posterior_tensor_fn(Normal(0, scale))` shared by the batch, decorrelated across
            examples by random signs drawn from the layer's `seed` (`estimators.flipout`).
    then adds `bias_posterior_tensor_fn(bias_posterior)` and applies the activation; finally it adds
    `kernel_divergence_fn(kernel_posterior, kernel_prior, kernel_posterior_tensor)` and the bias's
    counterpart to the layer's losses (`add_loss`), when the function, posterior and prior all exist.
    The sample passed to the kernel's divergence is None for the local-reparameterisation and
    Flipout estimators, as in TFP.

    A subclass implements:
        kernel_shape(input_shape): the kernel's shape for inputs of `input_shape` (channels last).
        apply_kernel(inputs, kernel): the linear map, channels last.
        flipout_signs(inputs): the input and output signs of Flipout, channels last.
        compute_output_shape(input_shape).
    and may override `to_channels_last` / `from_channels_last` (identity here) for other layouts.

    Saving: every function argument is saved by its registered name; the defaults are registered,
    and a lambda or an unregistered function makes `get_config` (hence `model.save`) raise one line
    naming the layer, the argument and the fix (`tfp_arch.layers.variational.saved_functions`).
    """

    estimator = "reparameterization"

    def __init__(
        self,
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
        super().__init__(activity_regularizer=activity_regularizer, trainable=trainable, **kwargs)
        self.activation = keras.activations.get(activation)
        functions = dict(
            zip(
                FUNCTION_ARGUMENTS,
                (
                    kernel_posterior_fn,
                    kernel_posterior_tensor_fn,
                    kernel_prior_fn,
                    kernel_divergence_fn,
                    bias_posterior_fn,
                    bias_posterior_tensor_fn,
                    bias_prior_fn,
                    bias_divergence_fn,
                ),
                strict=True,
            )
        )
        for name, value in functions.items():
            value = deserialize_function(value)
            if value is not None and not callable(value):
                raise invalid_argument(name, "expected a callable or None", value)
            setattr(self, name, value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.kernel_posterior_tensor: Any = None
        self.kernel_posterior_affine: Any = None
        self.kernel_posterior_affine_tensor: Any = None
        self.bias_posterior_tensor: Any = None

    def kernel_shape(self, input_shape: Sequence[int | None]) -> Sequence[int]:
        raise NotImplementedError

    def apply_kernel(self, inputs: tf.Tensor, kernel: Any) -> tf.Tensor:
        raise NotImplementedError

    def flipout_signs(self, inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raise NotImplementedError

    def to_channels_last(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs

    def from_channels_last(self, outputs: tf.Tensor) -> tf.Tensor:
        return outputs

    def output_channels(self) -> int:
        raise NotImplementedError

    def _make(self, fn: Callable | None, shape: Any, name: str) -> tfd.Distribution | None:
        if fn is None:
            return None
        with tf.init_scope():  # constants of the distributions stay valid outside a graph Keras traces the build in
            return fn(tf.as_dtype(self.variable_dtype), shape, name, self.trainable, keras_add_variable_fn(self))

    def build(self, input_shape: Sequence[int | None]) -> None:
        kernel_shape = self.kernel_shape(input_shape)
        bias_shape = self.bias_shape()
        self.kernel_posterior = self._make(self.kernel_posterior_fn, kernel_shape, "kernel_posterior")
        self.kernel_prior = self._make(self.kernel_prior_fn, kernel_shape, "kernel_prior")
        self.bias_posterior = self._make(self.bias_posterior_fn, bias_shape, "bias_posterior")
        self.bias_prior = self._make(self.bias_prior_fn, bias_shape, "bias_prior")

    def bias_shape(self) -> Any:
        return [self.output_channels()]

    def _mean_field_normal(self) -> tfd.Normal:
        posterior = self.kernel_posterior
        if not isinstance(posterior, tfd.Independent) or not isinstance(posterior.distribution, tfd.Normal):
            raise TypeError(
                f"`{type(self).__name__}` requires `kernel_posterior_fn` produce an instance of "
                f'`tfd.Independent(tfd.Normal)` (saw: "{getattr(posterior, "name", type(posterior).__name__)}").'
            )
        return posterior.distribution

    def apply_variational_kernel(self, inputs: tf.Tensor) -> tf.Tensor:
        """The pre-activation output without the bias, channels last, with the class's `estimator`."""
        if self.estimator == "reparameterization":
            self.kernel_posterior_tensor = self.kernel_posterior_tensor_fn(self.kernel_posterior)
            self.kernel_posterior_affine = self.kernel_posterior_affine_tensor = None
            return self.apply_kernel(inputs, self.kernel_posterior_tensor)
        normal = self._mean_field_normal()
        self.kernel_posterior_tensor = None
        if self.estimator == "local_reparameterization":
            mean, variance = local_reparameterization_moments(self.apply_kernel, inputs, normal.loc, normal.scale)
            self.kernel_posterior_affine = tfd.Normal(loc=mean, scale=tf.sqrt(variance))
            self.kernel_posterior_affine_tensor = self.kernel_posterior_tensor_fn(self.kernel_posterior_affine)
            return self.kernel_posterior_affine_tensor
        self.kernel_posterior_affine = tfd.Normal(loc=tf.zeros_like(normal.loc), scale=normal.scale)
        self.kernel_posterior_affine_tensor = self.kernel_posterior_tensor_fn(self.kernel_posterior_affine)
        sign_in, sign_out = self.flipout_signs(inputs)
        return flipout(self.apply_kernel, inputs, normal.loc, self.kernel_posterior_affine_tensor, sign_in, sign_out)

    def signs(self, shape: Any, dtype: Any) -> tf.Tensor:
        """Random signs of `shape` from the layer's seed generator (Flipout's Rademacher draws)."""
        return random_signs(shape, dtype, self.seed_generator)

    def _add_divergence(self, fn: Callable | None, posterior: Any, prior: Any, sample: Any, name: str) -> None:
        if fn is None or posterior is None or prior is None:
            return
        self.add_loss(tf.identity(tf.convert_to_tensor(fn(posterior, prior, sample)), name=name))

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        inputs = self.to_channels_last(tf.convert_to_tensor(inputs, self.compute_dtype))
        outputs = self.apply_variational_kernel(inputs)
        if self.bias_posterior is None:
            self.bias_posterior_tensor = None
        else:
            self.bias_posterior_tensor = self.bias_posterior_tensor_fn(self.bias_posterior)
            outputs = outputs + self.bias_posterior_tensor
        outputs = self.from_channels_last(outputs)
        if self.activation is not None:
            outputs = self.activation(outputs)
        self._add_divergence(
            self.kernel_divergence_fn,
            self.kernel_posterior,
            self.kernel_prior,
            self.kernel_posterior_tensor,
            "divergence_kernel",
        )
        self._add_divergence(
            self.bias_divergence_fn, self.bias_posterior, self.bias_prior, self.bias_posterior_tensor, "divergence_bias"
        )
        return outputs

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation) if self.activation is not None else None,
            "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer)
            if self.activity_regularizer is not None
            else None,
            "seed": self.seed,
        }
        for name in FUNCTION_ARGUMENTS:
            config[name] = serialize_function(self, name, getattr(self, name))
        return config
