"""Batched prediction: one traced function applied to chunks of the leading axis, results as NumPy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["BatchedFunction"]


class BatchedFunction:
    """`fn` traced once (`tf.function`, `reduce_retracing=True`) and applied chunk by chunk.

    The inputs (an array or a nested structure of arrays with a common leading axis) are cut into
    chunks of `batch_size` rows; every chunk goes through the same traced function, so a model's
    prediction costs one trace, not one per call, and memory stays bounded by the chunk. The
    outputs (a tensor or a nested structure of tensors, each with the chunk's leading axis) are
    concatenated as NumPy arrays. Empty inputs go through once, so the outputs keep their shapes.

    Args:
        fn: a function of a chunk (and of the extra arguments of the call) returning tensors.
        batch_size: rows per chunk.
        dtype: the dtype the inputs are converted to, or None to keep theirs.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> predict = BatchedFunction(lambda x: model(x, training=False), batch_size=4096)
        >>> predict(np.zeros((10000, 3))).shape  # three chunks, one trace
        (10000, 2)
    """

    def __init__(self, fn: Callable[..., Any], batch_size: int, dtype: str | None = "float32") -> None:
        self.function = tf.function(fn, reduce_retracing=True)
        self.batch_size = int(batch_size)
        self.dtype = dtype

    def __call__(self, inputs: Any, *args: Any, batch_size: int | None = None) -> Any:
        """`fn(chunk, *args)` over the chunks of `inputs`, concatenated; `args` go to every chunk as they are.

        `batch_size` overrides the rows per chunk for this call.
        """
        size = batch_size or self.batch_size
        inputs = tf.nest.map_structure(lambda a: np.asarray(a, dtype=self.dtype), inputs)
        rows = len(tf.nest.flatten(inputs)[0])
        outputs = []
        for start in range(0, max(rows, 1), size):
            chunk = tf.nest.map_structure(lambda a, start=start: tf.constant(a[start : start + size]), inputs)
            outputs.append(tf.nest.map_structure(np.asarray, self.function(chunk, *args)))
        return tf.nest.map_structure(lambda *parts: np.concatenate(parts), *outputs)
