"""Reading numeric tables (CSV and whitespace-separated text) with one-line errors.

The rows are parsed by NumPy's C reader (`numpy.loadtxt`). Only when it fails, or a value is NaN,
infinite or beyond float32's range, does a row-by-row pass in Python find the offending line and
name it; that pass is also the reference: whatever it accepts, the table holds.
"""

from __future__ import annotations

import csv
import math
import warnings
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from tfp_arch.data.errors import DataError, missing_file

__all__ = [
    "FLOAT32_MAX",
    "Table",
    "check_delimiter",
    "check_row",
    "column_index",
    "first_row",
    "is_pattern",
    "read_lines",
    "read_table",
    "split_line",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)
_HEADERS = ("auto", "yes", "no")


class Table:
    """A numeric table: a float64 array and its column names (generated when the file has no header)."""

    def __init__(self, values: np.ndarray, columns: list[str], path: str) -> None:
        self.values = values
        self.columns = columns
        self.path = path

    def column(self, key: str) -> int:
        """Index of the column called `key`, or given by a 0-based index (negative counts from the end)."""
        return column_index(self.columns, key, self.path)


def column_index(columns: list[str], key: str, path: str) -> int:
    """Index of the column called `key` in `columns`, or given by a 0-based index (negative from the end)."""
    if key in columns:
        return columns.index(key)
    try:
        index = int(key)
    except ValueError:
        raise DataError(f"no column {key!r}; columns are {', '.join(columns)}", path) from None
    if not -len(columns) <= index < len(columns):
        raise DataError(f"column index {index} out of range for {len(columns)} columns", path)
    return index % len(columns)


def is_pattern(path: str) -> bool:
    """Whether `path` is a glob pattern (it holds `*`, `?` or `[`) naming shards of one table."""
    return any(character in path for character in "*?[")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def check_delimiter(delimiter: str | None) -> None:
    """Refuse a delimiter that is not one character, or one that cannot separate numbers.

    Raises:
        DataError: naming the option and the value received.
    """
    if delimiter is None:
        return
    if len(delimiter) != 1 or delimiter in '"\r\n0123456789.+-eE' or not delimiter.isprintable() and delimiter != "\t":
        raise DataError(
            f"Invalid value for option `delimiter`: expected one character that cannot be part of a number "
            f"(such as , ; | or a tab). Received: {delimiter!r}"
        )


def split_line(line: str, delimiter: str | None) -> list[str]:
    """The cells of one line: CSV rules (quotes, surrounding spaces stripped) or runs of white space."""
    if delimiter is None:
        return line.split()
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def check_row(cells: list[str], columns: list[str], path: str, number: int) -> list[float]:
    """The values of one row, or `DataError` naming the line `number` and the problem."""
    if len(cells) != len(columns):
        raise DataError(f"expected {len(columns)} columns, found {len(cells)}", path, number)
    values = []
    for name, cell in zip(columns, cells, strict=False):
        try:
            value = float(cell)
        except ValueError:
            raise DataError(f"column {name!r} is not a number: {cell!r}", path, number) from None
        if not math.isfinite(value):
            raise DataError(f"column {name!r} is {cell} (NaN or infinite)", path, number)
        if abs(value) > FLOAT32_MAX:
            raise DataError(f"column {name!r} is {cell}, too large for float32 (the models' float type)", path, number)
        values.append(value)
    return values


def _open(path: Path) -> IO[str]:
    if not path.is_file():
        raise DataError(missing_file(path), str(path))
    try:
        return open(path, encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read: {error.__class__.__name__}: {error}", str(path)) from None


def _lines(handle: IO[str], path: Path, start: int = 1) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines from the handle's position; `start` is the number of the next line."""
    try:
        for number, line in enumerate(handle, start=start):
            if line.strip():
                yield number, line.rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read: {error.__class__.__name__}: {error}", str(path)) from None


def read_lines(path: str | Path, after: int = 0) -> Iterator[tuple[int, str]]:
    """The numbered (1-based) non-blank lines of a file after its first `after` lines."""
    path = Path(path)
    with _open(path) as handle:
        _skip(handle, after)
        yield from _lines(handle, path, after + 1)


def first_row(path: str | Path, delimiter: str | None, header: str) -> tuple[list[str], bool, int]:
    """The column names, whether the file has a header row, and how many lines the header takes.

    With `header="auto"`, a first non-blank row with a non-numeric cell is a header. The line count
    includes blank lines before the header (0 without a header).
    """
    if header not in _HEADERS:
        raise DataError(f"Invalid value for option `header`: expected auto, yes or no. Received: {header!r}")
    check_delimiter(delimiter)
    path = Path(path)
    with _open(path) as handle:
        number, line = next(_lines(handle, path), (0, ""))
    if not number:
        raise DataError("the file is empty", str(path))
    # A byte-order mark is dropped on opening; a file written with two (one tool's BOM before another's) keeps
    # one, which must not become part of the first column's name.
    cells = split_line(line.lstrip("\ufeff"), delimiter)
    has_header = header == "yes" or (header == "auto" and not all(_is_number(c) for c in cells))
    if has_header:
        return cells, True, number
    return [f"column_{i}" for i in range(len(cells))], False, 0


def _skip(handle: IO[str], lines: int) -> None:
    for _ in range(lines):
        handle.readline()


def _fast(handle: IO[str], delimiter: str | None, width: int) -> np.ndarray | None:
    """The rows parsed by NumPy's C reader, or None if it fails or a value needs the careful pass."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(
                handle,
                delimiter=delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
                quotechar='"' if delimiter is not None else None,
            )
    except ValueError:
        return None
    if values.shape[1] != width or not np.isfinite(values).all():
        return None
    if max(values.max(initial=0.0), -values.min(initial=0.0)) > FLOAT32_MAX:
        return None
    return values


def _careful(handle: IO[str], path: Path, delimiter: str | None, columns: list[str], start: int) -> np.ndarray:
    """The rows parsed one by one in Python; raises `DataError` at the first bad row."""
    flat = array("d")
    for number, line in _lines(handle, path, start):
        flat.extend(check_row(split_line(line, delimiter), columns, str(path), number))
    return np.frombuffer(flat, dtype=np.float64).reshape(-1, len(columns)).copy()


def read_table(path: str | Path, delimiter: str | None = ",", header: str = "auto") -> Table:
    """Read a table of numbers.

    Args:
        path: the file.
        delimiter: a one-character delimiter, or None for runs of white space.
        header: `"auto"` (a first row with a non-numeric cell above numeric rows is a header),
            `"yes"` or `"no"`.

    Returns:
        The table, rows in file order.

    Raises:
        DataError: the file is missing or empty, a row has the wrong number of cells, a cell is not
            a number, or a value is NaN, infinite or beyond float32's range; the message names the file
            and the line.
    """
    path = Path(path)
    columns, _, skipped = first_row(path, delimiter, header)
    with _open(path) as handle:
        _skip(handle, skipped)
        try:
            values = _fast(handle, delimiter, len(columns))
        except UnicodeDecodeError as error:
            raise DataError(f"cannot read: {error.__class__.__name__}: {error}", str(path)) from None
        if values is None:
            handle.seek(0)
            _skip(handle, skipped)
            values = _careful(handle, path, delimiter, columns, skipped + 1)
    if len(values) == 0:
        raise DataError("no data rows after the header", str(path))
    return Table(values, columns, str(path))
