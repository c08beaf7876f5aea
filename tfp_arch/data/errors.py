"""The error raised for bad data."""

from __future__ import annotations

from pathlib import Path

from tfp_arch.validation import ValidationError

__all__ = ["DataError", "auto_yes_no", "missing_file"]


class DataError(ValidationError):
    """Data that cannot be used, with where and why in a one-line message."""

    def __init__(self, problem: str, path: str | None = None, row: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}, row {row}: " if row is not None else f"{path}: "
        super().__init__(f"{where}{problem}")
        self.path = path
        self.row = row
        self.problem = problem


def missing_file(path: str | Path) -> str:
    """Why `path` cannot be read as a data file: it is a folder, or it does not exist."""
    return "is a folder, not a file" if Path(path).is_dir() else "no such file"


def auto_yes_no(option: str, choice: str) -> str:
    """`choice` if it is `auto`, `yes` or `no` (the values of the `stream` and `cache` options).

    Raises:
        DataError: naming `option` and the value received.
    """
    if choice not in ("auto", "yes", "no"):
        raise DataError(f"Invalid value for option `{option}`: expected auto, yes or no. Received: {choice!r}")
    return choice
