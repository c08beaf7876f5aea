"""Which folder each process of a run writes: the chief its staging folder, another worker a temporary one.

Only the chief (and any process of a run that is not multi-worker) writes the run folder. The other
workers of a `multi_worker_mirrored` run work in a temporary staging folder of their own
(`worker_folder`), removed at the end, and restore from the chief's checkpoint when a job restarts.
Standard library only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfp_arch.distribute import ClusterRole
from tfp_arch.fingerprint import check_unchanged, fingerprint
from tfp_arch.runs.folder import RunFolder
from tfp_arch.temporary import make_folder

__all__ = ["staging_folders", "worker_folder"]


def worker_folder(target: str | Path, request: dict[str, Any], role: ClusterRole) -> RunFolder:
    """A staging folder for a non-chief worker in a new temporary directory, removed by `discard`.

    Args:
        target: the chief's run folder (only its name is used).
        request: the run's request, written into the folder as the chief writes it.
        role: the worker's task, named in the temporary directory's name.
    """
    root = Path(make_folder(f"{role.task_type}{role.task_index}"))
    folder = RunFolder.create(root / Path(target).name, request)
    folder.created.append(root)
    return folder


def staging_folders(
    target: str | Path,
    request: dict[str, Any],
    role: ClusterRole,
    opened: RunFolder | None = None,
    *,
    allow_changed_data: bool = False,
    overwrite: bool = False,
) -> tuple[RunFolder, RunFolder | None]:
    """The staging folder this process writes, and the chief's run folder when this process is not the chief.

    The chief (`role.is_chief`: any process of a run that is not multi-worker) writes `target`'s
    staging folder, `opened` when it exists already (`--resume`), else a new one, and holds its lock.
    A new run records the fingerprint of its data (`tfp_arch.fingerprint`) in its request; a resumed
    one checks it, unless `allow_changed_data`. Another worker writes a temporary folder
    (`worker_folder`) and reads the chief's.

    Raises:
        OutputError: the chief's staging folder cannot be created.
        RunBusyError: another process trains in the staging folder.
        DataChangedError: the data of a resumed run changed.
    """
    if opened is None:
        request = {**request, "data_fingerprint": fingerprint(request["data"])}
    elif role.is_chief:
        opened.lock()
        try:
            check_unchanged(request, allow_changed_data)
        except BaseException:
            opened.release()
            raise
        return opened, None
    else:
        check_unchanged(request, allow_changed_data)
    if role.is_chief:
        return RunFolder.create(target, request, overwrite=overwrite), None
    return worker_folder(target, request, role), opened or RunFolder(Path(target))
