"""The error raised for bad data."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Data that cannot be used, with where and why in a one-line message."""

    def __init__(self, problem: str, path: str | None = None, row: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}, row {row}: " if row is not None else f"{path}: "
        super().__init__(f"{where}{problem}")
        self.path = path
        self.row = row
        self.problem = problem
