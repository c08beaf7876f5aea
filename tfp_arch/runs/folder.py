"""Run folders written under a staging name and renamed when complete. Standard library only.

`tfp-arch train --output runs/x` works in `runs/x.partial` and renames it to `runs/x` at the very end,
so a folder without the suffix is always a finished run. The staging folder is created before any
training (which is the test that the output is writable), holds the run's request (`request.json`)
and, while training, its checkpoint; after an interruption it is what `--resume` continues. The run's
plan (`tfp_arch.runs.plan`) creates it before TensorFlow is imported.

A process that trains in a staging folder holds an exclusive lock on its `.lock` file (`flock`), so
a second `--resume` of the same run, or a second run into the same output, is refused with one line
saying the run is busy. A failed or interrupted run never loses work: the staging folder of a
resumed run is kept whatever stopped it, and a new run's is kept when it holds a checkpoint.
Checkpoints are written into a temporary folder and swapped in (`tfp_arch.safe_files`); a swap cut
short is completed by `RunFolder.open`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tfp_arch.safe_files import OutputError, publish_folder, write_file
from tfp_arch.validation import ValidationError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "REQUEST_FILE", "STAGING_SUFFIX", "OutputError", "RunBusyError", "RunFolder"]

STAGING_SUFFIX = ".partial"
REQUEST_FILE = "request.json"
BACKUP_DIR = "checkpoint"
_REQUEST_KEYS = ("data", "epochs", "batch_size", "seed", "hyperparameters")
LOCK_FILE = ".lock"


class RunBusyError(ValidationError):
    """Another process is training in the staging folder (it holds the folder's lock)."""


def _lock(path: Path, create: bool = True) -> int | None:
    """An exclusive lock on `path`'s lock file: its file descriptor (None without `fcntl`).

    Raises:
        RunBusyError: another process holds it.
        OSError: the lock file cannot be opened (a symbolic link planted there is refused).
    """
    if fcntl is None:
        return None
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    descriptor = os.open(path / LOCK_FILE, flags, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise RunBusyError(
            f"the run in {path} is busy: another tfp-arch process is training in it (wait for it to end, or stop it)"
        ) from None
    return descriptor


def _locked_by_another(path: Path) -> bool:
    try:
        descriptor = _lock(path, create=False)
    except RunBusyError:
        return True
    except OSError:
        return False
    if descriptor is not None:
        os.close(descriptor)
    return False


def _recover_checkpoint(path: Path) -> None:
    """Complete a checkpoint swap that was cut short: put the previous checkpoint back in place."""
    if (path / BACKUP_DIR).exists():
        return
    for old in sorted(path.glob(f".{BACKUP_DIR}.old.*")):
        if (old / "item").is_dir():
            os.replace(old / "item", path / BACKUP_DIR)
            shutil.rmtree(old, ignore_errors=True)
            return


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
    """Write `text` to `path` through a private temporary file and a rename, so readers never see half a
    file and no symbolic link is followed."""
    write_file(path, text, overwrite=True)


class RunFolder:
    """A run folder in the making: `target` is the final name, `path` the staging folder.

    Attributes:
        target: the folder the finished run is renamed to.
        path: the staging folder (`target` + `.partial`).
        created: parent folders created for it, removed again by `discard` when left empty.
        resumed: whether the folder is an interrupted run's (`open`): it is never removed on failure.
        overwrite: whether `finish` may replace an existing `target`.
    """

    def __init__(self, target: Path, created: list[Path] | None = None) -> None:
        self.target = Path(target)
        self.path = self.target.with_name(self.target.name + STAGING_SUFFIX)
        self.created = created or []
        self.resumed = False
        self.overwrite = False
        self._lock: int | None = None

    def lock(self) -> None:
        """Take the staging folder's lock, held until `finish`, `discard` or `release`.

        Raises:
            RunBusyError: another process holds it.
        """
        if self._lock is None:
            self._lock = _lock(self.path)

    def release(self) -> None:
        """Let go of the lock (the folder stays)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def give_up(self, keep: bool = True) -> bool:
        """After a failure: keep the folder if it is a resumed run's, or if `keep` and it holds a
        checkpoint; else remove it. Whether it was kept."""
        kept = self.resumed or (keep and self.resumable)
        if kept:
            self.release()
        else:
            self.discard()
        return kept

    @classmethod
    def create(cls, target: str | Path, request: dict[str, Any], overwrite: bool = False) -> RunFolder:
        """Create the staging folder of `target`, lock it and write `request` into it.

        Args:
            target: the run folder to make.
            request: the run's request.
            overwrite: replace an existing `target` when the run finishes.

        Raises:
            OutputError: `target` (unless `overwrite`) or its staging folder exists, or the folder
                cannot be created or written (read-only location, a path under a file).
            RunBusyError: another process trains in the staging folder.
        """
        target = Path(target)
        if target.name in ("", ".", "..") or target.name.endswith(STAGING_SUFFIX):
            raise _invalid(target, f"expected a new folder name not ending in {STAGING_SUFFIX}")
        if (target.exists() or target.is_symlink()) and not overwrite:
            raise _invalid(target, "the folder already exists; choose another --output or add --overwrite")
        if target.exists() and not target.is_dir():
            raise _invalid(target, "it exists and is not a folder")
        folder = cls(target)
        folder.overwrite = overwrite
        if folder.path.is_dir() and _locked_by_another(folder.path):
            raise RunBusyError(f"the run in {folder.path} is busy: another tfp-arch process is training in it")
        if folder.path.exists() or folder.path.is_symlink():
            raise _invalid(
                target,
                f"an interrupted run of it is in {folder.path}; continue it with "
                f"`tfp-arch train --resume {folder.path}` or delete that folder",
            )
        folder.created = _create_parents(target.parent)
        try:
            folder.path.mkdir()
        except OSError as error:
            _remove_empty(folder.created)
            raise _invalid(target, f"cannot create {folder.path}: {error.strerror or error}") from None
        try:
            folder.lock()
        except BaseException:
            folder.discard()
            raise
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
        folder.resumed = True
        try:
            request = json.loads((folder.path / REQUEST_FILE).read_text())
        except (OSError, ValueError):
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("entry_point"), str):
            raise OutputError(
                f"Invalid value for `--resume`: not the staging folder of an interrupted run "
                f"(no readable {REQUEST_FILE} in {folder.path})"
            ) from None
        missing = [key for key in _REQUEST_KEYS if key not in request]
        if missing:
            raise OutputError(
                f"Invalid value for `--resume`: {folder.path / REQUEST_FILE} lacks {', '.join(missing)}; "
                f"it was not written by this version of tfp-arch or is damaged"
            )
        if folder.target.exists():
            raise OutputError(f"Invalid value for `--resume`: the finished run {folder.target} already exists")
        try:
            _recover_checkpoint(folder.path)
        except OSError:
            pass
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
        """Delete everything but the files in `keep` and rename the staging folder to `target`
        (replacing an existing one only when the folder was created with `overwrite`)."""
        for item in self.path.iterdir():
            if item.name not in keep:
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        try:
            publish_folder(self.path, self.target, overwrite=self.overwrite)
        except FileExistsError:
            raise OutputError(
                f"Invalid value for `--output`: {self.target} appeared while the run trained; "
                f"the run is kept in {self.path}"
            ) from None
        self.release()
        return self.target

    def discard(self) -> None:
        """Remove the staging folder and the parent folders created for it."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()
        _remove_empty(self.created)
