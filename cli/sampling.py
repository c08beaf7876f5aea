"""`tfp-arch sample`: samples drawn and written in chunks, so memory stays bounded for any count."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from tfp_arch.cli.environment import import_quietly
from tfp_arch.cli.output import info
from tfp_arch.cli.progress import Progress
from tfp_arch.registry.errors import MissingCapabilityError
from tfp_arch.safe_files import temporary_file
from tfp_arch.validation import ValidationError

__all__ = ["CHUNK_ROWS", "CHUNK_VALUES", "chunk_seed", "stream_samples"]

CHUNK_VALUES = 1 << 16
CHUNK_ROWS = 10_000


def chunk_seed(seed: int | None, index: int) -> int | None:
    """The seed of chunk `index`: `seed` itself for the first (so small `-n` match `model.sample(n, seed)`),
    then independent seeds derived from `(seed, index)`."""
    if seed is None or index == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % (2**31 - 1))


def _check_output(path: Path, overwrite: bool) -> None:
    if path.suffix != ".npy":
        raise click.BadParameter(f"expected a file name ending in .npy, got {str(path)!r}", param_hint="'--output'")
    if path.is_symlink() and not overwrite:
        raise click.BadParameter(
            f"{str(path)!r} is a symbolic link; add --overwrite to replace the link", param_hint="'--output'"
        )
    if path.exists() and not path.is_file():
        raise click.BadParameter(f"{str(path)!r} exists and is not a file", param_hint="'--output'")
    if path.exists() and not overwrite:
        raise click.BadParameter(f"{str(path)!r} exists; add --overwrite to replace it", param_hint="'--output'")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(f"folder {str(parent)!r} does not exist", param_hint="'--output'")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"folder {str(parent)!r} is not writable", param_hint="'--output'")


def _chunks(model, n: int, seed: int | None, rows: int, show_progress: bool = False) -> Iterator:
    import numpy as np

    progress = Progress("sampling", n, enabled=show_progress)
    for index, start in enumerate(range(0, n, rows)):
        block = np.asarray(model.sample(min(rows, n - start), seed=chunk_seed(seed, index)))
        if not np.isfinite(block).all():
            raise ValidationError(
                f"the model drew non-finite samples (rows {start + 1}-{start + len(block)}); it is not usable"
            )
        yield start, block
        progress.update(start + len(block))
    progress.close()


def stream_samples(
    run_dir: Path, n: int, seed: int | None, output: Path | None, as_json: bool, overwrite: bool = False
) -> None:
    """Draw `n` samples from the run in `run_dir` chunk by chunk, into `output` (.npy) or to stdout.

    The file is written into a private temporary file beside `output` (`tfp_arch.safe_files`) and
    renamed to `output` once complete; an existing `output` is refused unless `overwrite`.
    """
    if output is not None:
        _check_output(output, overwrite)
    import_quietly("tfp_arch.runs.reuse")
    import numpy as np

    from tfp_arch.runs.reuse import load_run

    with contextlib.redirect_stdout(sys.stderr):
        model, config = load_run(run_dir)
    if not model.has_capability("sample"):
        raise MissingCapabilityError(f"architecture {model.architecture_name!r} cannot sample")
    shape = tuple(config["data_shape"])
    rows = max(1, min(CHUNK_ROWS, CHUNK_VALUES // max(1, math.prod(shape))))
    if output is not None:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": (n, *shape)}
        try:
            with temporary_file(output, overwrite) as (handle, _):
                np.lib.format.write_array_header_1_0(handle, header)
                for _, block in _chunks(model, n, seed, rows, show_progress=True):
                    handle.write(np.ascontiguousarray(block.reshape(len(block), *shape), dtype="<f4").tobytes())
        except FileExistsError:
            raise click.BadParameter(
                f"{str(output)!r} appeared while sampling; add --overwrite to replace it", param_hint="'--output'"
            ) from None
        info(f"wrote {output}")
        return
    out = sys.stdout
    out.write("[\n" if as_json else "")
    for start, block in _chunks(model, n, seed, rows, show_progress=not sys.stdout.isatty()):
        if as_json:
            lines = (json.dumps(row, allow_nan=False) for row in block.tolist())
            out.write(("" if start == 0 else ",\n") + ",\n".join(lines))
        else:
            out.write("".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in block.reshape(len(block), -1)))
        out.flush()
    out.write("\n]\n" if as_json else "")
