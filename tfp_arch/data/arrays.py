"""Reading `.npy`/`.npz` arrays and MNIST-style IDX files."""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np

from tfp_arch.data.errors import DataError, missing_file

__all__ = ["check_finite", "read_idx", "read_numpy"]

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def check_finite(array: np.ndarray, path: str, what: str = "") -> np.ndarray:
    """Return `array` as float32, or raise naming the first row (1-based) with NaN or inf in float32."""
    if array.size == 0:
        raise DataError(f"{what}array is empty", path)
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{what}array has non-numeric dtype {array.dtype}", path)
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype("float32")
    finite = np.isfinite(converted.reshape(len(array), -1)).all(axis=1) if array.ndim > 0 else np.array([True])
    if not finite.all():
        raise DataError(f"{what}NaN or infinite value in float32 (the models' float type)", path, int(np.argmin(finite)) + 1)
    return converted


def read_numpy(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of a `.npy` file (as `{"x": ...}`) or of a `.npz` archive (by their keys)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path), str(path))
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"x": loaded}
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"not a readable NumPy file: {error}", str(path)) from None


def read_idx(path: str | Path) -> np.ndarray:
    """An array from an IDX file (optionally gzipped), as used by MNIST."""
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path), str(path))
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except EOFError:
        raise DataError("the compressed file is truncated (it ends before its end-of-stream marker)", str(path)) from None
    except (OSError, zlib.error) as error:
        raise DataError(f"cannot read (damaged or not gzip?): {error}", str(path)) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError("not an IDX file (bad magic number)", str(path))
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"IDX header says {shape} but the file has {len(raw)} bytes, not {expected}", str(path))
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
