"""Standardisation saved with the model, adapted in one streaming pass over arrays or datasets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.validation import invalid_argument

__all__ = ["SCALE_FLOOR", "RunningMoments", "Standardization", "iterate_batches"]

SCALE_FLOOR = 1e-8
"""A column whose standard deviation is at most this is centred but not scaled (its scale is 1)."""

ARRAY_CHUNK = 65536


class RunningMoments:
    """Count, mean and variance of the rows of a stream of batches, merged batch by batch in float64.

    Each batch's mean and sum of squared deviations are computed directly and merged with the running
    ones by Chan, Golub and LeVeque's pairwise update, which is exact up to rounding (no
    `E[x^2] - E[x]^2` cancellation). A batch of shape `(b, ..., d)` counts `b * ...` rows of `d`
    columns; a batch of shape `(b,)` counts `b` rows of one column.

    Example:
        >>> moments = RunningMoments()
        >>> for batch in np.array_split(np.arange(10.0)[:, None], 3):
        ...     moments.update(batch)
        >>> moments.count, float(moments.mean[0]), float(moments.variance[0])
        (10, 4.5, 8.25)
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None

    def update(self, batch: Any) -> None:
        """Merge the rows of `batch` (an array or a tensor) into the running moments."""
        values = np.asarray(batch, dtype=np.float64)
        values = values.reshape(-1, 1) if values.ndim < 2 else values.reshape(-1, values.shape[-1])
        count = values.shape[0]
        if count == 0:
            return
        mean = values.mean(axis=0)
        m2 = np.square(values - mean).sum(axis=0)
        if self.mean is None or self._m2 is None:
            self.count, self.mean, self._m2 = count, mean, m2
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self._m2 = self._m2 + m2 + np.square(delta) * (self.count * count / total)
        self.count = total

    @property
    def variance(self) -> np.ndarray:
        """The population variance of each column (divided by the count)."""
        if self.mean is None or self._m2 is None:
            raise invalid_argument("data", "expected at least one row to compute moments from", received="0 rows")
        return np.asarray(self._m2 / self.count)

    @property
    def std(self) -> np.ndarray:
        """The population standard deviation of each column."""
        return np.sqrt(self.variance)


def iterate_batches(x: Any, y: Any = None, chunk: int = ARRAY_CHUNK) -> Iterator[tuple[Any, Any]]:
    """`(x, y)` batches of NumPy values from arrays (in chunks of rows) or from a finite `tf.data.Dataset`.

    A dataset's elements are `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, as `fit` takes them;
    `x` and `y` may be nested (a tuple of arrays). Nothing is collected: each batch is yielded and
    dropped.

    Args:
        x: an array, a nested structure of arrays, or a dataset.
        y: the targets (arrays only; a dataset carries its own), or None.
        chunk: rows per batch for arrays.

    Returns:
        An iterator of `(x_batch, y_batch)` pairs (`y_batch` None without targets).
    """
    if isinstance(x, tf.data.Dataset):
        if x.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise invalid_argument(
                "x",
                "cannot adapt to an infinite dataset; take a finite part of it",
                received="a dataset of infinite cardinality",
            )
        for element in x.as_numpy_iterator():
            x_batch, y_batch, _ = keras.utils.unpack_x_y_sample_weight(element)
            yield x_batch, y_batch
        return
    rows = len(tf.nest.flatten(x)[0])
    for start in range(0, max(rows, 1), chunk):
        take = slice(start, start + chunk)
        x_batch = tf.nest.map_structure(lambda a, take=take: np.asarray(a)[take], x)
        yield x_batch, None if y is None else tf.nest.map_structure(lambda a, take=take: np.asarray(a)[take], y)


@keras.saving.register_keras_serializable(package="tfp_arch")
class Standardization(keras.layers.Layer):
    """`(x - mean) / scale` per column of the last axis, with statistics learned by `adapt`.

    The mean and the scale are non-trainable weights, so they are saved with the model. The scale
    is the population standard deviation, except that a column whose standard deviation is at most
    `SCALE_FLOOR` (1e-8, a constant column up to rounding) gets the scale 1: it is centred and left
    unscaled, so standardising never divides by (almost) zero. `inverse` maps back to the data's
    units and `log_det_jacobian` is `log |d standardize(x) / dx| = -sum(log scale)`.

    Keras' `Normalization` (with `invert=True`) does the same forward map; this layer adds the
    documented floor, a float64 one-pass `adapt` over arrays or datasets and the Jacobian term a
    density model needs.

    Args:
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> layer = Standardization()
        >>> layer.adapt(np.array([[1.0, 5.0], [3.0, 5.0]]))
        2
        >>> layer(np.array([[3.0, 6.0]])).numpy()
        array([[1., 1.]], dtype=float32)
    """

    def build(self, input_shape: Any) -> None:
        size = int(input_shape[-1]) if len(input_shape) > 1 else 1
        self.mean = self.add_weight(shape=(size,), initializer="zeros", trainable=False, name="mean")
        self.scale = self.add_weight(shape=(size,), initializer="ones", trainable=False, name="scale")

    def adapt(self, data: Any, chunk: int = ARRAY_CHUNK) -> int:
        """Set the statistics from `data` in one streaming pass.

        Args:
            data: an array `(n, ..., d)` (or `(n,)`) or a finite `tf.data.Dataset` of such batches.
            chunk: rows per batch for arrays.

        Returns:
            The number of rows seen.
        """
        moments = RunningMoments()
        for batch, _ in iterate_batches(data, chunk=chunk):
            moments.update(batch)
        self.set_moments(moments)
        return moments.count

    def set_moments(self, moments: RunningMoments) -> None:
        """Set the mean and the scale (the standard deviation, floored as the class describes)."""
        std, mean = moments.std, np.asarray(moments.mean)
        if not self.built:
            self.build((None, std.shape[-1]))
        self.mean.assign(mean.astype(self.mean.dtype))
        self.scale.assign(np.where(std > SCALE_FLOOR, std, 1.0).astype(self.scale.dtype))

    def call(self, inputs: Any) -> Any:
        return (keras.ops.cast(inputs, self.mean.dtype) - self.mean) / self.scale

    def inverse(self, outputs: Any) -> Any:
        """Standardised values back to the data's units: `outputs * scale + mean`."""
        return keras.ops.cast(outputs, self.mean.dtype) * self.scale + self.mean

    def log_det_jacobian(self) -> Any:
        """`log |d call(x) / dx| = -sum(log scale)`, the same for every row."""
        return -keras.ops.sum(keras.ops.log(self.scale))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape
