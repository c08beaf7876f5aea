"""Writing outputs safely: in a private temporary place beside the target, then renamed into position.

Every file and folder tfp_arch writes (run folders, checkpoints, `sample --output` files) is made
under a fresh name that `tempfile.mkstemp`/`mkdtemp` create with `O_CREAT | O_EXCL` in the
target's own folder. Such a name is never followed through a symbolic link (an existing entry, link
or not, makes the creation fail and another name is drawn), and the rename that puts it in place
replaces the directory entry, never what a link planted at the target points to. An existing target
is refused unless the caller asks to overwrite: `os.link` publishes a file only if its name is free,
atomically. Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tfp_arch.validation import ValidationError

__all__ = ["OutputError", "publish_file", "publish_folder", "temporary_file", "write_file"]


class OutputError(ValidationError):
    """An output path that cannot be used (exists, not writable, under a file): a usage error."""


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def publish_file(temporary: str | Path, target: str | Path, overwrite: bool = False) -> None:
    """Move the file `temporary` to `target` (same folder) in one step.

    Raises:
        FileExistsError: `target` exists (a symbolic link too) and `overwrite` is False; `temporary`
            is removed.
    """
    temporary, target = Path(temporary), Path(target)
    try:
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target, follow_symlinks=False)
        except OSError as error:
            if error.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "the file already exists", str(target)) from None
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "the file already exists", str(target)) from None
            os.rename(temporary, target)
            return
        os.unlink(temporary)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def temporary_file(target: str | Path, overwrite: bool = False, suffix: str = "") -> Iterator[tuple[IO[bytes], Path]]:
    """A new private file beside `target`, open for writing; published to `target` if the block ends
    without an exception, removed otherwise.

    Yields:
        The open binary file and its temporary path (for writers that need a name, such as Keras').

    Raises:
        FileExistsError: `target` exists and `overwrite` is False (checked before and when publishing).
    """
    target = Path(target)
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "the file already exists", str(target))
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=_parent(target))
    try:
        with os.fdopen(descriptor, "w+b") as handle:
            yield handle, Path(name)
            handle.flush()
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    publish_file(name, target, overwrite)


def write_file(target: str | Path, data: bytes | str, overwrite: bool = False) -> Path:
    """Write `data` (text as UTF-8) to `target` through a private temporary file and a rename."""
    with temporary_file(target, overwrite) as (handle, _):
        handle.write(data.encode() if isinstance(data, str) else data)
    return Path(target)


def publish_folder(temporary: str | Path, target: str | Path, overwrite: bool = False) -> None:
    """Rename the folder `temporary` to `target`; with `overwrite`, an existing `target` is swapped out
    first and removed once the new one is in place (a symbolic link there is removed, not followed).

    Raises:
        FileExistsError: `target` exists and `overwrite` is False.
    """
    temporary, target = Path(temporary), Path(target)
    old = None
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(errno.EEXIST, "the folder already exists", str(target))
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=_parent(target)))
        os.replace(target, old / "item")
    try:
        os.rename(temporary, target)
    except BaseException:
        if old is not None:
            os.replace(old / "item", target)
            old.rmdir()
        raise
    if old is not None:
        item = old / "item"
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            item.unlink()
            old.rmdir()
