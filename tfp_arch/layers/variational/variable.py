"""`VariableLayer`: a layer whose output is one trainable variable, whatever its input."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.validation import invalid_argument

__all__ = ["VariableLayer", "shape_tuple"]


def shape_tuple(name: str, shape: Any) -> tuple[int, ...]:
    """`shape` (an int, a sequence of ints or an int tensor, as TFP takes shapes) as a tuple of ints."""
    if tf.is_tensor(shape):
        static = tf.get_static_value(shape)
        if static is None:
            raise invalid_argument(name, "expected a shape known when the layer is made", shape)
        shape = static
    array = np.asarray(shape)
    if array.ndim == 1 and array.size == 0:
        return ()
    if array.ndim > 1 or not np.issubdtype(array.dtype, np.integer) or np.any(array < 0):
        raise invalid_argument(name, "expected a non-negative int or a list of them", shape)
    return tuple(int(s) for s in np.atleast_1d(array)) if array.ndim else (int(array),)


@keras.saving.register_keras_serializable(package="tfp_arch")
class VariableLayer(keras.layers.Layer):
    """Returns a trainable variable of shape `shape`, ignoring its input: `tfp.layers.VariableLayer`.

    Its use is the posterior or prior of a TFP-style `DenseVariational`, or a learned parameter of a
    `DistributionLambda` (`Sequential([VariableLayer(2 * n), DistributionLambda(...)])`).

    Args:
        shape: shape of the variable (an int, a list of ints or an int tensor).
        dtype: dtype of the variable (and of the layer); None for Keras' float type.
        activation: applied to the variable on each call (a Keras activation or its name).
        initializer: Keras initializer of the variable (default `"zeros"`).
        regularizer: Keras regularizer of the variable.
        constraint: Keras constraint of the variable.
        **kwargs: `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        shape: int | Sequence[int] | Any,
        dtype: Any = None,
        activation: Any = None,
        initializer: Any = "zeros",
        regularizer: Any = None,
        constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if dtype is not None and not isinstance(dtype, (str, dict)) and not isinstance(dtype, keras.DTypePolicy):
            dtype = tf.as_dtype(dtype).name
        super().__init__(dtype=dtype, **kwargs)
        self.shape = shape_tuple("shape", shape)
        self.activation = keras.activations.get(activation)
        self.initializer = keras.initializers.get(initializer)
        self.regularizer = keras.regularizers.get(regularizer)
        self.constraint = keras.constraints.get(constraint)
        self.var = self.add_weight(
            shape=self.shape,
            initializer=self.initializer,
            regularizer=self.regularizer,
            constraint=self.constraint,
            name="constant",
        )
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def call(self, inputs: Any = None) -> tf.Tensor:
        value = tf.convert_to_tensor(self.var)
        return self.activation(value) if self.activation is not None else tf.identity(value)

    def compute_output_shape(self, input_shape: Any = None) -> tuple[int, ...]:
        return self.shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "shape": list(self.shape),
            "activation": keras.activations.serialize(self.activation),
            "initializer": keras.initializers.serialize(self.initializer),
            "regularizer": keras.regularizers.serialize(self.regularizer) if self.regularizer else None,
            "constraint": keras.constraints.serialize(self.constraint) if self.constraint else None,
        }
