"""Writing results: one JSON document on stdout with `--json`, human text otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

__all__ = ["emit", "format_metrics", "info"]


def info(message: str) -> None:
    """Human progress text, always on stderr."""
    click.echo(message, err=True)


def emit(document: Any, as_json: bool, human: str) -> None:
    """The command's result: `document` as strict JSON on stdout (no NaN or Infinity), or the `human` text.

    Raises:
        ValueError: the document holds a non-finite number.
    """
    if as_json:
        text = json.dumps(document, indent=2, default=str, allow_nan=False)
        sys.stdout.write(text)
        sys.stdout.write("\n")
    else:
        click.echo(human)


def format_metrics(metrics: dict[str, float]) -> str:
    """Metrics one per line, aligned."""
    width = max((len(k) for k in metrics), default=0)
    return "\n".join(f"{key:<{width}}  {value:.6g}" for key, value in metrics.items())
