"""Reading numeric tables (CSV and whitespace-separated text) with one-line errors."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from tfp_arch.data.errors import DataError, missing_file

__all__ = ["FLOAT32_MAX", "Table", "read_table"]

FLOAT32_MAX = float(np.finfo(np.float32).max)


class Table:
    """A numeric table: a float64 array and its column names (generated when the file has no header)."""

    def __init__(self, values: np.ndarray, columns: list[str], path: str) -> None:
        self.values = values
        self.columns = columns
        self.path = path

    def column(self, key: str) -> int:
        """Index of the column called `key`, or given by a 0-based index (negative counts from the end)."""
        if key in self.columns:
            return self.columns.index(key)
        try:
            index = int(key)
        except ValueError:
            raise DataError(
                f"no column {key!r}; columns are {', '.join(self.columns)}", self.path
            ) from None
        if not -len(self.columns) <= index < len(self.columns):
            raise DataError(f"column index {index} out of range for {len(self.columns)} columns", self.path)
        return index % len(self.columns)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _rows(path: Path, delimiter: str | None) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read: {error.__class__.__name__}: {error}", str(path)) from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise DataError("the file is empty", str(path))
    if delimiter is None:
        return [(number, line.split()) for number, line in lines]
    reader = csv.reader([line for _, line in lines], delimiter=delimiter)
    return [(number, [cell.strip() for cell in cells]) for (number, _), cells in zip(lines, reader)]


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
    if not path.is_file():
        raise DataError(missing_file(path), str(path))
    rows = _rows(path, delimiter)
    first = rows[0][1]
    has_header = header == "yes" or (header == "auto" and not all(_is_number(c) for c in first))
    if header not in ("auto", "yes", "no"):
        raise DataError(f"Invalid value for option `header`: expected auto, yes or no. Received: {header!r}")
    columns = first if has_header else [f"column_{i}" for i in range(len(first))]
    body = rows[1:] if has_header else rows
    if not body:
        raise DataError("no data rows after the header", str(path))
    width = len(columns)
    values = np.empty((len(body), width))
    for index, (number, cells) in enumerate(body):
        if len(cells) != width:
            raise DataError(f"expected {width} columns, found {len(cells)}", str(path), number)
        for j, cell in enumerate(cells):
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"column {columns[j]!r} is not a number: {cell!r}", str(path), number
                ) from None
            if not math.isfinite(value):
                raise DataError(f"column {columns[j]!r} is {cell} (NaN or infinite)", str(path), number)
            if abs(value) > FLOAT32_MAX:
                raise DataError(
                    f"column {columns[j]!r} is {cell}, too large for float32 (the models' float type)", str(path), number
                )
            values[index, j] = value
    return Table(values, columns, str(path))
