"""TFP's `DenseVariational`: a dense layer whose weights are drawn from a posterior given as a Keras model."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.distributions.saving import deserialize_function, serialize_function
from tfp_arch.layers.kl.divergence import kl_divergence_fn
from tfp_arch.validation import invalid_argument, non_negative_float, positive_int

__all__ = ["DenseVariationalModels", "takes_tfp_model_functions"]


def takes_tfp_model_functions(make_posterior_fn: Any) -> bool:
    """Whether `make_posterior_fn` is TFP's `fn(kernel_size, bias_size, dtype)` (three arguments)
    rather than this package's `fn(layer, kernel_size, bias_size, dtype)`."""
    if isinstance(make_posterior_fn, dict):
        make_posterior_fn = deserialize_function(make_posterior_fn)
    if not callable(make_posterior_fn):
        return False
    try:
        parameters = inspect.signature(make_posterior_fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 3


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseVariationalModels(keras.layers.Layer):
    """`tfp.layers.DenseVariational`: `DenseVariational(units, make_posterior_fn, make_prior_fn, ...)`.

    `DenseVariational` builds this layer when `make_posterior_fn` takes TFP's three arguments.
    `make_posterior_fn(kernel_size, bias_size, dtype)` and `make_prior_fn(...)` return Keras models
    (typically `Sequential([VariableLayer(...), DistributionLambda(...)])`) whose output, for the
    layer's input, is a distribution over the `kernel_size + bias_size` weights, kernel first. Each
    call draws the weights `w = tf.convert_to_tensor(q)` from the posterior `q`, adds
    `kl_weight * KL(q || prior)` (exact, or `log q(w) - log p(w)` at that same draw) to the losses,
    and returns `activation(x @ kernel + bias)`: TFP's computation.

    Saving: the two functions must be registered with `@keras.saving.register_keras_serializable()`
    (they are called again when the layer is loaded, then the models' weights are restored).

    Args:
        units: number of outputs.
        make_posterior_fn: `fn(kernel_size, bias_size, dtype)` returning the posterior model.
        make_prior_fn: `fn(kernel_size, bias_size, dtype)` returning the prior model.
        kl_weight: multiplier of the KL (None: 1), for example `1 / num_train_examples`.
        kl_use_exact: whether to use the closed-form KL registered with TFP.
        activation: Keras activation of the outputs.
        use_bias: whether the layer has a bias.
        activity_regularizer: Keras regulariser of the outputs.
        **kwargs: `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        units: int,
        make_posterior_fn: Callable[..., Any] | dict[str, Any],
        make_prior_fn: Callable[..., Any] | dict[str, Any],
        kl_weight: float | None = None,
        kl_use_exact: bool = False,
        activation: Any = None,
        use_bias: bool = True,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = positive_int("units", units)
        self.make_posterior_fn = deserialize_function(make_posterior_fn)
        self.make_prior_fn = deserialize_function(make_prior_fn)
        for name, fn in (("make_posterior_fn", self.make_posterior_fn), ("make_prior_fn", self.make_prior_fn)):
            if not callable(fn):
                raise invalid_argument(name, "expected a callable fn(kernel_size, bias_size, dtype) returning a model", fn)
        self.kl_weight = non_negative_float("kl_weight", kl_weight, allow_none=True)
        self.kl_use_exact = bool(kl_use_exact)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self._divergence = kl_divergence_fn(self.kl_use_exact)

    def build(self, input_shape: Any) -> None:
        last_dim = input_shape[-1]
        if last_dim is None:
            raise ValueError(f"The last axis of the inputs of `{self.name}` must be known. Received: input_shape={input_shape}")
        self._d_in = int(last_dim)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self._d_in})
        dtype = tf.as_dtype(self.variable_dtype)
        bias_size = self.units if self.use_bias else 0
        self.posterior = self.make_posterior_fn(self._d_in * self.units, bias_size, dtype)
        self.prior = self.make_prior_fn(self._d_in * self.units, bias_size, dtype)
        sample = keras.KerasTensor(tuple(input_shape), dtype=self.compute_dtype)
        for model in (self.posterior, self.prior):
            if not model.built:
                model.build(sample.shape)
        self.built = True

    def kl_divergence(self, posterior: Any, prior: Any) -> tf.Tensor:
        """`kl_weight * KL(posterior || prior)`, summed: the loss the layer adds on each call."""
        kl = self._divergence(posterior, prior)
        if self.kl_weight is not None:
            kl = tf.cast(self.kl_weight, kl.dtype) * kl
        return tf.reduce_sum(kl)

    def call(self, inputs: Any) -> tf.Tensor:
        inputs = tf.cast(inputs, self.compute_dtype)
        q = self.posterior(inputs)
        r = self.prior(inputs)
        self.add_loss(self.kl_divergence(q, r))
        w = tf.convert_to_tensor(q)
        if self.use_bias:
            kernel, bias = tf.split(w, [self._d_in * self.units, self.units], axis=-1)
        else:
            kernel, bias = w, None
        kernel = tf.reshape(kernel, tf.concat([tf.shape(kernel)[:-1], [self._d_in, self.units]], axis=0))
        outputs = tf.matmul(inputs, kernel)
        if bias is not None:
            outputs = tf.nn.bias_add(outputs, bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "make_posterior_fn": serialize_function(self, "make_posterior_fn", self.make_posterior_fn),
            "make_prior_fn": serialize_function(self, "make_prior_fn", self.make_prior_fn),
            "kl_weight": self.kl_weight,
            "kl_use_exact": self.kl_use_exact,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }
