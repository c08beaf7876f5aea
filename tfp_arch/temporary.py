"""Temporary folders that a later process removes if the process that made them was killed.

A process removes its own temporary folders when it ends (or earlier), but a process killed by
`SIGKILL` or by a crash cannot: a multi-worker job whose worker is killed and restarted, or a
streamed table's parsed-row cache (`tfp_arch.data.stream_cache`), would leave its files behind in
`TMPDIR` for good. So every such folder is named after its host and process id, and making a new
one first removes the folders of this host whose process no longer runs (and that this user owns).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile

__all__ = ["make_folder", "remove_orphans"]

_PREFIX = "tfp-arch-"
_NAME = re.compile(rf"^{_PREFIX}.+?-pid(\d+)@(.+)-[A-Za-z0-9_]{{8}}$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(root: str | None = None) -> list[str]:
    """Remove the folders `make_folder` made in `root` (default: the temporary folder) for processes
    of this host that no longer run; the paths removed."""
    root = root or tempfile.gettempdir()
    host, removed = _host(), list[str]()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if not match or match.group(2) != host or _running(int(match.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid():
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def make_folder(label: str) -> str:
    """A new folder `tfp-arch-LABEL-pidPID@HOST-XXXXXXXX` in the temporary folder, after `remove_orphans`.

    Args:
        label: what the folder holds (letters, digits and hyphens), for the reader of `TMPDIR`.

    Raises:
        OSError: the folder cannot be made.
    """
    remove_orphans()
    return tempfile.mkdtemp(prefix=f"{_PREFIX}{label}-pid{os.getpid()}@{_host()}-")
