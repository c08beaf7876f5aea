"""Run folders written under a staging name and renamed when complete. Standard library only.

`tfp-arch train --output runs/x` works in `runs/x.partial` and renames it to `runs/x` at the very end,
so a folder without the suffix is always a finished run. The staging folder is created before any
training (which is the test that the output is writable), holds the run's request (`request.json`)
and, while training, its checkpoint; after an interruption it is what `--resume` continues. The CLI
creates it before importing TensorFlow, hence this module's place beside the registry.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tfp_arch.validation import ValidationError

__all__ = ["REQUEST_FILE", "STAGING_SUFFIX", "OutputError", "RunFolder"]

STAGING_SUFFIX = ".partial"
REQUEST_FILE = "request.json"
BACKUP_DIR = "checkpoint"


class OutputError(ValidationError):
    """An output path that cannot be used (exists, not writable, under a file): a usage error."""


def _invalid(path: Path, problem: str) -> OutputError:
    return OutputError(f"Invalid value for `--output`: {problem}. Received: output={str(path)!r}")


def _create_parents(folder: Path) -> list[Path]:
    """Create `folder` and missing parents; return those created (deepest last)."""
    missing = []
    probe = folder
    while not probe.exists():
        if probe.is_symlink():
            raise _invalid(folder, f"{probe} is a broken symbolic link")
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise _invalid(folder, f"{probe} is a file, not a folder")
    created = []
    try:
        for path in reversed(missing):
            path.mkdir()
            created.append(path)
    except OSError as error:
        _remove_empty(created)
        raise _invalid(folder, f"cannot create {path}: {error.strerror or error}") from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    for path in reversed(folders):
        try:
            path.rmdir()
        except OSError:
            break


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, so readers never see half a file."""
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


class RunFolder:
    """A run folder in the making: `target` is the final name, `path` the staging folder.

    Attributes:
        target: the folder the finished run is renamed to.
        path: the staging folder (`target` + `.partial`).
        created: parent folders created for it, removed again by `discard` when left empty.
    """

    def __init__(self, target: Path, created: list[Path] | None = None) -> None:
        self.target = Path(target)
        self.path = self.target.with_name(self.target.name + STAGING_SUFFIX)
        self.created = created or []

    @classmethod
    def create(cls, target: str | Path, request: dict[str, Any]) -> RunFolder:
        """Create the staging folder of `target` and write `request` into it.

        Raises:
            OutputError: `target` or its staging folder exists, or the folder cannot be created or
                written (read-only location, a path under a file).
        """
        target = Path(target)
        if target.name in ("", ".", "..") or target.name.endswith(STAGING_SUFFIX):
            raise _invalid(target, f"expected a new folder name not ending in {STAGING_SUFFIX}")
        if target.exists() or target.is_symlink():
            raise _invalid(target, "the folder already exists; choose another --output")
        folder = cls(target)
        if folder.path.exists():
            raise _invalid(
                target, f"an interrupted run of it is in {folder.path}; continue it with "
                f"`tfp-arch train --resume {folder.path}` or delete that folder"
            )
        folder.created = _create_parents(target.parent)
        try:
            folder.path.mkdir()
        except OSError as error:
            _remove_empty(folder.created)
            raise _invalid(target, f"cannot create {folder.path}: {error.strerror or error}") from None
        try:
            folder.write(REQUEST_FILE, json.dumps(request, indent=2, allow_nan=False) + "\n")
        except OSError as error:
            folder.discard()
            raise _invalid(target, f"cannot write into {folder.path}: {error.strerror or error}") from None
        return folder

    @classmethod
    def open(cls, path: str | Path) -> tuple[RunFolder, dict[str, Any]]:
        """The interrupted run in staging folder `path` (or whose target is `path`), and its request.

        Raises:
            OutputError: `path` is not the staging folder of an interrupted run.
        """
        path = Path(path)
        if not path.name.endswith(STAGING_SUFFIX):
            path = path.with_name(path.name + STAGING_SUFFIX)
        folder = cls(path.with_name(path.name[: -len(STAGING_SUFFIX)]))
        try:
            request = json.loads((folder.path / REQUEST_FILE).read_text())
        except (OSError, ValueError):
            raise OutputError(
                f"Invalid value for `--resume`: not the staging folder of an interrupted run "
                f"(no readable {REQUEST_FILE} in {folder.path})"
            ) from None
        if folder.target.exists():
            raise OutputError(f"Invalid value for `--resume`: the finished run {folder.target} already exists")
        return folder, request

    @property
    def checkpoint(self) -> Path:
        """The folder holding the training checkpoint."""
        return self.path / BACKUP_DIR

    @property
    def resumable(self) -> bool:
        """Whether a checkpoint of at least one complete epoch exists."""
        return (self.checkpoint / "training_metadata.json").is_file()

    def write(self, name: str, text: str) -> Path:
        """Write a file into the staging folder, atomically."""
        write_atomic(self.path / name, text)
        return self.path / name

    def finish(self, keep: tuple[str, ...]) -> Path:
        """Delete everything but the files in `keep` and rename the staging folder to `target`."""
        for item in self.path.iterdir():
            if item.name not in keep:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        os.rename(self.path, self.target)
        return self.target

    def discard(self) -> None:
        """Remove the staging folder and the parent folders created for it."""
        shutil.rmtree(self.path, ignore_errors=True)
        _remove_empty(self.created)
