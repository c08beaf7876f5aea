"""A `.npy` array streamed from a read-only memory map, for `npy:FILE.npy#stream=yes`.

The rows travel through the same `tf.data` machinery as a streamed table: each row's raw bytes
stand in for a line of text, so the seeded hash that holds rows out is the hash of those bytes, and
`parse` decodes them back into numbers (`tf.io.decode_raw`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfp_arch.data.arrays import check_finite
from tfp_arch.data.errors import DataError, missing_file
from tfp_arch.data.tables import is_pattern

__all__ = ["ArraySource"]

_ROWS = 4096
_DECODABLE = {
    "f4": tf.float32,
    "f8": tf.float64,
    "i1": tf.int8,
    "i2": tf.int16,
    "i4": tf.int32,
    "i8": tf.int64,
    "u1": tf.uint8,
    "u2": tf.uint16,
}


@dataclass(frozen=True)
class ArraySource:
    """A 2-D `.npy` array read in chunks of rows from a memory map.

    Attributes:
        files: the one file.
        array: the read-only memory map, shape (rows, columns).
    """

    files: tuple[str, ...]
    array: np.ndarray

    skip: tuple[int, ...] = (0,)
    columns: tuple[str, ...] = ()

    @classmethod
    def open(cls, path: str) -> ArraySource:
        """Map `path` read-only; it must hold a non-empty 2-D array of a little-endian numeric type."""
        if is_pattern(path):
            raise DataError("an npy array cannot be sharded; name one .npy file", path)
        if not Path(path).is_file():
            raise DataError(missing_file(path), path)
        if not path.endswith(".npy"):
            raise DataError("only a .npy file can be streamed (memory-mapped); read a .npz with stream=no", path)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"not a readable NumPy file: {error}", path) from None
        if array.size == 0:
            raise DataError("x: array is empty", path)
        code = array.dtype.str.lstrip("<|")
        if array.ndim != 2 or code not in _DECODABLE or array.dtype.str.startswith(">"):
            raise DataError(
                f"a streamed array must be 2-D of a little-endian numeric type; this one is "
                f"{array.dtype} of shape {array.shape} (read it with stream=no)",
                path,
            )
        return cls((path,), array)

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.array.shape[1])

    def _chunk(self, index: np.int64) -> tuple[np.ndarray, np.ndarray]:
        start = int(index) * _ROWS
        block = np.ascontiguousarray(self.array[start : start + _ROWS])
        numbers = np.arange(start + 1, start + len(block) + 1, dtype=np.int64)
        return numbers, block.view(np.dtype((np.bytes_, block.dtype.itemsize * self.width))).reshape(-1)

    def chunks(self) -> tf.data.Dataset:
        """Chunks `(file index, row numbers, row bytes)` of up to 4096 rows, in order."""
        count = -(-len(self.array) // _ROWS)

        def read(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            numbers, rows = tf.numpy_function(self._chunk, [index], (tf.int64, tf.string), stateful=False)
            numbers.set_shape([None])
            rows.set_shape([None])
            return tf.zeros_like(numbers), numbers, rows

        return tf.data.Dataset.range(count).map(read)

    def parse(self, rows: tf.Tensor) -> tf.Tensor:
        """Row bytes back to a float64 matrix."""
        dtype = _DECODABLE[self.array.dtype.str.lstrip("<|")]
        values = tf.io.decode_raw(rows, dtype, fixed_length=self.array.dtype.itemsize * self.width)
        return tf.cast(tf.reshape(values, [-1, self.width]), tf.float64)

    def locate(self, file_index: int, after: int, fallback: str) -> DataError:
        """The error of the first row after row `after` with a value not finite in float32."""
        for start in range(after, len(self.array), _ROWS * 16):
            try:
                check_finite(self.array[start : start + _ROWS * 16], self.files[0], "x: ")
            except DataError as error:
                return DataError(error.problem, error.path, None if error.row is None else error.row + start)
        return DataError(f"cannot read: {fallback}", self.files[0])
