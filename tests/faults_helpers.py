"""Helpers of the fault tests: an interrupted run made in-process, and listings of folders."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

__all__ = ["MAF", "checkpoint_epoch", "interrupted_run", "listing"]

MAF = ["-p", "num_transforms=1", "-p", "hidden_units=[8]", "--batch-size", "64"]


def listing(*roots: Path) -> dict[str, set[str]]:
    """Every path under each root (hidden ones included), relative to it."""
    return {str(root): {str(path.relative_to(root)) for path in root.rglob("*")} for root in roots}


def checkpoint_epoch(staging: Path) -> int:
    """The epoch the checkpoint in a staging folder holds."""
    return json.loads((staging / "checkpoint" / "training_metadata.json").read_text())["epoch"]


def interrupted_run(monkeypatch, target: Path, data: str, stop_after: int = 1, epochs: int = 3) -> Path:
    """Train `maf` on `data` into `target`, interrupted (KeyboardInterrupt) after epoch `stop_after`
    with a checkpoint of every epoch; the staging folder."""
    from tfp_arch.runs.callbacks import RunCheckpoint
    from tfp_arch.cli.main import main

    original = RunCheckpoint.on_epoch_end

    def stop(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == stop_after:
            raise KeyboardInterrupt()

    with monkeypatch.context() as patch:
        patch.setattr(RunCheckpoint, "on_epoch_end", stop)
        result = CliRunner().invoke(main, ["train", "maf", "--data", data, "--epochs", str(epochs), *MAF,
                                           "--checkpoint-every", "1", "--output", str(target)])
    assert result.exit_code == 130, result.output
    staging = target.with_name(target.name + ".partial")
    assert checkpoint_epoch(staging) == stop_after
    return staging
