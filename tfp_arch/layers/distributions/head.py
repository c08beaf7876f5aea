"""The base of the distribution output layers: a Keras 3 layer that outputs a TFP distribution.

As in `tfp.layers`, a head's `call` turns its input, the parameter tensor, into the TFP distribution
of the layer of the same name, made tensor-coercible through `convert_to_tensor_fn`
(`tfp_arch.layers.distributions.coercible`): `model(x)` is the distribution, `predict` and a
following layer see the tensor. Every method also works on a parameter tensor directly
(`head.distribution(params)`, `head.log_prob(params, y)`), which is how the architectures of this
package use the heads, with `tfp_arch.losses.NegativeLogLikelihood(head)` as the loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.coercible import coercible, convert_to_tensor_function
from tfp_arch.layers.distributions.quantiles import bisect_quantile, integer_upper_bracket
from tfp_arch.layers.distributions.saving import deserialize_function, serialize_function
from tfp_arch.layers.variational.variable import shape_tuple
from tfp_arch.validation import invalid_argument

__all__ = [
    "DistributionHead",
    "as_distribution_head",
    "event_shape_tuple",
    "marginal_quantile",
    "static_int",
]


def as_distribution_head(name: str, value: Any) -> DistributionHead:
    """`value` as a distribution head: a `DistributionHead`, or its Keras serialisation (a dict).

    Args:
        name: the argument, for the error message.
        value: the head or its config.
    """
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, DistributionHead):
        raise invalid_argument(
            name, "expected a distribution head of tfp_arch.layers, such as IndependentNormal(1)", value
        )
    return value


def event_shape_tuple(event_shape: Any) -> tuple[int, ...]:
    """`event_shape` (an int, a sequence of ints or an int tensor, as TFP's layers take it) as a tuple."""
    shape = shape_tuple("event_shape", event_shape)
    if any(size < 1 for size in shape):
        raise invalid_argument("event_shape", "expected positive sizes", event_shape)
    return shape


def static_int(name: str, value: Any) -> int:
    """`value` (an int or a scalar int tensor, as TFP's layers take sizes) as a positive int."""
    shape = shape_tuple(name, value)
    if len(shape) != 1 or shape[0] < 1 or (not tf.is_tensor(value) and np.ndim(value) != 0):
        raise invalid_argument(name, "expected a positive integer", value)
    return shape[0]


def marginal_quantile(marginal: tfd.Distribution, q: tf.Tensor, integer: bool) -> tf.Tensor:
    """Element-wise quantiles of a distribution of scalars: TFP's closed form, or integer bisection.

    Args:
        marginal: a distribution with scalar events; `mean`, `stddev` and `cdf` are needed when
            `integer` is True, `quantile` otherwise.
        q: probabilities broadcastable against the batch shape of `marginal`.
        integer: whether the support is the non-negative integers (Bernoulli, Poisson).

    Returns:
        The quantiles, in the dtype of `q`.
    """
    if not integer:
        return marginal.quantile(q)
    start = tf.cast(marginal.mean() + 4 * marginal.stddev(), q.dtype)
    high = integer_upper_bracket(marginal.cdf, q, start)
    return bisect_quantile(marginal.cdf, q, -tf.ones_like(high), high, integer=True)


class DistributionHead(keras.layers.Layer):
    """A layer whose output is a TFP distribution made from its input; the base of the heads.

    `call` returns the distribution `distribution(inputs)`, tensor-coercible through
    `convert_to_tensor_fn` as TFP's layers' outputs are, after a check at build time that the
    input's last axis has the size the head needs (the class's `params_size`). Every other method
    takes the parameter tensor, shaped `batch_shape + (size,)`:

    - `distribution(params)`: the TFP distribution, built as the TFP layer of the same name builds it.
    - `log_prob(params, y)`: the log-probability of one target per example; `y` is reshaped to
      `batch_shape + event_shape` first, so `(batch, 1)` targets of a scalar head do not broadcast.
    - `mean(params)`, `stddev(params)`, `sample(params, sample_shape, seed)`: TFP's.
    - `quantile(params, q)`: element-wise (marginal) quantiles, for the heads over ordered values.
    - `to_tensor(params)`: the tensor the output stands for, `convert_to_tensor_fn` applied.

    A subclass must implement the static `params_size` and `new` of the TFP layer,
    `layer_params_size()` (the size for its own arguments) and `distribution(params)`; the base
    raises `NotImplementedError` for the last two. For `quantile` it implements `marginal(params)`,
    the distribution of each scalar coordinate with batch shape `batch_shape + event_shape`, and
    sets `integer_support` when the values are integers.

    Args:
        event_shape: shape of one event (an int, a sequence of ints or an int tensor).
        convert_to_tensor_fn: the tensor that stands for the output distribution, as TFP's: a
            callable of the distribution (default `tfd.Distribution.sample`), a property such as
            `tfd.Bernoulli.logits`, or a method name such as `"mean"`. A callable other than a
            `tfd.Distribution` method saves only when registered with Keras.
        validate_args: passed to the TFP distributions.
        **kwargs: `keras.layers.Layer` arguments.
    """

    integer_support = False

    def __init__(
        self,
        event_shape: int | Sequence[int] = (),
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.event_shape = event_shape_tuple(event_shape)
        self.convert_to_tensor_fn = deserialize_function(convert_to_tensor_fn)
        self._convert = convert_to_tensor_function(self.convert_to_tensor_fn)
        self.validate_args = bool(validate_args)

    def layer_params_size(self) -> int:
        """The number of parameters this head takes for its own arguments (its `params_size`); abstract."""
        raise NotImplementedError(f"{type(self).__name__} does not implement layer_params_size.")

    def distribution(self, params: Any) -> tfd.Distribution:
        """The TFP distribution whose parameters are `params`, shaped `batch_shape + (params_size,)`."""
        raise NotImplementedError

    def marginal(self, params: tf.Tensor) -> tfd.Distribution:
        """The distribution of each scalar coordinate, batch shape `batch_shape + event_shape`, for `quantile`.

        Raises:
            ValueError: for a head whose events are not ordered scalars or vectors of them (the base's answer).
        """
        raise ValueError(
            f"`{type(self).__name__}` has no quantiles: its events are not ordered scalars or vectors of them."
        )

    def build(self, input_shape: Any) -> None:
        size = input_shape[-1]
        if size is not None and size != self.layer_params_size():
            raise ValueError(
                f"Invalid input shape for `{type(self).__name__}`: expected the last axis to have "
                f"{self.layer_params_size()} entries (its `params_size`). Received: input_shape={tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return coercible(self.distribution(inputs), self._convert)

    def log_prob(self, params: Any, y: Any) -> tf.Tensor:
        """Log-probability of the targets `y`, one per example, with shape `batch_shape`."""
        return self.log_prob_and_distribution(params, y)[0]

    def log_prob_and_distribution(self, params: Any, y: Any) -> tuple[tf.Tensor, tfd.Distribution]:
        """`log_prob(params, y)` and the distribution it comes from, built once (for losses that need both)."""
        params = tf.convert_to_tensor(params)
        shape = tf.concat([tf.shape(params)[:-1], tf.constant(self.event_shape, tf.int32)], axis=0)
        distribution = self.distribution(params)
        return distribution.log_prob(tf.reshape(tf.cast(y, params.dtype), shape)), distribution

    def mean(self, params: Any) -> tf.Tensor:
        """The mean, shaped `batch_shape + event_shape`."""
        return self.distribution(params).mean()

    def stddev(self, params: Any) -> tf.Tensor:
        """The standard deviation of each coordinate, shaped `batch_shape + event_shape`."""
        return self.distribution(params).stddev()

    def sample(self, params: Any, sample_shape: int | Sequence[int] = (), seed: Any = None) -> tf.Tensor:
        """Draws shaped `sample_shape + batch_shape + event_shape`; `seed` as TFP takes it."""
        return self.distribution(params).sample(sample_shape, seed=seed)

    def to_tensor(self, params: Any) -> tf.Tensor:
        """The tensor the output stands for: `convert_to_tensor_fn` applied to the distribution."""
        return tf.convert_to_tensor(self._convert(self.distribution(params)))

    def quantile(self, params: Any, q: Any) -> tf.Tensor:
        """Quantiles of each coordinate at the probabilities `q`.

        Closed form where TFP has one (normal, logistic, and the coordinates of a multivariate
        normal); bisection on the CDF for Bernoulli, Poisson and mixtures (see `bisect_quantile`).
        Integer-valued heads return the smallest integer whose CDF reaches `q`, as a float.

        Args:
            params: the parameter tensor, `batch_shape + (params_size,)`.
            q: a probability in (0, 1), or a tensor of them with shape `Q`.

        Returns:
            The quantiles, shaped `Q + batch_shape + event_shape`.
        """
        params = tf.convert_to_tensor(params)
        q = tf.convert_to_tensor(q, params.dtype)
        rank = params.shape.rank - 1 + len(self.event_shape)
        q = tf.reshape(q, tf.concat([tf.shape(q), tf.ones([rank], tf.int32)], axis=0))
        return self._quantile(params, q)

    def _quantile(self, params: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
        return marginal_quantile(self.marginal(params), q, self.integer_support)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "event_shape": list(self.event_shape),
            "convert_to_tensor_fn": serialize_function(self, "convert_to_tensor_fn", self.convert_to_tensor_fn),
            "validate_args": self.validate_args,
        }
