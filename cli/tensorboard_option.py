"""`tfp-arch train --tensorboard DIR`: the option and the callback it adds, refused early without tensorboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["check_tensorboard", "tensorboard_callbacks", "tensorboard_option"]

tensorboard_option = click.option(
    "--tensorboard",
    "tensorboard",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write TensorBoard logs to DIR each epoch: the loss's NLL and KL terms, the KL weight, the learning rate, "
    "validation metrics and the mean posterior scale of each variational layer (needs tfp-arch[tensorboard]).",
)


def check_tensorboard(log_dir: Path | None) -> None:
    """Refuse `--tensorboard` in one line (exit 2) when the tensorboard package is missing; no TensorFlow import."""
    if log_dir is None:
        return
    from tfp_arch.extras import tensorboard_missing

    missing = tensorboard_missing()
    if missing:
        raise click.UsageError(f"--tensorboard: {missing}")


def tensorboard_callbacks(log_dir: Path | None) -> list[Any]:
    """The `TensorBoardTerms` callback for `log_dir`, or none."""
    if log_dir is None:
        return []
    from tfp_arch.tensorboard_logging import TensorBoardTerms

    return [TensorBoardTerms(log_dir)]
