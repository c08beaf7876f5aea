"""Export an architecture as a TensorFlow SavedModel with its serving signatures.

`export_saved_model(model, path)` writes, with Keras 3's `keras.export.ExportArchive`, one
signature per entry of `model.serving_functions()`; the first is also `serving_default`. The
SavedModel is written into a temporary folder beside `path` and renamed into place, so a failed
export leaves nothing behind, and an existing `path` is refused unless `overwrite=True`.
The graph holds TensorFlow ops only: it loads with `tf.saved_model.load` where tfp_arch,
TensorFlow Probability and Keras cannot be imported.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfp_arch.safe_files import OutputError

if TYPE_CHECKING:
    from tfp_arch.architecture import Architecture

__all__ = ["EXPORTS_FILE", "FORMATS", "export_saved_model", "record_export", "signature_summary"]

FORMATS = ("saved_model",)
EXPORTS_FILE = "exports.json"


def _invalid(path: Path, problem: str) -> OutputError:
    return OutputError(f"Invalid value for `output`: {problem}. Received: output={str(path)!r}")


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not path.is_dir():
        raise _invalid(path, "it exists and is not a folder")
    if path.exists() and not overwrite:
        raise _invalid(path, "the folder exists (pass overwrite=True, or --overwrite, to replace it)")
    parent = path.parent
    if not parent.is_dir():
        raise _invalid(path, f"the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _invalid(path, f"the folder {str(parent)!r} is not writable")


def _write(model: Architecture, folder: Path) -> None:
    import keras

    functions = model.serving_functions()
    if not functions:
        raise _invalid(folder, f"architecture `{model.architecture_name}` has no serving functions")
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, function in functions.items():
        archive.add_endpoint(name, function.fn, input_signature=list(function.input_signature))
    with contextlib.redirect_stdout(io.StringIO()):
        archive.write_out(str(folder), verbose=False)


def export_saved_model(model: Architecture, path: str | Path, overwrite: bool = False) -> Path:
    """Write `model` as a SavedModel at `path` (a folder) with the signatures of `serving_functions()`.

    Args:
        model: a built (trained) architecture.
        path: the folder to create.
        overwrite: replace an existing folder `path`.

    Returns:
        `path`.

    Raises:
        OutputError: `path` exists (without `overwrite`), is a file, or its parent folder is missing
            or not writable.
    """
    path = Path(path)
    _check_target(path, overwrite)
    if not model.built:
        raise _invalid(path, f"the `{model.architecture_name}` model is not built; train or adapt it first")
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        _write(model, staging / "saved_model")
        trash = None
        if path.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, trash / "old")
        os.replace(staging / "saved_model", path)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def signature_summary(path: str | Path) -> dict[str, dict[str, Any]]:
    """The signatures of a SavedModel: for each, its inputs and outputs as `{name: [dtype, shape]}`."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    summary = {}
    for name, function in loaded.signatures.items():
        inputs = function.structured_input_signature[1]
        summary[name] = {
            "inputs": {
                key: [spec.dtype.name, spec.shape.as_list() if spec.shape.rank is not None else None]
                for key, spec in sorted(inputs.items())
            },
            "outputs": {
                key: [spec.dtype.name, spec.shape.as_list() if spec.shape.rank is not None else None]
                for key, spec in sorted(function.structured_outputs.items())
            },
        }
    return summary


def record_export(
    run_dir: str | Path, output: str | Path, signatures: dict[str, Any], fmt: str = "saved_model"
) -> Path:
    """Append the export of the run in `run_dir` to its `exports.json` (written under a temporary name, renamed).

    Args:
        run_dir: the run folder.
        output: where the SavedModel was written.
        signatures: what `signature_summary` returned for it.
        fmt: the export format.

    Returns:
        The path of `exports.json`.
    """
    import tensorflow as tf

    record_path = Path(run_dir) / EXPORTS_FILE
    records = []
    if record_path.is_file():
        with contextlib.suppress(OSError, ValueError):
            records = list(json.loads(record_path.read_text()))
    records.append(
        {
            "format": fmt,
            "path": str(Path(output).resolve()),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tensorflow": tf.__version__,
            "signatures": signatures,
        }
    )
    partial = record_path.with_name(f".{EXPORTS_FILE}.partial")
    partial.write_text(json.dumps(records, indent=2) + "\n")
    os.replace(partial, record_path)
    return record_path
