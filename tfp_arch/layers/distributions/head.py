"""The base of the distribution output layers: a Keras 3 layer that outputs a distribution's parameters.

TFP's `tfp.layers` output a `tfd.Distribution` from `call`, which Keras 3 does not allow (a Keras 3
layer returns tensors). A `DistributionHead` returns its input, the parameter tensor, unchanged, and
turns it into the TFP distribution on demand with `distribution(params)`, with the parameterisation of
the TFP layer of the same name. The loss `tfp_arch.losses.NegativeLogLikelihood(head)` trains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.quantiles import bisect_quantile, integer_upper_bracket
from tfp_arch.validation import invalid_argument, positive_ints

__all__ = [
    "as_distribution_head",
    "CONVERT_TO_TENSOR_FNS",
    "DistributionHead",
    "convert_to_tensor_name",
    "event_shape_tuple",
    "marginal_quantile",
]

CONVERT_TO_TENSOR_FNS = ("sample", "mean", "mode", "stddev", "variance")


def as_distribution_head(name: str, value: Any) -> DistributionHead:
    """`value` as a distribution head: a `DistributionHead`, or its Keras serialisation (a dict).

    Args:
        name: the argument, for the error message.
        value: the head or its config.
    """
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, DistributionHead):
        raise invalid_argument(name, "expected a distribution head of tfp_arch.layers, such as IndependentNormal(1)", value)
    return value


def event_shape_tuple(event_shape: int | Sequence[int]) -> tuple[int, ...]:
    """`event_shape` (an int or a sequence of ints, as TFP's layers take it) as a tuple of positive ints."""
    return tuple(positive_ints("event_shape", event_shape, allow_int=True))


def convert_to_tensor_name(convert_to_tensor_fn: Any) -> str:
    """The name of a `convert_to_tensor_fn`, given as a name or as TFP's `tfd.Distribution` method."""
    for name in CONVERT_TO_TENSOR_FNS:
        if convert_to_tensor_fn == name or convert_to_tensor_fn is getattr(tfd.Distribution, name):
            return name
    raise invalid_argument(
        "convert_to_tensor_fn",
        f"expected one of {', '.join(CONVERT_TO_TENSOR_FNS)} or the `tfd.Distribution` method of that name",
        convert_to_tensor_fn,
    )


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
    """A layer whose output is the parameter tensor of a TFP distribution; the base of the heads.

    `call` returns its input, after a check at build time that its last axis has the size the head
    needs (the class's `params_size`). Every other method takes that parameter tensor, shaped
    `batch_shape + (size,)`:

    - `distribution(params)`: the TFP distribution, built as the TFP layer of the same name builds it.
    - `log_prob(params, y)`: the log-probability of one target per example; `y` is reshaped to
      `batch_shape + event_shape` first, so `(batch, 1)` targets of a scalar head do not broadcast.
    - `mean(params)`, `stddev(params)`, `sample(params, sample_shape, seed)`: TFP's.
    - `quantile(params, q)`: element-wise (marginal) quantiles, for the heads over ordered values.
    - `to_tensor(params, seed)`: what the TFP layer outputs, its `convert_to_tensor_fn` applied.

    A subclass implements the static `params_size` and `new` of the TFP layer, `_params_size()` (the
    size for its own arguments) and `distribution(params)`. For `quantile` it implements
    `_marginal(params)`, the distribution of each scalar coordinate with batch shape
    `batch_shape + event_shape`, and sets `integer_support` when the values are integers.

    Args:
        event_shape: shape of one event (an int or a sequence of ints).
        convert_to_tensor_fn: what `to_tensor` returns: `"sample"`, `"mean"`, `"mode"`, `"stddev"`
            or `"variance"` (or the `tfd.Distribution` method of that name, as TFP takes it).
        validate_args: passed to the TFP distributions.
        **kwargs: `keras.layers.Layer` arguments.
    """

    integer_support = False

    def __init__(
        self,
        event_shape: int | Sequence[int] = (),
        convert_to_tensor_fn: Any = "sample",
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.event_shape = event_shape_tuple(event_shape)
        self.convert_to_tensor_fn = convert_to_tensor_name(convert_to_tensor_fn)
        self.validate_args = bool(validate_args)

    def _params_size(self) -> int:
        raise NotImplementedError

    def distribution(self, params: Any) -> tfd.Distribution:
        """The TFP distribution whose parameters are `params`, shaped `batch_shape + (params_size,)`."""
        raise NotImplementedError

    def _marginal(self, params: tf.Tensor) -> tfd.Distribution:
        raise ValueError(
            f"`{type(self).__name__}` has no quantiles: its events are not ordered scalars or vectors of them."
        )

    def build(self, input_shape: Any) -> None:
        size = input_shape[-1]
        if size is not None and size != self._params_size():
            raise ValueError(
                f"Invalid input shape for `{type(self).__name__}`: expected the last axis to have "
                f"{self._params_size()} entries (its `params_size`). Received: input_shape={tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

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

    def to_tensor(self, params: Any, seed: Any = None) -> tf.Tensor:
        """The tensor the TFP layer outputs: `convert_to_tensor_fn` applied to the distribution."""
        distribution = self.distribution(params)
        if self.convert_to_tensor_fn == "sample":
            return distribution.sample(seed=seed)
        return getattr(distribution, self.convert_to_tensor_fn)()

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
        return marginal_quantile(self._marginal(params), q, self.integer_support)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "event_shape": list(self.event_shape),
            "convert_to_tensor_fn": self.convert_to_tensor_fn,
            "validate_args": self.validate_args,
        }
