"""`tfp-arch export`: a run's model as a TensorFlow SavedModel with serving signatures."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from tfp_arch.cli.environment import import_quietly
from tfp_arch.cli.output import emit, info

__all__ = ["export_command"]


@click.command("export")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output", type=click.Path(path_type=Path), default=None, help="Folder to write (default: RUN_DIR/saved_model)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["saved_model"]),
    default="saved_model",
    show_default=True,
    help="Export format.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def export_command(run_dir, output, fmt, overwrite, as_json) -> None:
    """Export the model of the run in RUN_DIR as a TensorFlow SavedModel for serving.

    The SavedModel holds one signature per question the architecture answers (for example
    `predict`, `log_prob`, `sample`), with `num_samples` and `seed` inputs where it draws; it loads
    with TensorFlow alone (`tf.saved_model.load`, TensorFlow Serving). It is written beside OUTPUT
    under a temporary name and renamed; the export is recorded in RUN_DIR/exports.json.
    """
    import_quietly("tfp_arch.runs.reuse")
    from tfp_arch.export import export_saved_model, record_export, signature_summary
    from tfp_arch.runs.reuse import load_run

    target = output if output is not None else run_dir / "saved_model"
    with contextlib.redirect_stdout(sys.stderr):
        model, _ = load_run(run_dir)
        export_saved_model(model, target, overwrite=overwrite)
        signatures = signature_summary(target)
        record_export(run_dir, target, signatures, fmt)
    info(f"wrote {target}")
    lines = [f"{name}({', '.join(s['inputs'])}) -> {', '.join(s['outputs'])}" for name, s in signatures.items()]
    emit({"output": str(target), "format": fmt, "signatures": signatures}, as_json, "\n".join(lines))
