"""`AutoregressiveTransform`: a layer that pushes its input distribution through a masked autoregressive flow."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.distributions.coercible import coercible, convert_to_tensor_function
from tfp_arch.layers.distributions.saving import deserialize_function, serialize_function
from tfp_arch.layers.flows.made import MADE
from tfp_arch.validation import invalid_argument

__all__ = ["AutoregressiveTransform"]

tfd = tfp.distributions
tfb = tfp.bijectors


@keras.saving.register_keras_serializable(package="tfp_arch")
class AutoregressiveTransform(keras.layers.Layer):
    """A layer whose output is its input distribution transformed by a MAF, as `tfp.layers`'.

    Given a `MADE` with two parameters per input (shift and log-scale), the layer maps an input
    `tfd.Distribution` p(u) (the output of a distribution layer such as `DistributionLambda`) to
    `tfd.TransformedDistribution(p, tfb.MaskedAutoregressiveFlow(made))`, whose samples are
    `x = f(u)` with `f^-1(x) = (x - shift(x)) * exp(-log_scale(x))` (Papamakarios et al., 2017).
    The MADE's variables are the layer's; it is built on the input's event size at the first call.

    Args:
        made: a `tfp_arch.layers.MADE` with `params == 2` (TFP's `tfb.AutoregressiveNetwork` is a
            tf_keras layer: build the same network as `MADE(params=2, ...)`).
        convert_to_tensor_fn: the tensor that stands for the output distribution (as
            `DistributionLambda`'s; TFP's layer takes it through `**kwargs`).
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, made: MADE, convert_to_tensor_fn: Any = tfd.Distribution.sample, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.convert_to_tensor_fn = deserialize_function(convert_to_tensor_fn)
        self._convert = convert_to_tensor_function(self.convert_to_tensor_fn)
        if not isinstance(made, MADE):
            raise invalid_argument(
                "made",
                "expected a tfp_arch.layers.MADE (a Keras 3 layer; replace tfb.AutoregressiveNetwork by it)",
                type(made).__name__,
            )
        if made.params != 2:
            raise invalid_argument("made", "expected a MADE with 2 parameters per input", f"params={made.params}")
        self.made = made

    def build(self, input_shape: Any) -> None:
        if not self.made.built:
            self.made.build((None, int(input_shape[-1])))

    def _shift_and_log_scale(self, x: Any) -> list[Any]:
        return tf.unstack(self.made(x), axis=-1)

    def call(self, distribution: Any) -> Any:
        """The transformed distribution."""
        if not self.made.built:
            self.made.build((None, int(distribution.event_shape[-1])))
        transformed = tfd.TransformedDistribution(
            distribution=distribution, bijector=tfb.MaskedAutoregressiveFlow(self._shift_and_log_scale)
        )
        return coercible(transformed, self._convert)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_output_spec(self, inputs: Any) -> keras.KerasTensor:
        return keras.KerasTensor(tuple(inputs.shape), dtype=inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "made": keras.saving.serialize_keras_object(self.made),
            "convert_to_tensor_fn": serialize_function(self, "convert_to_tensor_fn", self.convert_to_tensor_fn),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AutoregressiveTransform:
        config = dict(config)
        config["made"] = keras.saving.deserialize_keras_object(config["made"])
        return cls(**config)
