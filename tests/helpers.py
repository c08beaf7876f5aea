"""Helpers shared by the CLI tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["snapshot", "strict_json"]


def _reject_constant(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def strict_json(text: str) -> Any:
    """`json.loads` that rejects NaN, Infinity and -Infinity, as strict JSON parsers do."""
    return json.loads(text, parse_constant=_reject_constant)


def snapshot(root: Path) -> set[str]:
    """Every path under `root` (files and folders, hidden ones included), relative to it."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}
