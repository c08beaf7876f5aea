"""The KL weight of every layer with a KL term: one non-trainable weight, one setter, one callback family.

A layer that adds `kl_weight * KL` to its losses (`DenseVariational`, `Conv2DVariational`,
`GaussianKLPenalty`) mixes in `KLWeighted`:
    - `kl_weight`: the constructor argument, a non-negative float, or None for a weight set from
      the data (automatic; variational layers only), as `get_config` saves it;
    - `kl_weight_variable`: the weight in force, a non-trainable scalar variable named `kl_weight`
      (so changing it never retraces a compiled step);
    - `set_kl_weight(value)`, and `kl_weight_is_automatic`.
Callbacks that change the weight during `fit` derive from `KLWeightSchedule`: `KLWeightCallback`
(`1 / n` for the automatic layers) and `tfp_arch.layers.kl.warmup.KLWarmup` (linear warm-up).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch import _private_api
from tfp_arch.validation import invalid_argument, non_negative_float, positive_int

__all__ = [
    "KLWeightCallback",
    "KLWeightSchedule",
    "KLWeighted",
    "count_examples",
    "kl_weighted_layers",
    "set_kl_weight",
    "variational_layers",
]


class KLWeighted:
    """Mixin of a Keras layer whose loss term is `kl_weight * KL`; see the module docstring."""

    kl_weight: float | None
    add_weight: Any  # `keras.layers.Layer.add_weight`, for type checkers

    def _add_kl_weight(self, kl_weight: float | None) -> None:
        """Create `kl_weight_variable`, starting at `kl_weight` (1 for an automatic weight)."""
        self.kl_weight_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(1.0 if kl_weight is None else kl_weight),
            trainable=False,
            dtype="float32",
            name="kl_weight",
        )

    @property
    def kl_weight_is_automatic(self) -> bool:
        """Whether the KL weight is set from the data (`kl_weight=None`)."""
        return self.kl_weight is None

    def set_kl_weight(self, value: float) -> None:
        """Assign the KL weight in force (no retracing: it is a variable)."""
        self.kl_weight_variable.assign(non_negative_float("value", value))

    def weighted_kl(self, kl: tf.Tensor) -> tf.Tensor:
        """`kl_weight_variable * kl`, in the dtype of `kl`."""
        return tf.cast(self.kl_weight_variable, kl.dtype) * kl


def kl_weighted_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """All layers of `model` (itself included) that have a KL weight (`KLWeighted`)."""
    found = [model] if isinstance(model, KLWeighted) else []
    return found + [layer for layer in _private_api.sublayers(model) if isinstance(layer, KLWeighted)]


variational_layers = kl_weighted_layers
"""The former name of `kl_weighted_layers`."""


def set_kl_weight(model: keras.layers.Layer, value: float, only_automatic: bool = True) -> int:
    """Assign `value` to the KL weight of the variational layers of `model`.

    Args:
        model: a layer or model containing variational layers (built).
        value: the new weight, usually `1 / n`.
        only_automatic: leave layers constructed with a fixed `kl_weight` untouched.

    Returns:
        The number of layers changed.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), tfp_arch.layers.DenseVariational(4),
        ...                           tfp_arch.layers.DenseVariational(1)])
        >>> set_kl_weight(model, 1.0 / 1000)  # for 1,000 training examples
        2
    """
    non_negative_float("value", value)
    changed = 0
    for layer in kl_weighted_layers(model):
        if only_automatic and not layer.kl_weight_is_automatic:
            continue
        if not layer.built:
            raise ValueError(
                f"Layer `{layer.name}` is not built yet; call the model on data before setting its KL weight."
            )
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
            raise invalid_argument(
                "data", "cannot count the examples of an infinite dataset", received="a dataset of infinite cardinality"
            )

        def add(total: tf.Tensor, element: Any) -> tf.Tensor:
            first = tf.nest.flatten(element)[0]
            return total + (tf.shape(first, out_type=tf.int64)[0] if first.shape.rank else tf.constant(1, tf.int64))

        return int(data.reduce(tf.constant(0, tf.int64), add))
    return int(np.shape(data)[0])


class KLWeightSchedule(keras.callbacks.Callback):
    """Base of the callbacks that set the KL weight of a model's `KLWeighted` layers during `fit`.

    At `on_train_begin` it collects the layers (only the automatic ones when `only_automatic`) and
    each layer's final weight: its `kl_weight`, or for an automatic layer the weight in force then.
    At the start of every epoch it assigns `weight_at(epoch, final)` to each; with `log_weight`, the
    first layer's weight is written to the logs as `kl_weight`. A subclass implements `weight_at`.

    Args:
        only_automatic: act on the layers with an automatic weight only.
        log_weight: write the weight to the epoch logs.
    """

    def __init__(self, only_automatic: bool = False, log_weight: bool = True) -> None:
        super().__init__()
        self.only_automatic = only_automatic
        self.log_weight = log_weight
        self._layers: list[tuple[keras.layers.Layer, float]] = []
        self.current_weights: list[float] = []

    def weight_at(self, epoch: int, final: float) -> float:
        """The weight used during `epoch` (0-based) by a layer whose final weight is `final`."""
        raise NotImplementedError

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        layers = [
            layer for layer in kl_weighted_layers(self.model) if layer.kl_weight_is_automatic or not self.only_automatic
        ]
        if not layers and not self.only_automatic:
            raise ValueError(
                f"{type(self).__name__} found no layer with a KL weight "
                "(a GaussianKLPenalty or a variational layer) in the model."
            )
        self._layers = []
        for layer in layers:
            if not layer.built:
                raise ValueError(
                    f"Layer `{layer.name}` is not built yet; call the model on data before setting its KL weight."
                )
            final = layer.kl_weight
            if final is None:
                final = float(keras.ops.convert_to_numpy(layer.kl_weight_variable))
            self._layers.append((layer, final))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.current_weights = []
        for layer, final in self._layers:
            value = self.weight_at(epoch, final)
            layer.set_kl_weight(value)
            self.current_weights.append(value)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.log_weight and logs is not None and self.current_weights:
            logs["kl_weight"] = self.current_weights[0]


class KLWeightCallback(KLWeightSchedule):
    """Set the automatic KL weight of a model's layers to `1 / n` for the whole of `fit`.

    With the KL weight `1 / n` and Keras' mean-over-batch loss, the loss is the negative ELBO per
    training example. Pass the training data (or `n`) given to `fit`:

    Args:
        data: the training inputs (array, tuple of arrays, finite `tf.data.Dataset` of batches) or
            the number of training examples.

    Example:
        >>> x_train = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> model = keras.Sequential([keras.Input((3,)), tfp_arch.layers.DenseVariational(1)])
        >>> model.compile("adam", "mse")
        >>> history = model.fit(x_train, x_train.sum(axis=1), callbacks=[KLWeightCallback(x_train)], verbose=0)
        >>> float(model.layers[0].kl_weight_variable)  # 1 / 64
        0.015625
    """

    def __init__(self, data: Any) -> None:
        super().__init__(only_automatic=True, log_weight=False)
        self.num_examples = positive_int("data", count_examples(data))

    def weight_at(self, epoch: int, final: float) -> float:
        return 1.0 / self.num_examples

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self.on_epoch_begin(0)
