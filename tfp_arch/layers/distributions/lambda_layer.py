"""`DistributionLambda`: a layer whose output is the distribution a user's function makes of its inputs."""

from __future__ import annotations

from typing import Any, Callable

import keras
import tensorflow_probability as tfp

from tfp_arch.layers.distributions.coercible import coercible, convert_to_tensor_function
from tfp_arch.layers.distributions.saving import deserialize_function, serialize_function
from tfp_arch.validation import invalid_argument

__all__ = ["DistributionLambda"]

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="tfp_arch")
class DistributionLambda(keras.layers.Layer):
    """The distribution `make_distribution_fn(inputs)`, tensor-coercible: `tfp.layers.DistributionLambda`.

    `model(x)` returns the distribution (`.mean()`, `.stddev()`, `.sample()`, `.log_prob(y)`) in
    Sequential, Functional and subclassed models. Where a tensor is needed (the next layer,
    `predict`, `np.asarray`) it is `convert_to_tensor_fn(distribution)`, computed once per call, as
    in TFP. `fit` trains with `loss=lambda y, rv: -rv.log_prob(y)` or
    `tfp_arch.losses.NegativeLogLikelihood()` (see `docs/layers/distribution-outputs.md`).

    Saving: `make_distribution_fn` (and a `convert_to_tensor_fn` other than a `tfd.Distribution`
    method or a method name) must be registered with `@keras.saving.register_keras_serializable()`;
    a lambda is refused at `save` with a one-line error naming the layer.

    Args:
        make_distribution_fn: a callable of the layer's inputs that returns a `tfd.Distribution`.
        convert_to_tensor_fn: the tensor that stands for the distribution: a callable of it
            (default `tfd.Distribution.sample`), a property such as `tfd.Bernoulli.logits`, or a
            method name such as `"mean"`.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> layer = DistributionLambda(lambda t: tfd.Normal(loc=t, scale=1.0))
        >>> rv = layer(np.zeros((2, 1), "float32"))
        >>> rv.mean().shape
        TensorShape([2, 1])
    """

    def __init__(
        self,
        make_distribution_fn: Callable[..., Any] | dict[str, Any],
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        make_distribution_fn = deserialize_function(make_distribution_fn)
        if not callable(make_distribution_fn):
            raise invalid_argument(
                "make_distribution_fn", "expected a callable that returns a distribution", make_distribution_fn
            )
        self.make_distribution_fn = make_distribution_fn
        self.convert_to_tensor_fn = deserialize_function(convert_to_tensor_fn)
        self._convert = convert_to_tensor_function(self.convert_to_tensor_fn)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return coercible(self.make_distribution_fn(inputs, *args, **kwargs), self._convert)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "make_distribution_fn": serialize_function(self, "make_distribution_fn", self.make_distribution_fn),
            "convert_to_tensor_fn": serialize_function(self, "convert_to_tensor_fn", self.convert_to_tensor_fn),
        }
