"""Setting the KL weight of variational layers to 1 / (number of training examples)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

__all__ = ["KLWeightCallback", "count_examples", "set_kl_weight", "variational_layers"]


def variational_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """All layers of `model` (itself included) that have a settable KL weight."""
    found = [model] if hasattr(model, "set_kl_weight") and hasattr(model, "kl_weight_variable") else []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if hasattr(layer, "set_kl_weight") and hasattr(layer, "kl_weight_is_automatic"):
            found.append(layer)
    return found


def set_kl_weight(model: keras.layers.Layer, value: float, only_automatic: bool = True) -> int:
    """Assign `value` to the KL weight of the variational layers of `model`.

    Args:
        model: a layer or model containing variational layers (built).
        value: the new weight, usually `1 / n`.
        only_automatic: leave layers constructed with a fixed `kl_weight` untouched.

    Returns:
        The number of layers changed.

    Example:
        >>> set_kl_weight(model, 1.0 / len(x_train))
    """
    if not float(value) >= 0.0:
        raise ValueError(f"Invalid value for argument `value`: expected a non-negative float. Received: value={value}")
    changed = 0
    for layer in variational_layers(model):
        if only_automatic and not layer.kl_weight_is_automatic:
            continue
        if not layer.built:
            raise ValueError(f"Layer `{layer.name}` is not built yet; call the model on data before setting its KL weight.")
        layer.set_kl_weight(value)
        changed += 1
    return changed


def count_examples(data: Any) -> int:
    """Number of training examples in an int, an array, a tuple of arrays or a finite dataset.

    A dataset is counted in one pass inside TensorFlow (`Dataset.reduce` over the batch sizes):
    nothing is collected or converted to NumPy.

    Args:
        data: what is given to `fit` as `x` (or the count itself).

    Returns:
        The number of examples.
    """
    if isinstance(data, (int, np.integer)):
        return int(data)
    if isinstance(data, (tuple, list)):
        return count_examples(data[0])
    if isinstance(data, tf.data.Dataset):
        if data.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("Invalid value for argument `data`: cannot count the examples of an infinite dataset.")

        def add(total: tf.Tensor, element: Any) -> tf.Tensor:
            first = tf.nest.flatten(element)[0]
            return total + (tf.shape(first, out_type=tf.int64)[0] if first.shape.rank else tf.constant(1, tf.int64))

        return int(data.reduce(tf.constant(0, tf.int64), add))
    return int(np.shape(data)[0])


class KLWeightCallback(keras.callbacks.Callback):
    """Set the automatic KL weight of a model's variational layers to `1 / n` when `fit` starts.

    With the KL weight `1 / n` and Keras' mean-over-batch loss, the loss is the negative ELBO per
    training example. Pass the training data (or `n`) given to `fit`:

    Args:
        data: the training inputs (array, tuple of arrays, finite `tf.data.Dataset` of batches) or
            the number of training examples.

    Example:
        >>> model.fit(x_train, y_train, epochs=20, callbacks=[KLWeightCallback(x_train)])
    """

    def __init__(self, data: Any) -> None:
        super().__init__()
        self.num_examples = count_examples(data)
        if self.num_examples < 1:
            raise ValueError(f"Invalid value for argument `data`: no training examples. Received: {self.num_examples}")

    def on_train_begin(self, logs: dict | None = None) -> None:
        set_kl_weight(self.model, 1.0 / self.num_examples)
