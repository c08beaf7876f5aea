"""A fingerprint of a run's data, recorded when it starts and checked when it resumes. Standard library only.

A resumed run must train on the data it started on. The fingerprint of a data spec is the spec
itself (all that defines synthetic data) and, for each file it reads, the size, the modification
time and a BLAKE2b hash of the contents, read in chunks of 1 MiB. `--resume` recomputes it and
refuses data whose files are gone, or whose size or contents changed (a new modification time with
the same contents is not a change), unless the user allows it (`--allow-changed-data`).
"""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Any

from tfp_arch.validation import ValidationError

__all__ = ["DataChangedError", "changes", "check_unchanged", "data_files", "fingerprint"]

_KINDS = ("synthetic", "csv", "txt", "npy", "uci", "idx")
_CHUNK = 1 << 20
_MAX_FILES = 10_000


class DataChangedError(ValidationError):
    """The data of a run changed since it started: a domain error (exit 1)."""


def data_files(spec: str) -> list[Path]:
    """The files the data spec `spec` reads (none for synthetic data), in a stable order.

    A glob is expanded, a folder (UCI splits, IDX files) contributes every file under it, and an
    IDX image file its labels file (the `labels` option, or the one named like it).
    """
    body, _, raw_options = spec.partition("#")
    kind, sep, path = body.partition(":")
    if not sep or kind not in _KINDS:
        kind, path = "", body
    if kind == "synthetic" or not path:
        return []
    options = dict(item.partition("=")[::2] for item in raw_options.split("&") if "=" in item)
    if any(character in path for character in "*?["):
        candidates = [Path(name) for name in sorted(glob.glob(path))]
    elif Path(path).is_dir():
        candidates = sorted(Path(root) / name for root, _, names in os.walk(path) for name in names)[:_MAX_FILES]
    else:
        candidates = [Path(path)]
    if kind == "idx" or (not kind and path.endswith(".gz")):
        labels = options.get("labels")
        guess = Path(path).with_name(Path(path).name.replace("images-idx3", "labels-idx1"))
        if labels:
            candidates.append(Path(labels))
        elif guess != Path(path) and guess.is_file():
            candidates.append(guess)
    return candidates


def _hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(spec: str) -> dict[str, Any]:
    """`{"spec": spec, "files": {absolute path: {"size", "mtime", "blake2b"} or None if unreadable}}`."""
    files: dict[str, Any] = {}
    for path in data_files(spec):
        try:
            status = path.stat()
            files[str(path.resolve())] = {"size": status.st_size, "mtime": status.st_mtime, "blake2b": _hash(path)}
        except OSError:
            files[str(path.resolve())] = None
    return {"spec": spec, "files": files}


def changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase per file (empty when nothing did)."""
    found = []
    if recorded.get("spec") != current.get("spec"):
        found.append(f"the data spec was {recorded.get('spec')!r}")
    now = current.get("files", {})
    for name, then in recorded.get("files", {}).items():
        if then is None:
            continue
        here = now.get(name)
        if here is None:
            found.append(f"{name} is gone")
        elif here["size"] != then["size"]:
            found.append(f"{name} changed size ({then['size']} -> {here['size']} bytes)")
        elif here["blake2b"] != then["blake2b"]:
            found.append(f"{name} changed contents")
    added = sorted(set(now) - set(recorded.get("files", {})))
    found.extend(f"{name} is new" for name in added[:3])
    return found


def check_unchanged(request: dict[str, Any], allow_changed_data: bool = False) -> None:
    """Refuse to resume the run of `request` when its data changed since it started.

    Raises:
        DataChangedError: the data differ from `request["data_fingerprint"]` and `allow_changed_data`
            is False. A request without a fingerprint (an older run) is not checked.
    """
    recorded = request.get("data_fingerprint")
    if allow_changed_data or not isinstance(recorded, dict):
        return
    found = changes(recorded, fingerprint(request["data"]))
    if found:
        more = f" (and {len(found) - 2} more)" if len(found) > 2 else ""
        raise DataChangedError(
            f"the data of this run changed since it started: {'; '.join(found[:2])}{more}; resuming would train "
            f"on other data. Restore them, or resume anyway with --allow-changed-data"
        )
