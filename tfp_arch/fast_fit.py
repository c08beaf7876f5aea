"""Feeding NumPy arrays to `fit` through `tf.data`, the fast path for small models."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.seeding import resolve_seed
from tfp_arch.validation import float_in_range

__all__ = ["EpochOrder", "as_dataset", "hold_out", "is_array_like", "to_numpy_arrays", "training_rows"]


def is_array_like(x: Any) -> bool:
    """Whether `x` is an array, or a tuple/list of arrays (as for a conditional model)."""
    if isinstance(x, (np.ndarray, tf.Tensor)):
        return True
    return isinstance(x, (tuple, list)) and len(x) > 0 and all(isinstance(item, (np.ndarray, tf.Tensor)) for item in x)


def to_numpy_arrays(x: Any) -> Any:
    """Convert an array or a tuple of arrays to float32 NumPy, keeping integer labels integral."""
    if isinstance(x, (tuple, list)):
        return tuple(to_numpy_arrays(item) for item in x)
    array = np.asarray(x)
    return array if np.issubdtype(array.dtype, np.integer) else array.astype("float32")


def _length(x: Any) -> int:
    return len(x[0]) if isinstance(x, tuple) else len(x)


def _take(x: Any, index: slice | np.ndarray) -> Any:
    return tuple(item[index] for item in x) if isinstance(x, tuple) else x[index]


class EpochOrder(keras.callbacks.Callback):
    """The shuffled order of the training examples, a function of the seed and the epoch index only.

    At the start of epoch `e` the permutation is drawn from `numpy.random.default_rng([seed, e])`
    into a variable that the input pipeline reads when Keras creates that epoch's iterator. A run
    resumed at epoch `e` therefore sees the same batches as an uninterrupted one.

    Args:
        n: number of training examples.
        seed: the shuffling seed.
    """

    def __init__(self, n: int, seed: int) -> None:
        super().__init__()
        self.n = n
        self.seed = seed
        with tf.device("/cpu:0"):
            self.permutation = tf.Variable(tf.range(n, dtype=tf.int64), trainable=False, name="epoch_order")

    def order(self, epoch: int) -> np.ndarray:
        """The order of the examples in epoch `epoch` (0-based)."""
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.permutation.assign(self.order(epoch))


def _make(x: Any, y: Any, weight: Any, batch_size: int, order: EpochOrder | None) -> tf.data.Dataset:
    parts = (x,) if y is None and weight is None else (x, y) if weight is None else (x, y, weight)
    if order is None:
        dataset = tf.data.Dataset.from_tensor_slices(parts if len(parts) > 1 else parts[0]).batch(batch_size)
        return dataset.prefetch(tf.data.AUTOTUNE)
    n = _length(x)
    flat, structure = tf.nest.flatten(parts), parts
    with tf.device("/cpu:0"):
        tensors = [tf.constant(item) for item in flat]

    def batch(index: tf.Tensor) -> Any:
        rows = order.permutation[index * batch_size : tf.minimum((index + 1) * batch_size, n)]
        gathered = tf.nest.pack_sequence_as(structure, [tf.gather(t, rows) for t in tensors])
        return gathered if len(parts) > 1 else gathered[0]

    batches = tf.data.Dataset.range((n + batch_size - 1) // batch_size)
    return batches.map(batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def training_rows(n: int, validation_split: float | None) -> int:
    """How many of `n` rows `fit` trains on with `validation_split`: Keras' rule, `int(n * (1 - split))`.

    The rest, the last rows as given, are the validation rows (`hold_out`).

    Args:
        n: number of rows.
        validation_split: the fraction held out (None or 0 for none).

    Returns:
        The number of training rows.

    Example:
        >>> training_rows(100, 0.2), training_rows(7, 0.5), training_rows(10, None)
        (80, 3, 10)
    """
    return int(n * (1.0 - float(validation_split or 0.0)))


def hold_out(x: Any, y: Any, fit_kwargs: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """Apply `fit`'s `validation_split` to arrays: the training rows and the `fit` arguments left over.

    Keras' rule: the validation rows are the last `validation_split` fraction of the rows as given,
    taken before any shuffling; they become `validation_data`, and a `sample_weight` array is split
    the same way. `fit` adapts the data statistics on the rows this returns, so the held-out rows
    never reach them.

    Args:
        x: inputs (an array or a tuple of arrays).
        y: targets or None.
        fit_kwargs: the other arguments given to `fit`.

    Returns:
        `(x_train, y_train, kwargs)`, where `kwargs` has no `validation_split`.
    """
    kwargs = dict(fit_kwargs)
    split = kwargs.pop("validation_split", 0.0) or 0.0
    float_in_range("validation_split", split, 0.0, 1.0, "[)")
    if not split:
        return x, y, kwargs
    n = _length(x)
    cut = training_rows(n, split)
    head, tail = slice(0, cut), slice(cut, n)
    weight = kwargs.get("sample_weight")
    validation = (_take(x, tail), None if y is None else y[tail], None if weight is None else weight[tail])
    kwargs["validation_data"] = validation
    if weight is not None:
        kwargs["sample_weight"] = weight[head]
    return _take(x, head), None if y is None else y[head], kwargs


def as_dataset(
    x: Any, y: Any, batch_size: int, fit_kwargs: dict[str, Any], count_steps: bool = True
) -> tuple[tf.data.Dataset, dict[str, Any]]:
    """Turn `fit`'s array arguments into a `tf.data.Dataset` and the `fit` arguments left over.

    Handles `shuffle`, `sample_weight`, `validation_split` (through `hold_out`) and array
    `validation_data`; everything else is passed on to `keras.Model.fit` untouched. With `shuffle`,
    an `EpochOrder` callback is prepended to the callbacks: each epoch's order depends only on the
    seed (drawn from NumPy's global state, set by `keras.utils.set_random_seed`) and the epoch.

    With `count_steps` (the default), `steps_per_epoch` is set to the number of batches unless
    given: Keras then builds one iterator per epoch, where without a step count it builds two (one
    at the start of the epoch, one when the data run out). A multi-worker strategy shares the
    batches out between the workers, so it takes `count_steps=False`.

    Args:
        x: inputs (an array or a tuple of arrays).
        y: targets or None.
        batch_size: examples per batch.
        fit_kwargs: the other arguments given to `fit`.
        count_steps: whether to set `steps_per_epoch` to the number of batches.

    Returns:
        The training dataset and the remaining keyword arguments for `keras.Model.fit`.
    """
    x, y, kwargs = hold_out(x, y, fit_kwargs)
    shuffle = kwargs.pop("shuffle", True)
    weight = kwargs.pop("sample_weight", None)
    validation = kwargs.get("validation_data")
    if isinstance(validation, tuple) and all(part is None or is_array_like(part) for part in validation):
        val_x = to_numpy_arrays(validation[0])
        val_y = to_numpy_arrays(validation[1]) if len(validation) > 1 and validation[1] is not None else None
        val_w = validation[2] if len(validation) > 2 else None
        kwargs["validation_data"] = _make(val_x, val_y, val_w, batch_size, None)
    elif is_array_like(validation) and not isinstance(validation, tuple):
        kwargs["validation_data"] = _make(to_numpy_arrays(validation), None, None, batch_size, None)
    order = EpochOrder(_length(x), resolve_seed(None)) if shuffle else None
    if order is not None:
        kwargs["callbacks"] = [order, *(kwargs.get("callbacks") or [])]
    if count_steps:
        kwargs.setdefault("steps_per_epoch", -(-_length(x) // batch_size))
    return _make(x, y, weight, batch_size, order), kwargs
