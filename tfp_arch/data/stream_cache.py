"""The parsed rows of a streamed table, kept on disk as float32 so that epochs read numbers, not text.

Loading a streamed table parses every row once to check it. With the cache, that pass also appends
each chunk's rows, as float32 (every value was checked to be finite in float32), to one binary file
per part in a temporary folder; training and the test metrics then read those files in fixed-size
records (`tf.data.FixedLengthRecordDataset`, `tf.io.decode_raw`) instead of splitting and parsing
the text again every epoch. The rows keep their order, so batches are the same with or without the
cache. Memory stays flat: the rows go to disk chunk by chunk.

The cache takes 4 bytes per value, at most twice the text it was parsed from (a value takes at least
two characters of text: a digit and a delimiter or line end). `cache=auto` writes it for a text table
when the temporary folder (`TMPDIR`) is on a disk (not a file system in memory, such as a `tmpfs`
`/tmp`) with at least that much free space, and drops it, reading the text each epoch instead, if
writing fails; `cache=yes` makes a failed write an error; `cache=no`
never writes it. The folder is removed when the `StreamedDataset` holding the cache is garbage
collected, or when the process ends; a killed process's folder by the next one that makes a
temporary folder (`tfp_arch.temporary`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Any

import numpy as np
import tensorflow as tf

from tfp_arch.data.errors import DataError, auto_yes_no
from tfp_arch.temporary import make_folder

__all__ = ["ParsedCache", "memory_backed", "start_cache", "wants_cache"]

_ROWS = 16384
_PARTS = ("train", "test")


def wants_cache(choice: str, source: Any) -> bool:
    """Whether to write the cache for `source` (the rule in this module's docstring).

    Raises:
        DataError: `choice` is not auto, yes or no.
    """
    if auto_yes_no("cache", choice) != "auto":
        return choice == "yes"
    if getattr(source, "array", None) is not None:
        return False  # a memory-mapped array is binary already
    folder = tempfile.gettempdir()
    if memory_backed(folder):
        return False
    text = sum(os.path.getsize(path) for path in source.files)
    return shutil.disk_usage(folder).free >= 2 * text


def memory_backed(folder: str, mounts: str | None = None) -> bool:
    """Whether `folder` is on a file system held in memory (`tmpfs` or `ramfs`, as `/tmp` is on
    some Linux systems), where a cache would take the memory that streaming saves.

    Args:
        folder: the folder.
        mounts: the text of `/proc/self/mounts` (read when None; no such file means not in memory).
    """
    if mounts is None:
        try:
            with open("/proc/self/mounts") as handle:
                mounts = handle.read()
        except OSError:
            return False
    real, best, kind = os.path.realpath(folder), "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in ("tmpfs", "ramfs")


def start_cache(choice: str, source: Any) -> ParsedCache | None:
    """An empty cache for the columns of `source` if `choice` asks for one (`wants_cache`), else None.

    Raises:
        DataError: `choice` is not auto, yes or no, or it is yes and the folder cannot be made.
    """
    if not wants_cache(choice, source):
        return None
    try:
        return ParsedCache(source.width, required=choice == "yes")
    except OSError as error:
        if choice == "yes":
            raise DataError(
                f"cannot make a folder for the parsed rows ({error.strerror}); set TMPDIR to a "
                "writable disk, or read with cache=no",
                tempfile.gettempdir(),
            ) from None
        return None


class ParsedCache:
    """Binary files of the float32 rows of a streamed table's training and test parts.

    Args:
        width: the number of columns.
        required: a failed write raises (`cache=yes`) instead of dropping the cache (`auto`).
    """

    def __init__(self, width: int, required: bool = False) -> None:
        self.width = width
        self.required = required
        self.rows = dict.fromkeys(_PARTS, 0)
        self.folder = make_folder("stream")
        self._remove = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)
        self._files: dict[str, Any] | None = {part: open(self.path(part), "wb") for part in _PARTS}

    def path(self, part: str) -> str:
        """The file of `part` (`"train"` or `"test"`)."""
        return os.path.join(self.folder, f"{part}.f32")

    def add(self, values: np.ndarray, is_test: np.ndarray) -> None:
        """Append a chunk of parsed rows to the part each belongs to.

        Raises:
            DataError: writing failed and the cache is required.
        """
        if self._files is None:
            return
        try:
            for part, rows in (("train", values[~is_test]), ("test", values[is_test])):
                self._files[part].write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
                self.rows[part] += len(rows)
        except OSError as error:
            self._fail(error)

    def close(self) -> ParsedCache | None:
        """Close the files; the cache, or None if it was dropped.

        Raises:
            DataError: closing (the last write) failed and the cache is required.
        """
        error = self._close_files()
        if error is not None:
            self._fail(error)
        return self if self._remove.alive else None

    def drop(self) -> None:
        """Remove the files and the folder now."""
        self._close_files()
        self._remove()

    def _close_files(self) -> OSError | None:
        """Close every open file; the first error, if any."""
        first = None
        for file in (self._files or {}).values():
            try:
                file.close()
            except OSError as error:
                first = first or error
        self._files = None
        return first

    def _fail(self, error: OSError) -> None:
        """Drop the cache after a failed write; raise if it is required."""
        self.drop()
        if self.required:
            raise DataError(
                f"cannot write the parsed rows ({error.strerror}); free space there, set TMPDIR "
                "to a larger disk, or read with cache=no",
                self.folder,
            ) from None

    def chunks(self, part: str) -> tf.data.Dataset:
        """The rows of `part` in their order, as float32 matrices of up to 16384 rows."""
        record = _ROWS * self.width * 4
        rows = self.rows[part]
        full, tail = divmod(rows, _ROWS)
        blocks = tf.data.FixedLengthRecordDataset(self.path(part), record, footer_bytes=tail * self.width * 4)
        if tail:
            blocks = blocks.concatenate(
                tf.data.FixedLengthRecordDataset(self.path(part), tail * self.width * 4, header_bytes=full * record)
            )
        width = self.width
        return blocks.map(
            lambda block: tf.reshape(tf.io.decode_raw(block, tf.float32), [-1, width]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
