"""Reading `.npy`/`.npz` arrays and MNIST-style IDX files."""

from __future__ import annotations

import gzip
import math
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from tfp_arch.data.errors import DataError, missing_file

__all__ = ["check_finite", "check_headers", "read_idx", "read_numpy", "rows"]

_IDX_TYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


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
        raise DataError(
            f"{what}NaN or infinite value in float32 (the models' float type)", path, int(np.argmin(finite)) + 1
        )
    return converted


def _check_header(handle: IO[bytes], available: int, where: str) -> None:
    """Refuse a `.npy` header whose shape needs more bytes than the file holds, before anything is allocated."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=1 << 20)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=1 << 20)
    values = math.prod(shape)
    needed = values * dtype.itemsize if not dtype.hasobject else 0
    if needed > available - handle.tell():
        raise DataError(
            f"{where}the header claims shape {shape} of {dtype} ({values} values, {needed} bytes), but the file "
            f"holds {max(0, available - handle.tell())} bytes of data; it is truncated or damaged",
            None,
        )


def check_headers(path: Path) -> None:
    """Check every array header of a `.npy` file or `.npz` archive against the bytes there are.

    Raises:
        DataError: a header claims more values than its file holds.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if member.filename.endswith(".npy"):
                        with archive.open(member) as handle:
                            _check_header(handle, member.file_size, f"{member.filename[:-4]}: ")
        else:
            with open(path, "rb") as handle:
                _check_header(handle, path.stat().st_size, "")
    except DataError as error:
        raise DataError(error.problem, str(path)) from None
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"not a readable NumPy file: {error}", str(path)) from None


def read_numpy(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of a `.npy` file (as `{"x": ...}`) or of a `.npz` archive (by their keys).

    Every header is checked against the size of its data first, so a damaged header that claims
    billions of values is a `DataError`, not an attempt to allocate them.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path), str(path))
    check_headers(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"x": loaded}
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"not a readable NumPy file: {error}", str(path)) from None
    except MemoryError:
        raise DataError("the arrays do not fit in memory; stream the file (stream=yes)", str(path)) from None


def rows(array: np.ndarray, path: str, what: str, least: int = 2) -> np.ndarray:
    """`array` if it has at least `least` dimensions (rows, then each row's shape), else `DataError`
    (an array of another type than numbers is left to `check_finite`)."""
    if np.issubdtype(array.dtype, np.number) and array.ndim < least:
        shape = "(rows, features)" if least == 2 else "(rows,)"
        raise DataError(f"{what}expected an array of shape {shape} or more dimensions; got shape {array.shape}", path)
    return array


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
        raise DataError(
            "the compressed file is truncated (it ends before its end-of-stream marker)", str(path)
        ) from None
    except (OSError, zlib.error) as error:
        raise DataError(f"cannot read (damaged or not gzip?): {error}", str(path)) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError("not an IDX file (bad magic number)", str(path))
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"IDX header says {shape} but the file has {len(raw)} bytes, not {expected}", str(path))
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
